"""Shared plumbing of the polyglot benchmarks (dual_write, replication_lag, backfill, verify).

* `environment` — a fresh PostgreSQL database (dropped afterwards) and a temporary data dir
  for the embedded SQLite document store;
* `polyglot` — `open_platform` on them, with the phase and polyglot settings given;
* `accounts` / `sessions` — valid, deterministic Accounts and GameSessions documents (the
  sessions are `relational_bulk.game_sessions`, with their ``acc-N`` account ids);
* `load_documents` — put documents into the SQLite store, through ``create`` (public API) or,
  with ``fast=True``, through the store's own row writer in batched transactions;
* `percentile`, `show` — nearest-rank percentiles and a Rich table.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import tempfile
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from _servers import fresh_database, postgres_url
from relational_bulk import ACCOUNTS, game_sessions
from rich.console import Console
from rich.table import Table

from mystira_data.bootstrap import open_platform
from mystira_data.documents.sqlite import SqliteDocumentStore
from mystira_data.polyglot.layer import Polyglot
from mystira_data.relational import migrate
from mystira_data.settings import Phase, load_settings
from mystira_data.types import JsonDoc

console = Console(width=150)

__all__ = ["ACCOUNTS", "Phase", "Polyglot", "game_sessions"]


@contextlib.contextmanager
def environment(prefix: str = "bench_") -> Iterator[tuple[str, Path]]:
    """(URL of a new empty PostgreSQL database, a new empty data dir); both removed after."""
    with (
        fresh_database(postgres_url(), prefix=prefix) as url,
        tempfile.TemporaryDirectory(prefix="mystira-bench-") as tmp,
    ):
        yield url, Path(tmp)


def settings_for(url: str, data_dir: Path, phase: Phase, **polyglot: Any) -> Any:
    return load_settings(
        data_dir=data_dir,
        ConnectionStrings={"PostgreSql": url},
        PolyglotPersistence={"Phase": phase.value, **polyglot},
    )


@contextlib.asynccontextmanager
async def polyglot(
    url: str, data_dir: Path, phase: Phase = Phase.COSMOS_ONLY, **polyglot: Any
) -> AsyncIterator[Polyglot]:
    """The polyglot layer on PostgreSQL (migrated) + the SQLite document store in data_dir."""
    await migrate.upgrade(url)  # only `db upgrade` migrates at open; a benchmark does it here
    settings = settings_for(url, data_dir, phase, **polyglot)
    async with open_platform(settings, provision=True) as poly:
        # Read the phases now: on the first open (still empty) the configured phase becomes
        # the record, so later opens over the loaded data agree with it.
        await poly.control.all_phases()
        yield poly


def accounts(n: int = ACCOUNTS) -> list[JsonDoc]:
    """The ``acc-N`` accounts `game_sessions` refers to."""
    return [
        {"id": f"acc-{i}", "email": f"acc-{i}@example.test", "displayName": f"Player {i}",
         "_version": 1}
        for i in range(n)
    ]


def sessions(n: int, seed: int = 7) -> Iterator[JsonDoc]:
    return game_sessions(n, seed)


def sqlite_store(poly: Polyglot) -> SqliteDocumentStore:
    store = poly.stores.documents
    assert isinstance(store, SqliteDocumentStore), "these benchmarks use the embedded store"
    return store


async def load_documents(
    store: SqliteDocumentStore, container: str, docs: Iterable[JsonDoc], *,
    fast: bool = False, batch: int = 2000,
) -> int:
    """Write ``docs`` into the SQLite store; returns how many.

    ``fast=False``: one public ``create`` per document (one transaction each, ~1k/s here).
    ``fast=True``: the store's own key check and row writer (``_key_of`` + ``put``: same etag,
    ``_ts``, lsn and feed range as ``create``) but ``batch`` documents per transaction — private
    API, for big runs only; no AlreadyExists check, so only for an empty container.
    """
    n = 0
    if not fast:
        for doc in docs:
            await store.create(container, doc)
            n += 1
        return n
    from mystira_data.documents.sqlite._io import put

    it = iter(docs)
    while chunk := list(itertools.islice(it, batch)):
        keyed = [(store._key_of(container, d), d) for d in chunk]

        def tx(conn: Any, keyed: list[Any] = keyed) -> None:
            for key, doc in keyed:
                put(conn, key, doc)

        await store._write(tx)
        n += len(chunk)
    return n


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of ``values``."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def show(title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    table = Table(title=title, title_justify="left")
    for i, h in enumerate(headers):
        table.add_column(h, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*(str(c) for c in row))
    console.print(table)


def goal(text: str, met: bool) -> None:
    console.print(f"goal: {text} → {'[green]met[/]' if met else '[red]missed[/]'}")


async def drain(tasks: Iterable[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
