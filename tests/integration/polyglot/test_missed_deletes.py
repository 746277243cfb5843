"""A delete the secondary missed reaches it through replication, in both directions, on both
real pairs: change feed → relational (DualWriteCosmosRead) and outbox → documents
(DualWritePostgresRead). Afterwards the secondary holds the primary's tombstones at the same
versions and verify is clean."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from mystira_data.errors import StoreUnavailable
from mystira_data.polyglot.layer import Polyglot
from mystira_data.polyglot.write.guarded import ApplyMany, current
from mystira_data.polyglot.write.repository import PolyglotRepository
from mystira_data.settings import Phase
from mystira_data.types import JsonDoc
from tests.integration.polyglot.test_phases_crud import START, walk_to

CONTAINERS = ("Accounts", "GameSessions")
# (container, id, partition key) of what the test deletes while the secondary is lost:
# one session directly, one account and (through its cascade) its only session.
DELETED = [
    ("GameSessions", "s1", "acc1"),
    ("Accounts", "acc2", "acc2"),
    ("GameSessions", "s2", "acc2"),
]


async def _unreachable(container: str, doc: JsonDoc) -> Any:
    raise StoreUnavailable("secondary unreachable (test)")


@contextmanager
def secondary_lost(repo: PolyglotRepository) -> Iterator[None]:
    """Every secondary write fails the way an unreachable store fails it (and is recorded in
    the sync log by the real writer), while the primary goes on."""
    writer = repo.secondary
    real = writer.write

    async def failing(
        apply: Any, container: str, doc: JsonDoc, target: str, apply_many: ApplyMany | None = None
    ) -> None:
        await real(_unreachable, container, doc, target, None)

    writer.write = failing  # type: ignore[method-assign]
    try:
        yield
    finally:
        writer.write = real  # type: ignore[method-assign]


async def populate(repo: PolyglotRepository) -> None:
    for account in ("acc1", "acc2"):
        await repo.create("Accounts", {"id": account, "email": f"{account}@example.org"})
    for n, account in enumerate(("acc1", "acc1", "acc2", "acc1")):
        await repo.create(
            "GameSessions",
            {"id": f"s{n}", "accountId": account, "startTime": START, "status": "InProgress"},
        )


@pytest.mark.parametrize("phase", [Phase.DUAL_WRITE_COSMOS_READ, Phase.DUAL_WRITE_POSTGRES_READ])
async def test_a_delete_the_secondary_missed_is_replicated_and_verifies_clean(
    poly: Polyglot, phase: Phase
) -> None:
    await walk_to(poly, phase)
    repo = poly.repository
    await populate(repo)  # both stores hold every document
    with secondary_lost(poly.router):
        await repo.delete("GameSessions", "s1", "acc1")
        await repo.delete("Accounts", "acc2", "acc2")  # cascades to s2
    assert poly.router.secondary.sync_log.failed == len(DELETED)
    for container in CONTAINERS:  # the secondary still shows them live
        assert not (await poly.verify(container, settle_s=0)).clean, container

    for container in CONTAINERS:
        await poly.replicate_until_caught_up(container)

    primary, secondary = await poly.pair("GameSessions")
    for container, doc_id, pk in DELETED:
        tomb = await current(primary, container, doc_id, pk)
        assert tomb is not None
        assert tomb.get("_deleted")
        copy = await current(secondary, container, doc_id, pk)
        assert copy is not None, (container, doc_id)
        assert (copy["_version"], bool(copy.get("_deleted"))) == (tomb["_version"], True)
    for container in CONTAINERS:
        report = await poly.verify(container, settle_s=0)
        assert report.clean, (container, report.counts(), report.differences[:3])
