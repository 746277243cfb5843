"""`mystira export` / `import` follow the live phase, and never lose what they were not asked to."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mystira_data.cli.app import app
from mystira_data.polyglot.phase.record import Transition
from mystira_data.polyglot.phase.rules import ROUTES, Side
from mystira_data.polyglot.state.phases import RelationalPhaseStore
from mystira_data.settings import Phase
from tests.integration.consistency.data import account, embedded, live_count

runner = CliRunner()
CONTAINER = "Accounts"


def mystira(data: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--data-dir", str(data), *args])
    return result.exit_code, result.stdout, result.stderr


def put_in_phase(data: Path, phase: Phase) -> None:
    """Record ``phase`` for Accounts directly (the guarded walk is not what is tested here)."""

    async def body() -> None:
        async with embedded(data) as poly:
            move = Transition(CONTAINER, Phase.COSMOS_ONLY, phase, datetime.now(UTC), "test", True)
            assert await RelationalPhaseStore(poly.raw_relational).save(move, 0)

    asyncio.run(body())


def counts(data: Path) -> dict[Side, int]:
    async def body() -> dict[Side, int]:
        async with embedded(data) as poly:
            return {
                Side.DOCUMENT: await live_count(poly.stores.documents, CONTAINER),
                Side.RELATIONAL: await live_count(poly.raw_relational, CONTAINER),
            }

    return asyncio.run(body())


def only_in(data: Path, side: Side, doc_id: str) -> None:
    """Write one account behind the repository's back, into one store only."""

    async def body() -> None:
        async with embedded(data) as poly:
            store = poly.stores.documents if side is Side.DOCUMENT else poly.raw_relational
            await store.upsert(CONTAINER, {**account(900), "id": doc_id})

    asyncio.run(body())


@pytest.mark.parametrize("phase", list(Phase))
def test_import_and_export_go_to_the_phases_primary(tmp_path: Path, phase: Phase) -> None:
    data, route = tmp_path / "data", ROUTES[phase]
    put_in_phase(data, phase)
    dump = tmp_path / "accounts.jsonl"
    dump.write_text("".join(json.dumps(account(i)) + "\n" for i in range(3)))

    code, out, err = mystira(data, "import", CONTAINER, str(dump))
    assert code == 0, err
    assert "imported 3, rejected 0" in out
    stored = counts(data)
    assert stored[route.primary] == 3
    other = Side.RELATIONAL if route.primary is Side.DOCUMENT else Side.DOCUMENT
    assert stored[other] == (3 if route.secondary is other else 0)

    only_in(data, route.reads, "read-side-only")
    only_in(data, other, "other-side-only")  # reads always come from the primary
    code, out, err = mystira(data, "export", CONTAINER)
    assert code == 0, err
    exported = {json.loads(line)["id"] for line in out.splitlines()}
    assert "read-side-only" in exported
    assert "other-side-only" not in exported
    assert len(exported) == 4


def test_a_mistyped_export_leaves_the_existing_file_intact(tmp_path: Path) -> None:
    data, target = tmp_path / "data", tmp_path / "existing.jsonl"
    target.write_text('{"id": "precious"}\n')
    code, _, err = mystira(data, "export", "Acounts", "--out", str(target))
    assert code == 2
    assert "unknown container" in err
    assert target.read_text() == '{"id": "precious"}\n'
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []


def test_export_replaces_the_file_only_at_the_end(tmp_path: Path) -> None:
    data, target = tmp_path / "data", tmp_path / "accounts.jsonl"
    only_in(data, Side.DOCUMENT, "acc-x")
    target.write_text("old\n")
    code, _, err = mystira(data, "export", CONTAINER, "--out", str(target))
    assert code == 0, err
    assert [json.loads(line)["id"] for line in target.read_text().splitlines()] == ["acc-x"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["accounts.jsonl", "data"]


def test_a_bad_byte_mid_import_writes_nothing_and_names_the_line(tmp_path: Path) -> None:
    data, dump = tmp_path / "data", tmp_path / "accounts.jsonl"
    lines = [json.dumps(account(i)).encode() for i in range(50)]
    lines[40] = lines[40].replace(b"Player", b"Pl\xffyer")
    dump.write_bytes(b"\n".join(lines) + b"\n")
    code, out, err = mystira(data, "import", CONTAINER, str(dump))
    assert code == 2
    assert "Traceback" not in out + err
    assert len(err.strip().splitlines()) == 1
    assert "accounts.jsonl:41: not UTF-8" in err
    assert "nothing was imported" in err
    assert counts(data)[Side.DOCUMENT] == 0
