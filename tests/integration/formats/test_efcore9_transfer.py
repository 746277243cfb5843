"""`mystira import` / `export` of the C# app's documents: a faithful round trip through an
``efcore9`` store, and a translation between formats that keeps every value."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mystira_data.cli.app import app
from mystira_data.documents.formats import Efcore9Format
from mystira_data.fields import SYSTEM_FIELDS

runner = CliRunner()
FIXTURES = Path(__file__).parents[2] / "fixtures" / "efcore9"
CONTAINERS = sorted(p.stem for p in FIXTURES.glob("*.jsonl"))


def mystira(data: Path, *args: str) -> str:
    result = runner.invoke(app, ["--data-dir", str(data), *args])
    assert result.exit_code == 0, result.stderr + result.stdout
    return result.stdout


def by_id(path: Path) -> dict[str, dict[str, Any]]:
    """A JSON Lines file's documents by id, Cosmos and polyglot system fields aside."""
    docs = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return {d["id"]: {k: v for k, v in d.items() if k not in SYSTEM_FIELDS} for d in docs}


def test_every_fixture_container_has_three_documents() -> None:
    assert len(CONTAINERS) == 9
    for name in CONTAINERS:
        assert len(by_id(FIXTURES / f"{name}.jsonl")) >= 3, name


@pytest.mark.parametrize("container", CONTAINERS)
def test_import_then_export_gives_back_the_same_documents(
    container: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MYSTIRA__DOCUMENTSTORE__FORMAT", "efcore9")
    fixture = FIXTURES / f"{container}.jsonl"
    assert "imported 3, rejected 0" in mystira(tmp_path, "import", container, str(fixture))
    out = tmp_path / "out.jsonl"
    mystira(tmp_path, "export", container, "--out", str(out))
    assert by_id(out) == by_id(fixture)


@pytest.mark.parametrize("container", ["GameSessions", "Scenarios", "MediaAssets"])
def test_native_store_takes_csharp_documents_and_gives_them_back_with_equal_values(
    container: str, tmp_path: Path
) -> None:
    """Into a native store and out again as efcore9: the same values (not the same bytes:
    100 ns digits and date forms are not kept in our own format)."""
    fixture = FIXTURES / f"{container}.jsonl"
    mystira(tmp_path, "import", container, str(fixture), "--format", "efcore9")
    native, csharp = tmp_path / "native.jsonl", tmp_path / "csharp.jsonl"
    mystira(tmp_path, "export", container, "--out", str(native))
    mystira(tmp_path, "export", container, "--out", str(csharp), "--format", "efcore9")
    expected = decoded(container, fixture)
    assert decoded(container, csharp) == expected
    assert all(d["$type"] for d in by_id(csharp).values())
    assert set(by_id(native)) == set(expected)  # older `Type|id` ids read as the bare key
    assert all("$type" not in d for d in by_id(native).values())


def decoded(container: str, path: Path) -> dict[str, dict[str, Any]]:
    docs = [Efcore9Format().decode(container, d) for d in by_id(path).values()]
    return {d["id"]: d for d in docs}
