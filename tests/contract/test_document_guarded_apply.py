"""Version-guarded applies (replication, dual write) mean the same on every store.

`batch_apply` takes the store's own one-transaction path where it declares one (the
relational store's ``upsert_if_newer``, the SQLite document store's ``put_if_newer``) and
per-document conditional writes elsewhere (Cosmos DB); all must leave the newest version of
each document, tombstones included, and write nothing older. The documents are valid
accounts, so the relational store (which maps them to columns) runs the same suite.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from mystira_data.polyglot.ports import EntityStore
from mystira_data.polyglot.write.guarded import apply_if_newer, batch_apply, current
from mystira_data.types import JsonDoc
from tests.contract.conftest import DOCUMENT_STORE_ADAPTERS, AdapterContext, open_relational
from tests.contract.document_stores import CONTAINERS
from tests.integration.relational.docs import account

RELATIONAL = ("relational-postgres", "relational-sqlite")


@pytest.fixture(params=[*sorted(DOCUMENT_STORE_ADAPTERS), *RELATIONAL])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[EntityStore]:
    name: str = request.param
    if name in RELATIONAL:
        async with open_relational(request, name.removeprefix("relational-"), tmp_path) as rel:
            yield rel
        return
    documents = await DOCUMENT_STORE_ADAPTERS[name].factory(
        AdapterContext(tmp_path, CONTAINERS, request)
    )
    try:
        yield documents
    finally:
        await documents.close()


class Accounts:
    """Valid account documents whose ids are unique to one test."""

    def __init__(self) -> None:
        self.uid = "t" + uuid.uuid4().hex[:12]

    def id(self, n: int) -> str:
        return f"{self.uid}-a{n}"

    def __call__(self, n: int, version: int, label: str, **extra: Any) -> JsonDoc:
        return account(self.id(n), displayName=label) | {"_version": version, **extra}


async def _live(store: EntityStore, accounts: Accounts, count: int) -> dict[int, tuple[str, int]]:
    """(displayName, version) of each live account of this test, by its number."""
    found = {}
    for n in range(count):
        doc = await current(store, "Accounts", accounts.id(n), accounts.id(n))
        if doc is not None and not doc.get("_deleted"):
            found[n] = (doc["displayName"], doc["_version"])
    return found


async def test_a_batch_keeps_the_newest_version_of_each_document(store: EntityStore) -> None:
    accounts = Accounts()
    apply = batch_apply(store)
    assert await apply("Accounts", [accounts(n, 2, f"first{n}") for n in range(4)]) == 4
    later = [
        accounts(0, 3, "newer"),  # applies
        accounts(1, 2, "same version"),  # skipped
        accounts(2, 1, "older"),  # skipped
        accounts(3, 5, "tombstone", _deleted=True),  # a newer tombstone applies
        accounts(4, 1, "new"),  # a new document
        accounts(4, 2, "new, newer"),  # the same id again, newer, in one batch
    ]
    written = await apply("Accounts", later)
    assert written in (3, 4)  # the second copy of a4 may be folded into the first
    assert await _live(store, accounts, 5) == {
        0: ("newer", 3),
        1: ("first1", 2),
        2: ("first2", 2),
        4: ("new, newer", 2),
    }
    tombstone = await current(store, "Accounts", accounts.id(3), accounts.id(3))
    assert tombstone is not None
    assert (tombstone["_deleted"], tombstone["_version"]) == (True, 5)
    assert await apply("Accounts", later) == 0  # redelivery changes nothing


async def test_a_single_apply_is_guarded_the_same_way(store: EntityStore) -> None:
    accounts = Accounts()
    assert await apply_if_newer(store, "Accounts", accounts(0, 4, "v4"))
    assert not await apply_if_newer(store, "Accounts", accounts(0, 3, "v3"))
    assert not await apply_if_newer(store, "Accounts", accounts(0, 4, "v4 again"))
    stored = await store.read("Accounts", accounts.id(0), accounts.id(0))
    assert (stored["displayName"], stored["_version"]) == ("v4", 4)
