"""Who is calling: a role, and for a player the one account it may see."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """Ordered: each role may do what the ones before it may."""

    PLAYER = "player"  # one account's data; content and reference data read-only
    OPERATOR = "operator"  # every container, and the admin API (phases, verify, repair, ...)
    ADMIN = "admin"  # everything, and API key management

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Role.PLAYER: 0, Role.OPERATOR: 1, Role.ADMIN: 2}


@dataclass(frozen=True)
class Principal:
    """An authenticated caller. ``subject``: the key id, or ``oidc:<sub>`` for a token."""

    subject: str
    role: Role
    account_id: str | None = None

    def at_least(self, role: Role) -> bool:
        return self.role.rank >= role.rank

    @property
    def is_player(self) -> bool:
        return self.role is Role.PLAYER
