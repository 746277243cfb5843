"""The `mystira` command on the embedded defaults: seed, status, export/import, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mystira_data import catalog
from mystira_data.cli.app import app

runner = CliRunner()


def mystira(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--data-dir", str(tmp_path / "data"), *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def seeded(tmp_path: Path) -> Path:
    code, _out, err = mystira(tmp_path, "seed", "--demo", "--accounts", "25")
    assert code == 0, err
    return tmp_path


def test_status_json_lists_every_container_with_counts(seeded: Path) -> None:
    code, out, _ = mystira(seeded, "status", "--json")
    assert code == 0
    body = json.loads(out)
    rows = body["containers"]
    assert body["health"]["ready"] is True
    assert body["health"]["stores"]["cache"]["mode"] == "memory"  # no Redis configured
    assert [r["container"] for r in rows] == [c.name for c in catalog.CONTAINERS]
    assert len(rows) == 23
    for row in rows:
        assert {"container", "partitionKey", "placement", "phase", "counts"} <= row.keys()
        assert row["counts"]["sqlite"] > 0, row
    sessions = next(r for r in rows if r["container"] == "GameSessions")
    assert sessions["partitionKey"] == "/accountId"
    assert sessions["phase"] == "CosmosOnly"


def test_export_then_import_into_a_fresh_dir_restores_everything(
    seeded: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    dump = seeded / "sessions.jsonl"
    code, _, err = mystira(seeded, "export", "GameSessions", "--out", str(dump))
    assert code == 0, err
    lines = dump.read_text().splitlines()
    assert len(lines) > 0
    assert all("_etag" not in json.loads(line) for line in lines)
    fresh = tmp_path_factory.mktemp("fresh")
    code, out, err = mystira(fresh, "import", "GameSessions", str(dump))
    assert code == 0, err
    assert f"imported {len(lines)}, rejected 0" in out
    code, again, _ = mystira(fresh, "export", "GameSessions")
    assert sorted(again.splitlines()) == sorted(lines)


def test_import_reports_each_bad_line_and_exits_1(tmp_path: Path) -> None:
    good = {"id": "s1", "accountId": "a1", "startTime": "2026-01-01T00:00:00Z"}
    bad_lines = [
        json.dumps(good),
        "{not json",
        json.dumps({"id": "s2", "accountId": "a1"}),
        json.dumps({**good, "id": "bad/id"}),
        "[1, 2]",
    ]
    file = tmp_path / "in.jsonl"
    file.write_text("\n".join(bad_lines) + "\n")
    code, out, err = mystira(tmp_path, "import", "GameSessions", str(file))
    assert code == 1
    assert "imported 1, rejected 4" in out
    for number, reason in ((2, "not valid JSON"), (3, "startTime"), (4, "id"), (5, "object")):
        assert f"in.jsonl:{number}: rejected" in err
        assert reason in err
    assert "Traceback" not in out + err


def test_unknown_container_and_bad_config_are_clean_errors(tmp_path: Path) -> None:
    file = tmp_path / "x.jsonl"
    file.write_text("")
    code, _, err = mystira(tmp_path, "import", "Nope", str(file))
    assert code == 2
    assert "unknown container" in err
    cfg = tmp_path / "appsettings.json"
    cfg.write_text(json.dumps({"PolyglotPersistence": {"Phase": "Sideways"}}))
    result = runner.invoke(app, ["--config", str(cfg), "status"])
    assert result.exit_code == 2
    assert "PolyglotPersistence:Phase" in result.stderr
    assert "Traceback" not in result.stderr


def test_seed_from_a_directory_in_the_original_format(tmp_path: Path) -> None:
    from mystira_data.seed import load_master, write_master

    source = tmp_path / "Data"
    write_master(source, load_master())
    code, out, err = mystira(tmp_path, "seed", "--from", str(source))
    assert code == 0, err
    assert "Badges" in out
    code, _, err = mystira(tmp_path, "seed", "--from", str(tmp_path / "missing"))
    assert code == 2
    assert "not a directory" in err
