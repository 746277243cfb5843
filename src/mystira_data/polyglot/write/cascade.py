"""V002's foreign-key rules, applied on the document side too so both stores stay equal.

In PostgreSQL, deleting an account cascades to its game sessions and deleting a session sets
its scores' ``game_session_id`` to NULL. Our deletes are tombstones (so they replicate), which
fire no SQL cascade; the repository therefore applies the same rules itself, through its own
write path, so each child change is versioned and replicated like any other write.
"""

from __future__ import annotations

from typing import Any, Protocol

from mystira_data.documents.port import Document
from mystira_data.errors import ConcurrencyConflict, NotFound
from mystira_data.query import Filter, Op, Pageable, Query, every


class PolyglotRepository(Pageable, Protocol):
    """What the rules need of the repository: its own write path (no import of it here)."""

    async def delete(self, container: str, id: str, partition_key: Any) -> Document: ...

    async def replace(self, container: str, doc: Document) -> Document: ...


async def after_delete(repo: PolyglotRepository, container: str, tomb: Document) -> None:
    """Apply the child rules of a deleted parent."""
    if container == "Accounts":
        await _delete_sessions_of(repo, tomb["id"])
    elif container == "GameSessions":
        await _detach_scores_of(repo, tomb["id"])


async def _children(repo: PolyglotRepository, container: str, query: Query) -> list[Document]:
    return [doc async for doc in every(repo, container, query)]


async def _delete_sessions_of(repo: PolyglotRepository, account_id: str) -> None:
    q = Query(filters=(Filter("accountId", Op.EQ, account_id),), partition_key=account_id)
    for session in await _children(repo, "GameSessions", q):
        try:
            await repo.delete("GameSessions", session["id"], account_id)
        except NotFound:
            continue  # deleted meanwhile: the rule already holds


async def _detach_scores_of(repo: PolyglotRepository, session_id: str) -> None:
    q = Query(filters=(Filter("gameSessionId", Op.EQ, session_id),), cross_partition=True)
    for score in await _children(repo, "PlayerScenarioScores", q):
        detached = {k: v for k, v in score.items() if not k.startswith("_")}
        detached["gameSessionId"] = None
        try:
            await repo.replace("PlayerScenarioScores", detached)
        except (NotFound, ConcurrencyConflict):
            continue
