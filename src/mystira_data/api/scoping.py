"""What a player key may see: its own account's data, and the shared content read-only.

These are children's records: for a player, anything outside its account answers exactly
as a missing document would (404 with the same text), so not even existence leaks. Lists
are filtered to the account in the query itself (server-side), never after the fact.

    owned     Accounts (its own), UserProfiles, GameSessions (by ``accountId``),
              PlayerScenarioScores (through the score's profile)
    shared    content, reference, badges and media areas: read for every role,
              written by operators and admins
    private   everything else (analytics): operators and admins only
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from mystira_data import catalog
from mystira_data.api.auth.roles import Principal
from mystira_data.errors import NotFound
from mystira_data.polyglot.layer import GameData
from mystira_data.query import Filter, Op, Query, every
from mystira_data.types import JsonDoc


class Access(StrEnum):
    OWNED = "owned"
    SHARED = "shared"
    PRIVATE = "private"


# The field of each owned container that names its account; scores go through the profile.
ACCOUNT_FIELD = {"Accounts": "id", "UserProfiles": "accountId", "GameSessions": "accountId"}
PROFILE_LINKED = {"PlayerScenarioScores": "profileId"}
SHARED_AREAS = frozenset({"content", "reference", "badges", "media"})
PROFILES = "UserProfiles"
# An account with more profiles than this is not a family: its score lists are refused.
MAX_PROFILES = 200


def access(container: str) -> Access:
    if container in ACCOUNT_FIELD or container in PROFILE_LINKED:
        return Access.OWNED
    if catalog.get(container).area in SHARED_AREAS:
        return Access.SHARED
    return Access.PRIVATE


class PlayerScope:
    """The checks for one player's request (``principal.account_id`` is its account)."""

    def __init__(self, repo: GameData, principal: Principal) -> None:
        assert principal.account_id is not None
        self.repo = repo
        self.account = principal.account_id

    async def owns(self, container: str, doc: JsonDoc) -> bool:
        field = ACCOUNT_FIELD.get(container)
        if field is not None:
            return bool(doc.get(field) == self.account)
        link = PROFILE_LINKED.get(container)
        if link is None:
            return False
        return await self._owns_profile(doc.get(link))

    async def _owns_profile(self, profile_id: Any) -> bool:
        if not isinstance(profile_id, str) or not profile_id:
            return False
        try:
            profile = await self.repo.read(PROFILES, profile_id, profile_id)
        except NotFound:
            return False
        return bool(profile.get("accountId") == self.account)

    def partition_of(self, container: str) -> str | None:
        """The one partition holding this account's documents, where one does."""
        field = ACCOUNT_FIELD.get(container)
        return self.account if field == catalog.get(container).pk_field else None

    async def narrow(self, container: str, query: Query) -> Query | None:
        """``query`` limited to this account's documents (by filter or partition); None when
        the account can own none (no profiles yet)."""
        field = ACCOUNT_FIELD.get(container)
        if field is not None:
            scoped = query.where(field, Op.EQ, self.account)
            return _in_partition(scoped, self.account) if self.partition_of(container) else scoped
        profiles = await self.profile_ids()
        return query.where(PROFILE_LINKED[container], Op.IN, profiles) if profiles else None

    async def profile_ids(self) -> list[str]:
        q = Query(
            filters=(Filter("accountId", Op.EQ, self.account),),
            cross_partition=True,
            page_size=MAX_PROFILES,
        )
        found = [doc["id"] async for doc in every(self.repo, PROFILES, q)]
        return found[:MAX_PROFILES]

    def not_found(self, container: str, id: str) -> NotFound:
        """The answer for a document outside the account: the same as for a missing one."""
        return NotFound(container, id)


def _in_partition(query: Query, pk: str) -> Query:
    from dataclasses import replace

    return replace(query, partition_key=pk, cross_partition=False)
