"""No bad or orphaned document stalls replication or backfill (#13 §2, §3), on real stores.

Documents are put straight into the document store, behind the repository's door: what
the C# app, or this code before the door existed, could have written.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from mystira_data import status
from mystira_data.polyglot.consistency.backfill import backfill
from mystira_data.polyglot.layer import Polyglot
from mystira_data.polyglot.phase.rules import Side
from mystira_data.relational import tables as t
from mystira_data.settings import Phase
from mystira_data.types import JsonDoc
from tests.integration.consistency.data import account, account_id, live_count, put_all, session
from tests.integration.polyglot.conftest import Factory
from tests.integration.relational.conftest import empty_all

DUAL = Phase.DUAL_WRITE_COSMOS_READ
VALID = 40
ALL_PAIRS = ["embedded", "sqlite-postgres", "cosmos-postgres"]


LONG_ID = "acc-" + "x" * 40  # V001's id columns are VARCHAR(36); Cosmos allows 255
# What PostgreSQL refuses and the document store takes: (document, field the reason names).
POISON: dict[str, tuple[JsonDoc, str]] = {
    "nul": ({**account(VALID), "id": "acc-nul", "displayName": "a\u0000b"}, "displayName"),
    "long-id": ({**account(VALID), "id": LONG_ID}, "id"),
    "huge-version": ({**account(VALID), "id": "acc-huge", "_version": 2**63}, "_version"),
}


def poison(kind: str = "nul") -> JsonDoc:
    return POISON[kind][0]


async def open_letters(poly: Polyglot, container: str) -> list[dict[str, Any]]:
    d = t.dead_letters
    stmt = sa.select(d).where(d.c.container == container, d.c.resolved_at.is_(None))
    async with poly.raw_relational.reading() as conn:
        return [dict(r) for r in (await conn.execute(stmt)).mappings()]


async def attempt_rows(poly: Polyglot) -> int:
    async with poly.raw_relational.reading() as conn:
        count = await conn.execute(sa.select(sa.func.count()).select_from(t.apply_attempts))
        return int(count.scalar_one())


@pytest.mark.parametrize("pair", ALL_PAIRS, indirect=True)
async def test_a_poison_account_is_dead_lettered_and_the_valid_ones_replicate(
    poly: Polyglot,
) -> None:
    await poly.control.set("Accounts", DUAL, force=True, reason="test")
    await put_all(poly.stores.documents, "Accounts", [poison()])
    await put_all(poly.stores.documents, "Accounts", [account(i) for i in range(VALID)])

    # What `replicate --once` runs: a new processor every poll; it returns, not times out.
    await poly.replicate_until_caught_up("Accounts", timeout_s=300)

    assert await live_count(poly.relational, "Accounts") == VALID
    [letter] = await open_letters(poly, "Accounts")
    assert (letter["entity_id"], letter["source"]) == ("acc-nul", "change-feed")
    assert letter["attempts"] == 5
    assert "a\\u0000b" in letter["payload"]["_stored_text"]  # kept whole, exactly
    assert "NUL" in letter["error"]
    assert "displayName" in letter["error"]
    assert await attempt_rows(poly) == 0  # given up on: no count left behind
    assert (await poly.lag("Accounts")).pending == 0

    [row] = [r for r in (await status.collect(poly)).containers if r.container == "Accounts"]
    assert row.dead_letters == 1
    assert [(x["id"], "NUL" in x["reason"]) for x in row.dead_letter_reasons] == [
        ("acc-nul", True)
    ]


@pytest.mark.parametrize("kind", sorted(POISON))
@pytest.mark.parametrize("pair", ALL_PAIRS, indirect=True)
async def test_backfill_quarantines_the_poison_account_and_copies_the_rest(
    poly: Polyglot, kind: str
) -> None:
    bad, field = POISON[kind]
    await put_all(poly.stores.documents, "Accounts", [bad])
    await put_all(poly.stores.documents, "Accounts", [account(i) for i in range(VALID)])

    report = await backfill(poly, "Accounts", Side.RELATIONAL)

    assert (report.read, report.written, report.done) == (VALID + 1, VALID, True)
    [(doc_id, reason)] = report.quarantined
    assert doc_id == bad["id"]
    assert field in reason
    assert await live_count(poly.relational, "Accounts") == VALID
    assert [r["entity_id"] for r in await open_letters(poly, "Accounts")] == [bad["id"]]


@pytest.mark.parametrize("kind", ["long-id", "huge-version"])
@pytest.mark.parametrize("pair", ["embedded", "sqlite-postgres"], indirect=True)
async def test_other_refused_accounts_are_dead_lettered_too(poly: Polyglot, kind: str) -> None:
    bad, field = POISON[kind]
    await poly.control.set("Accounts", DUAL, force=True, reason="test")
    await put_all(poly.stores.documents, "Accounts", [bad, *(account(i) for i in range(VALID))])

    await poly.replicate_until_caught_up("Accounts", timeout_s=300)

    assert await live_count(poly.relational, "Accounts") == VALID
    [letter] = await open_letters(poly, "Accounts")
    assert letter["entity_id"] == bad["id"]
    assert field in letter["error"]


SESSIONS, KNOWN, ACCOUNTS = 30, 3, 5  # sessions of accounts 3 and 4 have no parent anywhere


def orphaned() -> list[str]:
    return sorted(f"gs-{i:06d}" for i in range(SESSIONS) if i % ACCOUNTS >= KNOWN)


@pytest.mark.parametrize("pair", ALL_PAIRS, indirect=True)
async def test_children_before_parents_are_dead_lettered_after_the_wait_and_the_rest_flows(
    open_polyglot: Factory, pair: str
) -> None:
    async with open_polyglot(PolyglotPersistence={"ParentWaitMs": 1000}) as poly:
        if pair != "embedded":
            await empty_all(poly.raw_relational)
        for container in ("Accounts", "GameSessions"):
            await poly.control.set(container, DUAL, force=True, reason="test")
        docs = poly.stores.documents
        await put_all(docs, "GameSessions", [session(i, ACCOUNTS) for i in range(SESSIONS)])
        await put_all(docs, "Accounts", [account(i) for i in range(KNOWN)])

        # A generous bound: on a loaded 2-core CI box the one-second parent waits queue up.
        await poly.replicate_until_caught_up("GameSessions", timeout_s=300)

        assert await live_count(poly.relational, "GameSessions") == SESSIONS - len(orphaned())
        letters = await open_letters(poly, "GameSessions")
        assert sorted(r["entity_id"] for r in letters) == orphaned()
        for r in letters:
            parent = account_id(int(r["entity_id"][3:]) % ACCOUNTS)
            assert f"parent Accounts/{parent} missing" in r["error"], r["error"]
        assert await attempt_rows(poly) == 0


@pytest.mark.parametrize("pair", ALL_PAIRS, indirect=True)
async def test_backfill_quarantines_orphans_naming_the_parent_and_goes_on(
    poly: Polyglot,
) -> None:
    docs = poly.stores.documents
    await put_all(docs, "GameSessions", [session(i, ACCOUNTS) for i in range(SESSIONS)])
    await put_all(docs, "Accounts", [account(i) for i in range(KNOWN)])

    report = await backfill(poly, "GameSessions", Side.RELATIONAL, batch_size=10)

    assert report.done
    assert report.written == SESSIONS - len(orphaned())
    assert sorted(i for i, _ in report.quarantined) == orphaned()
    for doc_id, reason in report.quarantined:
        assert f"parent Accounts/{account_id(int(doc_id[3:]) % ACCOUNTS)} missing" in reason
    assert await live_count(poly.relational, "GameSessions") == SESSIONS - len(orphaned())
