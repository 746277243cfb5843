"""`replicate --once` returns with the poison account and the orphaned sessions dead-lettered,
and `status` shows each with its reason (embedded stores, as an operator runs them)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from typer.testing import CliRunner

from mystira_data.cli.app import app
from tests.integration.consistency.data import account, embedded, put_all, session

runner = CliRunner()
VALID, SESSIONS, ACCOUNTS = 40, 10, 5  # sessions of accounts 40..44 have no parent anywhere


def seed(data: Path) -> None:
    """Written behind the door (the C# app, or a run before the door existed)."""

    async def body() -> None:
        async with embedded(data) as poly:
            docs = poly.stores.documents
            nul = {**account(VALID), "id": "acc-nul", "displayName": "a\u0000b"}
            await put_all(docs, "Accounts", [nul, *(account(i) for i in range(VALID))])
            orphans = [session(i, ACCOUNTS, id=f"gs-{i}") for i in range(SESSIONS)]
            for doc in orphans:
                doc["accountId"] = f"acc-{VALID + int(doc['id'][3:]) % ACCOUNTS:05d}"
            await put_all(docs, "GameSessions", orphans)

    asyncio.run(body())


def mystira(data: Path, *args: str) -> str:
    env = {"MYSTIRA__POLYGLOTPERSISTENCE__PARENTWAITMS": "500"}
    result = runner.invoke(app, ["--data-dir", str(data), *args], env=env)
    assert result.exit_code == 0, (args, result.stdout, result.stderr)
    return result.stdout


def test_replicate_once_returns_and_status_shows_the_dead_letters(tmp_path: Path) -> None:
    data = tmp_path / "data"
    seed(data)
    for container in ("Accounts", "GameSessions"):
        mystira(data, "phase", "set", container, "DualWriteCosmosRead")

    # `phase set` may already catch some up; what is left must end, not time out.
    out = mystira(data, "replicate", "--once", "--container", "Accounts",
                  "--container", "GameSessions")
    assert "applied" in out

    rows = {r["container"]: r for r in json.loads(mystira(data, "status", "--json"))["containers"]}
    accounts, sessions = rows["Accounts"], rows["GameSessions"]
    assert (accounts["deadLetters"], sessions["deadLetters"]) == (1, SESSIONS)
    assert [d["id"] for d in accounts["deadLetterList"]] == ["acc-nul"]
    assert "NUL" in accounts["deadLetterList"][0]["reason"]
    assert all("parent Accounts/acc-000" in d["reason"] for d in sessions["deadLetterList"])
    assert (accounts["lag"]["pending"], sessions["lag"]["pending"]) == (0, 0)
    assert sorted(accounts["counts"].values()) == [VALID, VALID + 1]  # all but the poison
    assert sorted(sessions["counts"].values()) == [0, SESSIONS]

    text = mystira(data, "status")
    assert "dead letter Accounts/acc-nul v1 (change-feed): " in text
    assert "dead letter GameSessions/gs-3 v1 (change-feed): " in text
    assert "parent Accounts/acc-00043 missing" in text
