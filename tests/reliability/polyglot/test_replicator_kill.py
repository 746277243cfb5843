"""A `mystira replicate` process SIGKILLed mid-batch, then restarted, converges."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

from mystira_data.bootstrap import RELATIONAL_FILE, open_platform, open_stores
from mystira_data.polyglot.layer import build
from mystira_data.polyglot.write.repository import validated
from mystira_data.query import Query
from mystira_data.settings import load_settings

SESSIONS = 3000
ENV = {"MYSTIRA__POLYGLOTPERSISTENCE__PHASE": "DualWriteCosmosRead"}


def mystira(data: Path, *args: str) -> subprocess.Popen[bytes]:
    log = (data.parent / "replicate.log").open("ab")
    with log:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "mystira_data", "--data-dir", str(data), *args],
            env={**os.environ, **ENV},
            stdout=subprocess.DEVNULL,
            stderr=log,
        )


def log_of(data: Path) -> str:
    return (data.parent / "replicate.log").read_text(errors="replace")


async def seed_primary_only(data: Path) -> None:
    """Documents written to the primary only, as if every inline secondary write failed."""
    settings = load_settings(data_dir=data, PolyglotPersistence=ENV_PHASE)
    async with open_stores(settings) as stores:
        # Still empty: the configured phase becomes the record (later it would be refused).
        await build(stores).control.all_phases()
        for n in range(SESSIONS):
            account = f"acc{n % 300:03d}"
            if n < 300:
                await stores.documents.upsert(
                    "Accounts",
                    {
                        **validated(
                            "Accounts",
                            {
                                "id": account,
                                "email": f"{account}@example.org",
                                "createdAt": "2026-01-01T00:00:00Z",
                                "lastLoginAt": "2026-01-02T00:00:00Z",
                                "subscription": {"id": "sub", "startDate": "2026-01-01T00:00:00Z"},
                                "settings": {"id": "settings"},
                            },
                        ),
                        "_version": 1,
                    },
                )
            await stores.documents.upsert(
                "GameSessions",
                {
                    "id": f"s{n:05d}",
                    "accountId": account,
                    "startTime": "2026-01-01T00:00:00Z",
                    "_version": 1,
                },
            )


ENV_PHASE = {"Phase": "DualWriteCosmosRead"}


def copied_rows(data: Path) -> int:
    """Rows in game_sessions, read with sqlite3 directly (cheap enough to poll)."""
    path = data / RELATIONAL_FILE
    if not path.exists():
        return 0
    with closing(sqlite3.connect(path, timeout=10)) as conn:
        try:
            return int(conn.execute("SELECT count(*) FROM game_sessions").fetchone()[0])
        except sqlite3.OperationalError:  # not migrated yet
            return 0


async def relational_count(data: Path) -> int:
    settings = load_settings(data_dir=data, PolyglotPersistence=ENV_PHASE)
    async with open_stores(settings) as stores:
        assert stores.relational is not None
        return await stores.relational.count("GameSessions", Query(cross_partition=True))


async def test_sigkilled_replicator_restarts_and_converges(tmp_path: Path) -> None:
    data = tmp_path / "data"
    await seed_primary_only(data)
    proc = mystira(data, "replicate", "--container", "Accounts", "--container", "GameSessions")
    try:
        # Polled straight from the file, every few ms: a whole run takes about a second now,
        # so a poll that opens the stores (hundreds of ms) would only see the end.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            copied = copied_rows(data)
            if copied:
                break
            await asyncio.sleep(0.005)
        assert proc.poll() is None, log_of(data)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert 0 < copied < SESSIONS  # killed mid-way
    restarted = mystira(data, "replicate", "--once")
    assert restarted.wait(timeout=300) == 0, log_of(data)
    assert await relational_count(data) == SESSIONS
    settings = load_settings(data_dir=data, PolyglotPersistence=ENV_PHASE)
    async with open_platform(settings) as poly:
        for container in ("Accounts", "GameSessions"):
            assert (await poly.verify(container, settle_s=0)).clean
