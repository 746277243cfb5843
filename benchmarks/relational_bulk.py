"""Bulk path vs raw COPY: load N generated game sessions into PostgreSQL both ways.

    uv run python benchmarks/relational_bulk.py [--rows 200000] [--driver asyncpg|psycopg|both]

For each driver, in one fresh database on the same server:

* raw COPY — the rows, already mapped, COPY'd straight into an empty ``game_sessions``
  (the fastest way in; nothing checked, nothing merged);
* bulk path — `RelationalStore.bulk_upsert_if_newer` from the documents: validation through
  the domain codec, mapping, COPY into a staging table, version-guarded merge;
* merge only — the same staging COPY + merge from the raw COPY's records (built beforehand),
  to separate the database cost from the Python cost of validating and mapping documents.

Prints rows/s of each and the ratios to raw COPY (goal: bulk path >= 0.5). The server is
``$MYSTIRA_TEST_POSTGRES``, else postgresql://postgres@127.0.0.1:5432/test, else a private
one (see _servers.py). Documents and rows are generated before timing starts.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from _servers import fresh_database, postgres_url

from mystira_data.domain.base import format_timespan, format_utc
from mystira_data.relational import RelationalStore, bulk, migrate
from mystira_data.relational.mapping import mapping_for

ACCOUNTS = 2000
T0 = datetime(2024, 1, 1, tzinfo=UTC)
STATUSES = ("NotStarted", "InProgress", "Paused", "Completed", "Abandoned")
AXES = ("honesty", "bravery", "kindness", "curiosity")


def game_sessions(n: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    """``n`` realistic game-session documents (canonical camelCase JSON), deterministic."""
    rng = random.Random(seed)
    for i in range(n):
        start = T0 + timedelta(seconds=rng.randrange(30_000_000))
        choices = [_choice(rng, start, k) for k in range(rng.randrange(3, 9))]
        yield {
            "id": f"gs-{i:08d}",
            "scenarioId": f"scen-{rng.randrange(500)}",
            "accountId": f"acc-{rng.randrange(ACCOUNTS)}",
            "profileId": f"prof-{rng.randrange(20_000)}",
            "playerNames": rng.sample(["Ann", "Bo", "Cy", "Dee", "Zoë"], rng.randrange(1, 4)),
            "status": rng.choice(STATUSES),
            "currentSceneId": f"scene-{rng.randrange(40)}",
            "choiceHistory": choices,
            "echoHistory": [],
            "compassValues": {a: _tracking(rng, a, start) for a in rng.sample(AXES, 2)},
            "playerCompassProgressTotals": [],
            "achievements": [],
            "characterAssignments": [],
            "startTime": format_utc(start),
            "endTime": format_utc(start + timedelta(minutes=rng.randrange(5, 90))),
            "elapsedTime": format_timespan(timedelta(seconds=rng.randrange(60, 5400))),
            "isPaused": False,
            "pausedAt": None,
            "sceneCount": len(choices),
            "targetAgeGroup": rng.choice(["6-9", "10-12", "13-18"]),
            "selectedCharacterId": None,
            "_version": 1,
        }


def _choice(rng: random.Random, start: datetime, k: int) -> dict[str, Any]:
    return {
        "sceneId": f"scene-{k}",
        "sceneTitle": "The bridge",
        "choiceText": "Help the troll across",
        "nextScene": f"scene-{k + 1}",
        "playerId": "p1",
        "compassAxis": rng.choice(AXES),
        "compassDirection": None,
        "compassDelta": rng.choice((-1.0, -0.5, 0.5, 1.0)),
        "chosenAt": format_utc(start + timedelta(minutes=k)),
        "echoGenerated": None,
        "compassChange": None,
    }


def _tracking(rng: random.Random, axis: str, start: datetime) -> dict[str, Any]:
    return {
        "axis": axis,
        "currentValue": rng.uniform(-2, 2),
        "startingValue": 0.0,
        "history": [],
        "lastUpdated": format_utc(start),
    }


@dataclass
class Result:
    driver: str
    raw: float
    bulk: float
    merge_only: float


async def prepare_database(url: str, driver: str) -> RelationalStore:
    await migrate.upgrade(url)
    store = RelationalStore(url, driver=driver)
    await store.open()
    accounts = [
        {"id": f"acc-{i}", "email": f"acc-{i}@example.test", "_version": 1} for i in range(ACCOUNTS)
    ]
    await store.bulk_upsert_if_newer("Accounts", accounts)
    return store


async def empty_sessions(store: RelationalStore) -> None:
    async with store.transaction() as conn:
        await conn.execute(sa.text("TRUNCATE game_sessions CASCADE"))
        await conn.execute(sa.text("CHECKPOINT"))


async def raw_copy(store: RelationalStore, rows: list[tuple[Any, ...]]) -> float:
    table = mapping_for("GameSessions").table
    await empty_sessions(store)
    start = time.perf_counter()
    async with store.transaction() as conn:
        await bulk.copy_records(conn, table.name, [c.name for c in table.c], rows)
    return len(rows) / (time.perf_counter() - start)


async def bulk_path(store: RelationalStore, docs: list[dict[str, Any]], batch: int) -> float:
    await empty_sessions(store)
    start = time.perf_counter()
    applied = await store.bulk_upsert_if_newer("GameSessions", docs, batch_size=batch)
    elapsed = time.perf_counter() - start
    assert applied == len(docs), (applied, len(docs))
    return len(docs) / elapsed


async def merge_only(store: RelationalStore, records: list[tuple[Any, ...]], batch: int) -> float:
    m = mapping_for("GameSessions")
    await empty_sessions(store)
    start = time.perf_counter()
    for i in range(0, len(records), batch):
        async with store.transaction() as conn:
            await bulk.copy_merge(conn, m, records[i : i + batch], ids=False)
    return len(records) / (time.perf_counter() - start)


async def measure(admin_url: str, driver: str, n: int, batch: int) -> Result:
    m = mapping_for("GameSessions")
    with fresh_database(admin_url, prefix="mystira_bench_") as url:
        store = await prepare_database(url, driver)
        try:
            docs = list(game_sessions(n))
            now = datetime.now(UTC)
            rows = [m.prepare(doc).row | {"_updated_at": now} for doc in docs]
            records = bulk.copy_shape(m.table).records(rows)
            # Inputs are built before the clock starts, for every contender alike; frozen so
            # the collector does not rescan them during the runs (a benchmark artefact: a
            # backfill streams its documents instead of holding them all).
            gc.freeze()
            raw = await raw_copy(store, records)
            merged = await merge_only(store, records, batch)
            loaded = await bulk_path(store, docs, batch)
        finally:
            gc.unfreeze()
            await store.close()
    return Result(driver, raw, loaded, merged)


def report(results: list[Result], n: int) -> None:
    print(f"\n{n} game sessions per run (rows/s, higher is better)")
    head = ("driver", "raw COPY", "bulk path", "ratio", "merge only", "ratio")
    print("{:<9} {:>10} {:>10} {:>6} {:>11} {:>6}".format(*head))
    for r in results:
        print(
            f"{r.driver:<9} {r.raw:>10,.0f} {r.bulk:>10,.0f} {r.bulk / r.raw:>6.2f} "
            f"{r.merge_only:>11,.0f} {r.merge_only / r.raw:>6.2f}"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=bulk_default_batch())
    parser.add_argument("--driver", choices=["asyncpg", "psycopg", "both"], default="both")
    args = parser.parse_args()
    admin = postgres_url()
    drivers = ["asyncpg", "psycopg"] if args.driver == "both" else [args.driver]
    results = [await measure(admin, d, args.rows, args.batch) for d in drivers]
    report(results, args.rows)


def bulk_default_batch() -> int:
    from mystira_data.relational.store_bulk import BULK_BATCH

    return BULK_BATCH


if __name__ == "__main__":
    asyncio.run(main())
