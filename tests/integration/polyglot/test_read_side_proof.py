"""A move that makes a store the read side needs that store proven complete, either way.

The document store comes back empty behind our back (the Cosmos API server keeps data in
memory and restarts empty): moving Accounts back to DualWriteCosmosRead is refused, naming
the counts and the backfill to run, until a backfill `--to document` and a clean verify.
"""

from __future__ import annotations

import pytest

from mystira_data.errors import PhaseTransitionRefused
from mystira_data.polyglot.consistency.backfill import backfill
from mystira_data.polyglot.layer import Polyglot
from mystira_data.polyglot.phase.guards import LIVE
from mystira_data.polyglot.phase.rules import Side
from mystira_data.settings import Phase

ACCOUNTS = 12


async def test_reads_move_back_only_to_a_store_proven_complete(poly: Polyglot) -> None:
    control = poly.control
    await control.set("Accounts", Phase.DUAL_WRITE_COSMOS_READ)
    for n in range(ACCOUNTS):
        await poly.repository.create("Accounts", {"id": f"acct-{n}", "email": f"{n}@x.org"})
    await poly.verify("Accounts", settle_s=0)
    await control.set("Accounts", Phase.DUAL_WRITE_POSTGRES_READ)  # clean verify: no force
    await empty_the_document_store(poly)

    with pytest.raises(PhaseTransitionRefused, match=f"holds 0 of the {ACCOUNTS}") as refused:
        await control.set("Accounts", Phase.DUAL_WRITE_COSMOS_READ)
    assert "--to document" in str(refused.value)
    assert await control.phase("Accounts") is Phase.DUAL_WRITE_POSTGRES_READ

    report = await backfill(poly, "Accounts", Side.DOCUMENT)
    assert report.written == ACCOUNTS
    assert (await poly.verify("Accounts", settle_s=0)).clean
    await control.set("Accounts", Phase.DUAL_WRITE_COSMOS_READ)
    assert await poly.stores.documents.count("Accounts", LIVE) == ACCOUNTS


async def test_a_stale_verify_does_not_prove_an_emptied_store(poly: Polyglot) -> None:
    """The last verify was clean, but the store emptied after it: the counts still refuse."""
    control = poly.control
    await control.set("Accounts", Phase.DUAL_WRITE_COSMOS_READ)
    for n in range(3):
        await poly.repository.create("Accounts", {"id": f"acct-{n}", "email": f"{n}@x.org"})
    assert (await poly.verify("Accounts", settle_s=0)).clean
    await control.set("Accounts", Phase.DUAL_WRITE_POSTGRES_READ)
    await empty_the_document_store(poly)
    with pytest.raises(PhaseTransitionRefused, match="holds 0 of the 3"):
        await control.set("Accounts", Phase.DUAL_WRITE_COSMOS_READ)


async def empty_the_document_store(poly: Polyglot) -> None:
    docs = poly.stores.documents
    async for doc in docs.read_all("Accounts", include_deleted=True):
        await docs.purge("Accounts", doc["id"], doc["id"])
    assert await docs.count("Accounts", LIVE) == 0
