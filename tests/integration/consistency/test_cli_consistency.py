"""`mystira verify` / `repair` on the embedded stores: exit codes, --report, --dry-run."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from typer.testing import CliRunner

from mystira_data.cli.app import app
from tests.integration.consistency.data import CONTAINERS, embedded, seed, session

ACCOUNTS, SESSIONS = 6, 80
runner = CliRunner()


def mystira(data: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--data-dir", str(data), *args])
    return result.exit_code, result.stdout, result.stderr


async def tamper(data: Path) -> dict[str, str]:
    """Differences behind the repository's back; returns id → the kind verify must report."""
    async with embedded(data) as poly:
        rel, docs = poly.raw_relational, poly.stores.documents
        changed = {**session(3, ACCOUNTS), "status": "Abandoned"}
        await rel.upsert("GameSessions", changed)
        gone = session(4, ACCOUNTS)
        await rel.purge("GameSessions", gone["id"], gone["accountId"])
        await docs.create("GameSessions", session(5, ACCOUNTS, id="only-in-documents"))
        await rel.create("GameSessions", session(6, ACCOUNTS, id="only-in-relational"))
    return {changed["id"]: "different", gone["id"]: "missing",
            "only-in-documents": "missing", "only-in-relational": "extra"}


def test_verify_exit_codes_report_file_and_repair(tmp_path: Path) -> None:
    data = tmp_path / "data"

    async def seeded() -> None:
        async with embedded(data) as poly:
            await seed(poly.stores.documents, SESSIONS, accounts=ACCOUNTS)

    asyncio.run(seeded())
    code, _, _ = mystira(data, "verify", "GameSessions")
    assert code == 1  # nothing copied yet: every session is missing in the relational store
    for container in CONTAINERS:
        code, _, err = mystira(data, "backfill", container)
        assert code == 0, err
    code, out, err = mystira(data, "verify", "GameSessions")
    assert code == 0, (out, err)
    assert f"scanned {SESSIONS}" in out
    assert "clean" in out
    assert "GameSessions" in err
    assert f"{SESSIONS}/{SESSIONS}" in err  # the progress bar

    expected = asyncio.run(tamper(data))
    report_file = tmp_path / "verify.json"
    code, out, _ = mystira(data, "verify", "GameSessions", "--report", str(report_file))
    assert code == 1
    assert "missing 2, extra 1, different 1 → DIFFERENT" in out
    [saved] = json.loads(report_file.read_text())
    assert saved["clean"] is False
    assert {d["id"]: d["kind"] for d in saved["differences"]} == expected
    different = next(d for d in saved["differences"] if d["kind"] == "different")
    assert different["paths"] == ["status"]

    code, out, err = mystira(data, "repair", "GameSessions", "--from-report", str(report_file),
                             "--dry-run")
    assert code == 0, err
    planned = {line.strip() for line in out.splitlines() if line.startswith("  ")}
    assert planned == {f"{kind} {doc_id}" for doc_id, kind in expected.items()}
    assert f"would repair {len(expected)}" in out
    code, out, _ = mystira(data, "verify", "GameSessions", "--json")
    assert code == 1  # the dry run changed nothing
    assert {d["id"]: d["kind"] for d in json.loads(out)[0]["differences"]} == expected

    code, out, err = mystira(data, "repair", "GameSessions", "--from-report", str(report_file))
    assert code == 0, err
    assert f"repaired {len(expected)}" in out
    code, out, _ = mystira(data, "verify", "GameSessions", "--json")
    assert code == 0, out
    assert json.loads(out)[0]["clean"] is True
    code, _, _ = mystira(data, "verify", "--all")
    assert code == 0
