"""The audit log (``_audit_log``): who did what to which container, why, and on what evidence.

Append-only by construction: this module is the only writer and it only inserts; no code
path updates or deletes a row. Actors are an API key id (``key:<id>``) or ``cli:<user>``.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from mystira_data.relational import tables as t
from mystira_data.relational.store import RelationalStore


class Action:
    """The audited actions (the ``action`` column)."""

    PHASE_MOVE = "phase.move"
    PAUSE = "pause"
    RESUME = "resume"
    THROTTLE = "throttle"  # a control's rate, lag bound, batch size or concurrency changed
    REPAIR = "repair"
    KEY_CREATE = "key.create"
    KEY_REVOKE = "key.revoke"


@dataclass(frozen=True)
class AuditEntry:
    actor: str
    action: str
    container: str | None = None
    reason: str = ""
    forced: bool = False
    detail: dict[str, Any] = field(default_factory=dict)
    evidence: dict[str, Any] | None = None


def cli_actor() -> str:
    """The actor of a CLI command: the operating-system user running it."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (containers)
        return "cli:unknown"


def key_actor(subject: str) -> str:
    """The actor of an API caller: ``key:<key id>``, or an OIDC subject as it is."""
    return subject if ":" in subject else f"key:{subject}"


def insert(entry: AuditEntry) -> sa.Insert:
    """The statement adding ``entry`` (to run inside the transaction of the change itself)."""
    values = {
        "at": datetime.now(UTC),
        "actor": entry.actor,
        "action": entry.action,
        "container": entry.container,
        "reason": entry.reason or None,
        "forced": entry.forced,
        "detail": entry.detail or None,
        "evidence": entry.evidence,
    }
    return sa.insert(t.audit_log).values(**values)


async def append(store: RelationalStore, entry: AuditEntry) -> int:
    """Add one entry; returns its id."""
    async with store.transaction() as conn:
        result = await conn.execute(insert(entry))
        key = result.inserted_primary_key
        return int(key[0]) if key else 0


async def entries(
    store: RelationalStore, container: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """The newest entries first, optionally for one container."""
    a = t.audit_log
    stmt = sa.select(a).order_by(a.c.id.desc()).limit(limit)
    if container is not None:
        stmt = stmt.where(a.c.container == container)
    async with store.reading() as conn:
        return [_json(dict(r._mapping)) for r in await conn.execute(stmt)]


def _json(row: dict[str, Any]) -> dict[str, Any]:
    at = row["at"]
    return {
        "id": row["id"],
        "at": at.isoformat() if isinstance(at, datetime) else at,
        "actor": row["actor"],
        "action": row["action"],
        "container": row["container"],
        "reason": row["reason"],
        "forced": bool(row["forced"]),
        "detail": row["detail"] or {},
        "evidence": row["evidence"],
    }
