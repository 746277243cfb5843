"""Console sessions: an operator's API key exchanged for a random token in an HttpOnly cookie.

Only the token's SHA-256 hash is stored (``_console_sessions``), beside the key id it stands
for and the session's CSRF token, so any worker or host of `mystira serve` knows a session.
The key is looked up again on every request (through the authenticator's one-second cache):
a key revoked or demoted ends its sessions at once, wherever they were opened.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from fastapi import Request

from mystira_data.api.auth.keys import digest
from mystira_data.api.auth.roles import Principal, Role
from mystira_data.api.problems import forbidden, unauthorized
from mystira_data.api.state import ApiState
from mystira_data.relational import tables as t
from mystira_data.relational.store import RelationalStore

__all__ = [
    "COOKIE",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "SAFE_METHODS",
    "ConsoleSession",
    "SessionStore",
    "check_csrf",
    "console_role",
    "session_of",
]

COOKIE = "mystira_console"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf"  # the hidden form field of the console's own forms (logout)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# A working day: long enough not to interrupt a migration, short enough to expire overnight.
SESSION_LIFETIME = timedelta(hours=12)


@dataclass(frozen=True)
class ConsoleSession:
    """A live session: the caller it stands for and its CSRF token."""

    principal: Principal
    csrf_token: str


class SessionStore:
    """The ``_console_sessions`` table."""

    def __init__(self, store: RelationalStore) -> None:
        self.store = store

    async def open(self, key_id: str, now: datetime | None = None) -> tuple[str, str]:
        """A new session for ``key_id``: (cookie token, CSRF token); drops expired ones."""
        now = now or datetime.now(UTC)
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        s = t.console_sessions
        row = {
            "token_hash": digest(token),
            "key_id": key_id,
            "csrf_token": csrf,
            "created_at": now,
            "expires_at": now + SESSION_LIFETIME,
        }
        async with self.store.transaction() as conn:
            await conn.execute(sa.delete(s).where(s.c.expires_at < now))
            await conn.execute(sa.insert(s).values(**row))
        return token, csrf

    async def find(self, token: str) -> tuple[str, str] | None:
        """(key id, CSRF token) of a live session, or None."""
        s = t.console_sessions
        stmt = sa.select(s.c.key_id, s.c.csrf_token).where(
            s.c.token_hash == digest(token), s.c.expires_at > datetime.now(UTC)
        )
        async with self.store.reading() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else (str(row[0]), str(row[1]))

    async def close(self, token: str) -> None:
        s = t.console_sessions
        async with self.store.transaction() as conn:
            await conn.execute(sa.delete(s).where(s.c.token_hash == digest(token)))


def console_role(role: Role) -> bool:
    """The console is for operators and admins (a player key may not sign in)."""
    return role.rank >= Role.OPERATOR.rank


async def session_of(request: Request, state: ApiState) -> ConsoleSession | None:
    """The request's console session, or None without a cookie; 401 when the cookie names no
    live session or its key was revoked (or no longer has an operator role)."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    found = await SessionStore(state.poly.raw_relational).find(token)
    if found is None:
        raise unauthorized("the console session ended; sign in again")
    key_id, csrf = found
    record = await state.auth.record(key_id)
    if record is None or not record.active or not console_role(record.role):
        raise unauthorized("the key of this console session was revoked; sign in again")
    principal = Principal(record.key_id, record.role, record.account_id)
    return ConsoleSession(principal, csrf)


def check_csrf(session: ConsoleSession, sent: str | None) -> None:
    """403 unless ``sent`` is the session's CSRF token (cookie-borne unsafe requests)."""
    # As bytes: compare_digest refuses a str with non-ASCII characters (a header may have).
    if not sent or not hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
        raise forbidden(f"a console request that changes state needs the {CSRF_HEADER} header")
