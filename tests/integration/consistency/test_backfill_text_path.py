"""Backfill from stored JSON text (SQLite document store → PostgreSQL) writes exactly what the
dict path writes: same rows, same quarantine, same dead letters.

The text path parses and validates each stored document in one pass and falls back to the dict
path for anything it refuses; this pits the two against each other on good, legacy (missing
defaulted fields, no ``_version``), deleted and malformed documents.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import pytest
import sqlalchemy as sa

from mystira_data.polyglot.consistency import backfill as backfill_module
from mystira_data.polyglot.consistency.backfill import BackfillReport, backfill
from mystira_data.polyglot.layer import Polyglot
from mystira_data.polyglot.phase.rules import Side
from mystira_data.relational import tables as t
from mystira_data.relational.store import RelationalStore
from tests.integration.consistency.data import account, put_all, session
from tests.integration.consistency.test_legacy_documents import legacy_account
from tests.integration.consistency.test_quarantine import malformed

ACCOUNTS, SESSIONS = 6, 40


@runtime_checkable
class _NoStoreHasThis(Protocol):
    async def no_store_has_this(self) -> None: ...


async def seed(poly: Polyglot) -> None:
    docs = poly.stores.documents
    await put_all(docs, "Accounts", [account(i) for i in range(ACCOUNTS)])
    await put_all(docs, "Accounts", [legacy_account(i) for i in range(3)])
    unversioned = {k: v for k, v in legacy_account(9).items() if k != "_version"}
    await docs.upsert("Accounts", unversioned)
    await put_all(docs, "GameSessions", [session(i, ACCOUNTS) for i in range(SESSIONS)])
    await put_all(docs, "GameSessions", [doc for doc, _ in malformed().values()])
    await docs.delete("GameSessions", "gs-000003", session(3, ACCOUNTS)["accountId"])


async def snapshot(rel: RelationalStore) -> dict[str, list[dict[str, Any]]]:
    """Every row of the two tables and the backfill's dead letters (write stamps left out)."""
    out: dict[str, list[dict[str, Any]]] = {}
    async with rel.reading() as conn:
        for table in (t.accounts, t.game_sessions):
            rows = (await conn.execute(sa.select(table).order_by(table.c.id))).mappings().all()
            out[table.name] = [{k: v for k, v in r.items() if k != "_updated_at"} for r in rows]
        d = t.dead_letters
        rows = (await conn.execute(
            sa.select(d.c.entity_id, d.c.error, d.c.payload).order_by(d.c.entity_id)
        )).all()
        out["dead_letters"] = [dict(r._mapping) for r in rows]
    return out


async def empty(rel: RelationalStore) -> None:
    async with rel.transaction() as conn:
        await conn.execute(
            sa.text("TRUNCATE game_sessions, accounts, _polyglot_dead_letters CASCADE")
        )


async def run(poly: Polyglot) -> tuple[BackfillReport, BackfillReport]:
    accounts = await backfill(poly, "Accounts", Side.RELATIONAL, restart=True)
    sessions = await backfill(poly, "GameSessions", Side.RELATIONAL, restart=True)
    return accounts, sessions


@pytest.mark.parametrize("pair", ["sqlite-postgres"], indirect=True)  # the text path's pair
async def test_text_path_writes_what_the_dict_path_writes(
    poly: Polyglot, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed(poly)
    rel = poly.raw_relational
    calls: list[int] = []
    text_prepare = RelationalStore.bulk_prepare_json

    async def counted(self: RelationalStore, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return await text_prepare(self, *args, **kwargs)

    monkeypatch.setattr(RelationalStore, "bulk_prepare_json", counted)
    text_reports = await run(poly)
    assert calls, "the SQLite → PostgreSQL backfill did not take the text path"
    by_text = await snapshot(rel)

    await empty(rel)
    monkeypatch.setattr(backfill_module, "JsonPages", _NoStoreHasThis)  # force the dict path
    calls.clear()
    dict_reports = await run(poly)
    assert not calls
    by_dict = await snapshot(rel)

    assert by_text == by_dict
    for by_text_report, by_dict_report in zip(text_reports, dict_reports, strict=True):
        assert by_text_report.as_json() == by_dict_report.as_json()
    accounts, sessions = text_reports
    assert (accounts.read, accounts.written) == (ACCOUNTS + 4, ACCOUNTS + 4)
    assert sorted(i for i, _ in sessions.quarantined) == sorted(malformed())
    assert len(by_text["game_sessions"]) == SESSIONS  # the tombstone is a row too
    assert [r["_deleted"] for r in by_text["game_sessions"] if r["id"] == "gs-000003"] == [True]
    unversioned = [r for r in by_text["accounts"] if r["id"] == "old-009"]
    assert [r["_version"] for r in unversioned] == [0]
    assert {r["entity_id"] for r in by_text["dead_letters"]} == set(malformed())
    assert (await poly.verify("Accounts", settle_s=0)).clean
