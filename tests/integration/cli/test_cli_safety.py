"""Fixing commands never destroy what they were not asked to, and never stop half-way unsaid."""

from __future__ import annotations

import asyncio
from pathlib import Path

from typer.testing import CliRunner

from mystira_data.cli.app import app
from tests.integration.consistency.data import account_id, embedded, live_count, seed

runner = CliRunner()
ACCOUNTS, SESSIONS = 4, 20


def mystira(data: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--data-dir", str(data), *args])
    return result.exit_code, result.stdout, result.stderr


def seeded_with_one_parent_missing(data: Path) -> None:
    """Sessions in the document store only; their accounts in both stores but one."""

    async def body() -> None:
        async with embedded(data) as poly:
            await seed(poly.stores.documents, SESSIONS, accounts=ACCOUNTS)

    asyncio.run(body())
    code, _, err = mystira(data, "backfill", "Accounts")
    assert code == 0, err

    async def drop_parent() -> None:
        async with embedded(data) as poly:
            await poly.raw_relational.purge("Accounts", account_id(0), account_id(0))

    asyncio.run(drop_parent())


def relational_sessions(data: Path) -> int:
    async def body() -> int:
        async with embedded(data) as poly:
            return await live_count(poly.raw_relational, "GameSessions")

    return asyncio.run(body())


def test_repair_goes_past_documents_it_cannot_write(tmp_path: Path) -> None:
    data = tmp_path / "data"
    seeded_with_one_parent_missing(data)
    orphans = SESSIONS // ACCOUNTS  # the sessions of account 0: their parent row is gone

    code, out, err = mystira(data, "repair", "GameSessions")
    assert code == 1, (out, err)
    assert f"repaired {SESSIONS - orphans}, failed {orphans}" in out
    assert err.count("could not repair") == orphans
    assert "ForeignKeyViolation" in err
    assert "Traceback" not in out + err
    assert relational_sessions(data) == SESSIONS - orphans


def test_db_downgrade_base_with_data_refuses_without_yes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    seeded_with_one_parent_missing(data)

    code, out, err = mystira(data, "db", "downgrade", "base")
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "drops every table" in err
    assert f"accounts ({ACCOUNTS - 1} rows)" in err
    assert "--yes" in err
    code, out, _ = mystira(data, "db", "current")
    assert "current: None" not in out  # nothing was dropped

    code, out, err = mystira(data, "db", "downgrade", "base", "--yes")
    assert code == 0, err
    assert "at None" in out


def test_media_check_fix_after_seed_demo_deletes_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    code, _, err = mystira(data, "seed", "--demo", "--accounts", "2")
    assert code == 0, err
    code, before, _ = mystira(data, "export", "MediaAssets")
    assert before.strip()

    code, out, err = mystira(data, "media", "check", "--fix", "--delete")
    assert code == 0, (out, err)
    assert "documents without blob: 0" in out
    assert "documents with media elsewhere (not checked): 0" not in out
    code, after, _ = mystira(data, "export", "MediaAssets")
    assert sorted(after.splitlines()) == sorted(before.splitlines())


def test_media_check_fix_is_a_dry_run_unless_told_to_delete(tmp_path: Path) -> None:
    data = tmp_path / "data"
    image = tmp_path / "dragon.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    code, _, err = mystira(data, "media", "upload", str(image), "--type", "image")
    assert code == 0, err
    for blob in (data / "blobs").rglob("*.png"):
        blob.unlink()  # the document now points at nothing

    code, out, _ = mystira(data, "media", "check", "--fix")
    assert code == 1
    assert "would delete document" in out
    assert "nothing was deleted" in out
    code, out, _ = mystira(data, "media", "check", "--fix", "--delete")
    assert code == 0, out
    assert "deleted document" in out
    code, out, _ = mystira(data, "media", "check")
    assert code == 0
    assert "documents without blob: 0" in out
