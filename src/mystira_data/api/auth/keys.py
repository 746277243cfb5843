"""API keys: made at random, kept only as a SHA-256 hash, looked up by a non-secret key id.

A key reads ``myk_<key id>_<secret>``: the key id (12 hex characters) names the row and is
safe to show and log; the secret is 32 random bytes. A fast hash is the right one here: the
input is a high-entropy random token, not a password, so there is nothing to brute-force.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from mystira_data.api.auth.roles import Role
from mystira_data.errors import InvalidDocument
from mystira_data.polyglot.state import audit_log
from mystira_data.polyglot.state.audit_log import Action, AuditEntry
from mystira_data.relational import tables as t
from mystira_data.relational.store import RelationalStore

KEY_PREFIX = "myk"
KEY_ID_HEX = 12


@dataclass(frozen=True)
class KeyRecord:
    """One stored key, without its secret (the hash is for comparison only)."""

    key_id: str
    role: Role
    account_id: str | None
    label: str | None
    created_at: datetime
    revoked_at: datetime | None
    key_hash: str = ""

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def matches(self, token: str) -> bool:
        return hmac.compare_digest(self.key_hash, digest(token))

    def as_json(self) -> dict[str, Any]:
        """What `auth list` and the admin API show: never the key or its hash."""
        return {
            "keyId": self.key_id,
            "role": self.role.value,
            "accountId": self.account_id,
            "label": self.label,
            "createdAt": self.created_at.isoformat(),
            "revokedAt": self.revoked_at.isoformat() if self.revoked_at else None,
        }


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """(key id, the whole key)."""
    key_id = secrets.token_hex(KEY_ID_HEX // 2)
    return key_id, f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"


def key_id_of(token: str) -> str | None:
    """The key id inside a key, or None if ``token`` is not shaped like one of ours."""
    prefix, _, rest = token.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != KEY_PREFIX or len(key_id) != KEY_ID_HEX or not secret:
        return None
    return key_id


def check_binding(role: Role, account_id: str | None) -> None:
    """A player key is bound to one account; other roles to none."""
    if role is Role.PLAYER and not account_id:
        raise InvalidDocument("a player key needs the account it may see", path="accountId")
    if role is not Role.PLAYER and account_id:
        raise InvalidDocument(f"a {role.value} key is not bound to an account", path="accountId")


class KeyStore:
    """The ``_api_keys`` table."""

    def __init__(self, store: RelationalStore) -> None:
        self.store = store

    async def create(
        self,
        role: Role,
        account_id: str | None = None,
        label: str | None = None,
        *,
        actor: str = "internal",
    ) -> tuple[KeyRecord, str]:
        """A new key: its record and the key itself (shown once, never stored); audited as
        made by ``actor`` in the same transaction."""
        check_binding(role, account_id)
        key_id, token = new_token()
        now = datetime.now(UTC)
        row = {
            "key_id": key_id,
            "key_hash": digest(token),
            "role": role.value,
            "account_id": account_id,
            "label": label,
            "created_at": now,
        }
        async with self.store.transaction() as conn:
            await conn.execute(sa.insert(t.api_keys).values(**row))
            detail = {"keyId": key_id, "role": role.value, "accountId": account_id}
            entry = AuditEntry(actor, Action.KEY_CREATE, reason=label or "", detail=detail)
            await conn.execute(audit_log.insert(entry))
        return KeyRecord(key_id, role, account_id, label, now, None), token

    async def find(self, key_id: str) -> KeyRecord | None:
        stmt = sa.select(t.api_keys).where(t.api_keys.c.key_id == key_id)
        async with self.store.reading() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return _record(row) if row is not None else None

    async def list(self) -> list[KeyRecord]:
        stmt = sa.select(t.api_keys).order_by(t.api_keys.c.created_at, t.api_keys.c.key_id)
        async with self.store.reading() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [_public(_record(r)) for r in rows]

    async def revoke(self, key_id: str, *, actor: str = "internal") -> bool:
        """Revoke a live key (audited as ``actor``'s); False if there is no such key or it
        was revoked already."""
        k = t.api_keys
        stmt = (
            sa.update(k)
            .where(k.c.key_id == key_id, k.c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )
        async with self.store.transaction() as conn:
            result = await conn.execute(stmt)
            if result.rowcount:
                entry = AuditEntry(actor, Action.KEY_REVOKE, detail={"keyId": key_id})
                await conn.execute(audit_log.insert(entry))
        return bool(result.rowcount)


def _record(row: Any) -> KeyRecord:
    return KeyRecord(
        row["key_id"],
        Role(row["role"]),
        row["account_id"],
        row["label"],
        row["created_at"],
        row["revoked_at"],
        row["key_hash"],
    )


def _public(record: KeyRecord) -> KeyRecord:
    return KeyRecord(
        record.key_id,
        record.role,
        record.account_id,
        record.label,
        record.created_at,
        record.revoked_at,
    )
