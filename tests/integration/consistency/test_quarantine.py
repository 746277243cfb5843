"""Documents the domain model rejects are quarantined by backfill: reported with a reason
naming the field, kept as dead letters, never written and never silently dropped."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from typer.testing import CliRunner

from mystira_data.cli.app import app
from mystira_data.polyglot.consistency.backfill import backfill
from mystira_data.polyglot.layer import Polyglot
from mystira_data.polyglot.phase.rules import Side
from mystira_data.relational import tables as t
from tests.integration.consistency.data import (
    CONTAINERS,
    embedded,
    live_count,
    put_all,
    seed,
    session,
)

ACCOUNTS, SESSIONS = 5, 60


def malformed() -> dict[str, tuple[dict[str, Any], str]]:
    """id → (a session the model rejects, the field its rejection must name)."""
    good = session(0, ACCOUNTS)
    no_start = {k: v for k, v in good.items() if k != "startTime"}
    return {
        "bad-no-start": ({**no_start, "id": "bad-no-start"}, "startTime"),
        "bad-scene-count": ({**good, "id": "bad-scene-count", "sceneCount": "many"},
                            "sceneCount"),
        "bad-status": ({**good, "id": "bad-status", "status": "Bogus"}, "status"),
        "bad-start": ({**good, "id": "bad-start", "startTime": "yesterday"}, "startTime"),
    }


async def seed_with_bad(documents: Any) -> None:
    await seed(documents, SESSIONS, accounts=ACCOUNTS)
    await put_all(documents, "GameSessions", [doc for doc, _ in malformed().values()])


async def test_backfill_quarantines_malformed_documents(poly: Polyglot) -> None:
    await seed_with_bad(poly.stores.documents)
    bad = malformed()
    await backfill(poly, "Accounts", Side.RELATIONAL)
    report = await backfill(poly, "GameSessions", Side.RELATIONAL)

    reasons = dict(report.quarantined)
    assert sorted(reasons) == sorted(bad)
    assert len(report.quarantined) == len(bad)
    for doc_id, (_, field) in bad.items():
        assert field in reasons[doc_id], (doc_id, reasons[doc_id])
    assert (report.read, report.written, report.done) == (SESSIONS + len(bad), SESSIONS, True)
    assert await live_count(poly.relational, "GameSessions") == SESSIONS

    d = t.dead_letters
    async with poly.raw_relational.reading() as conn:
        result = await conn.execute(sa.select(d).where(d.c.container == "GameSessions"))
        letters = result.mappings().all()
    assert sorted(row["entity_id"] for row in letters) == sorted(bad)
    for row in letters:
        assert (row["source"], row["resolved_at"], row["_version"]) == ("backfill", None, 1)
        assert bad[row["entity_id"]][1] in row["error"]
        assert row["payload"]["id"] == row["entity_id"]  # the document is kept for repair

    # Not silently dropped: verify still names each quarantined document as missing.
    verify = await poly.verify("GameSessions", settle_s=0)
    assert {x.id: x.kind for x in verify.differences} == dict.fromkeys(bad, "missing")
    assert (await poly.verify("Accounts", settle_s=0)).clean


def test_cli_backfill_json_shows_the_quarantine(tmp_path: Path) -> None:
    data = tmp_path / "data"

    async def seeded() -> None:
        async with embedded(data) as poly:
            await seed_with_bad(poly.stores.documents)

    asyncio.run(seeded())
    runner = CliRunner()
    cli = ["--data-dir", str(data), "backfill"]
    for container in CONTAINERS:
        result = runner.invoke(app, [*cli, container, "--json"])
        assert result.exit_code == 0, result.stderr
        [out] = json.loads(result.stdout)
    bad = malformed()
    assert (out["container"], out["read"], out["written"]) == (
        "GameSessions", SESSIONS + len(bad), SESSIONS)
    assert out["quarantined"] == len(bad)
    assert sorted(q["id"] for q in out["quarantine"]) == sorted(bad)
    assert f"quarantined {len(bad)}" in result.stderr
    for doc_id, (_, field) in bad.items():
        assert any(line.startswith(f"  quarantined {doc_id}: ") and field in line
                   for line in result.stderr.splitlines()), doc_id
