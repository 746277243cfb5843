"""Stored documents that lack defaulted fields (older data) copy and verify deterministically."""

from __future__ import annotations

from mystira_data.domain.base import STORED_DEFAULT_ID
from mystira_data.polyglot.consistency.backfill import backfill
from mystira_data.polyglot.layer import Polyglot
from mystira_data.polyglot.phase.rules import Side
from mystira_data.settings import Phase
from tests.integration.consistency.data import put_all


def legacy_account(i: int) -> dict[str, object]:
    # No createdAt / lastLoginAt / subscription / settings: written before those fields existed.
    return {"id": f"old-{i:03d}", "email": f"old{i}@example.org", "displayName": f"Old {i}",
            "_version": 1}


async def test_legacy_documents_backfill_replicate_and_verify_clean(poly: Polyglot) -> None:
    await poly.control.set("Accounts", Phase.DUAL_WRITE_COSMOS_READ)
    docs = poly.stores.documents
    await put_all(docs, "Accounts", [legacy_account(i) for i in range(10)])
    await backfill(poly, "Accounts", Side.RELATIONAL)
    # Replication sees the same documents again (change feed): it must write the same row.
    await poly.replicate_until_caught_up("Accounts")
    for _ in range(2):  # every decode reads the same: clean now and on any later run
        report = await poly.verify("Accounts", settle_s=0)
        assert report.clean, report
    row = await poly.raw_relational.read("Accounts", "old-003", "old-003")
    assert row["createdAt"].startswith("1970-01-01")  # STORED_DEFAULT_TIME, not "now"
    assert row["subscription"]["id"] == STORED_DEFAULT_ID
    assert row["lastLoginAt"] == row["createdAt"]


async def test_extreme_timestamps_verify_clean_with_the_segment_shortcut(poly: Polyglot) -> None:
    # asyncpg stores datetime.min/max as -infinity/infinity; the checksum must render them.
    await poly.control.set("Accounts", Phase.DUAL_WRITE_COSMOS_READ)
    edge = [{**legacy_account(i), "createdAt": at, "lastLoginAt": at}
            for i, at in enumerate(("0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z"))]
    await put_all(poly.stores.documents, "Accounts", edge)
    await backfill(poly, "Accounts", Side.RELATIONAL)
    report = await poly.verify("Accounts", settle_s=0)
    assert report.clean, report
    assert report.scanned == 2
