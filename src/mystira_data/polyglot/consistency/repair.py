"""Repair: rewrite the secondary's differing documents from the primary.

Missing or older documents are applied version-guarded; a secondary copy that is newer or
equal in version but different (or exists only in the secondary) is overwritten with an
ETag-conditional write, because the primary is the truth. Nothing is done in dry-run mode.
A document that cannot be written is recorded in ``failed`` and the rest are still repaired.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mystira_data.errors import ConcurrencyConflict, MystiraError
from mystira_data.polyglot.consistency.verify import Difference, VerifyReport
from mystira_data.polyglot.ports import EntityStore
from mystira_data.polyglot.state import audit_log
from mystira_data.polyglot.state.audit_log import Action, AuditEntry
from mystira_data.polyglot.write.guarded import current, version_of
from mystira_data.polyglot.write.split import is_split, with_part
from mystira_data.types import JsonDoc

if TYPE_CHECKING:
    from mystira_data.polyglot.layer import Polyglot

ATTEMPTS = 5


@dataclass
class RepairResult:
    planned: list[str] = field(default_factory=list)
    repaired: int = 0
    skipped: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (id, why), never fatal

    def as_json(self) -> dict[str, object]:
        return {
            "planned": self.planned,
            "repaired": self.repaired,
            "skipped": self.skipped,
            "failed": [{"id": i, "reason": r} for i, r in self.failed],
        }


async def repair_container(
    poly: Polyglot,
    container: str,
    report: VerifyReport | None = None,
    *,
    dry_run: bool = False,
    actor: str = "internal",
) -> RepairResult:
    """Repair ``container``'s secondary from its primary, by ``report`` or a fresh verify
    (what `mystira repair` and the admin API run); a repair that ran is audited."""
    report = report or await poly.verify(container, settle_s=0)
    primary, secondary = await poly.pair(container)
    result = await repair(container, primary, secondary, report, dry_run=dry_run)
    if not dry_run:
        detail = {"differences": len(report.differences), **result.as_json()}
        detail["planned"] = len(result.planned)  # counts in the log; ids stay in the report
        entry = AuditEntry(actor, Action.REPAIR, container, detail=detail)
        await audit_log.append(poly.raw_relational, entry)
    return result


async def repair(
    container: str,
    primary: EntityStore,
    secondary: EntityStore,
    report: VerifyReport,
    *,
    dry_run: bool = False,
) -> RepairResult:
    result = RepairResult()
    for diff in report.differences:
        result.planned.append(f"{diff.kind} {diff.id}")
        if dry_run:
            continue
        try:
            repaired = await _repair_one(container, primary, secondary, diff)
        except MystiraError as exc:
            # One document the secondary refuses must not leave the drift after it unrepaired.
            result.failed.append((diff.id, f"{type(exc).__name__}: {exc}"))
            continue
        if repaired:
            result.repaired += 1
        else:
            result.skipped += 1
    return result


async def _repair_one(
    container: str, primary: EntityStore, secondary: EntityStore, diff: Difference
) -> bool:
    for _ in range(ATTEMPTS):
        truth = await current(primary, container, diff.id, diff.partition_key)
        copy = await current(secondary, container, diff.id, diff.partition_key)
        try:
            return await _overwrite(container, secondary, truth, copy, diff)
        except ConcurrencyConflict:
            continue  # a live write moved one side meanwhile: look again
    return False


async def _overwrite(
    container: str,
    secondary: EntityStore,
    truth: JsonDoc | None,
    copy: JsonDoc | None,
    diff: Difference,
) -> bool:
    if truth is None and copy is not None:
        # Only in the secondary: tombstone it above its own version so the removal replicates.
        await secondary.delete(container, diff.id, diff.partition_key, if_match=copy.get("_etag"))
        return True
    if truth is None:
        return False
    if is_split(container):
        truth = with_part(container, truth, copy)  # a core from PostgreSQL keeps its part
    body = {k: v for k, v in truth.items() if k not in ("_etag", "_ts")}
    body["_version"] = max(version_of(truth), version_of(copy))
    if copy is None:
        await secondary.create(container, body)
    else:
        await secondary.upsert(container, body, if_match=copy.get("_etag"))
    return True
