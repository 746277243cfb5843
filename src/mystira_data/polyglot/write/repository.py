"""The polyglot repository: routes each container's reads and writes by its live phase.

Write path: validate through the container's codec → bump ``_version`` from the primary's
current version → write the primary (conditional on its ETag, so concurrent writers never
lose an update) → apply to the secondary, version-guarded, inline or queued. The primary's
durable log (change feed / outbox) is what makes a failed secondary write recoverable.

Every write runs inside ``control.writing(container)``, which hands it the phase to route by:
it waits while a switch of the primary is fenced (and fails with `StoreUnavailable` if the
flip does not come in time), so no write runs under a routing another instance has left.
"""

from __future__ import annotations

from typing import Any

from mystira_data import catalog
from mystira_data.domain.codec import codec_for
from mystira_data.errors import ConcurrencyConflict, NotFound
from mystira_data.metrics.workload import WorkloadRecorder
from mystira_data.polyglot.phase.control import PhaseControl
from mystira_data.polyglot.phase.rules import Routing, Side, route_for
from mystira_data.polyglot.ports import EntityStore
from mystira_data.polyglot.write import cascade, split
from mystira_data.polyglot.write.guarded import (
    apply_if_newer,
    batch_apply,
    current,
    version_of,
)
from mystira_data.polyglot.write.secondary import SecondaryWriter
from mystira_data.polyglot.write.shadow import ShadowReader
from mystira_data.query import Page, Query
from mystira_data.relational import check_storable
from mystira_data.types import JsonDoc, PartitionKey

WRITE_ATTEMPTS = 50


class PolyglotRepository:
    """One entry point for game data, whatever phase each container is in."""

    def __init__(
        self,
        documents: EntityStore,
        relational: EntityStore | None,
        control: PhaseControl,
        secondary: SecondaryWriter,
        shadow: ShadowReader | None = None,
        workload: WorkloadRecorder | None = None,
    ) -> None:
        self.stores: dict[Side, EntityStore | None] = {
            Side.DOCUMENT: documents,
            Side.RELATIONAL: relational,
        }
        self.control = control
        self.secondary = secondary
        self.shadow = shadow
        # Told every acknowledged read and write: the evidence of `mystira placement`.
        self.workload = workload or WorkloadRecorder()
        # The repository cascades write through: the outermost one (the cache in front of
        # us, set by the composition root), so cascaded child writes reach the cache too.
        self.door: cascade.PolyglotRepository = self

    async def routing(self, container: str) -> Routing:
        return route_for(container, await self.control.phase(container))

    def store(self, side: Side) -> EntityStore:
        store = self.stores[side]
        if store is None:
            raise NotFound("relational store", "not configured")
        return store

    # -- reads ---------------------------------------------------------------------------
    async def read(self, container: str, id: str, partition_key: PartitionKey) -> JsonDoc:
        route = await self.routing(container)
        answer = await self.store(route.reads).read(container, id, partition_key)
        self.workload.read(container)
        if self._joins(container, route):
            part = await current(self.store(Side.DOCUMENT), container, id, partition_key)
            answer = split.joined(container, answer, part)
        if self.shadow is not None and route.secondary is not None:
            other = route.primary if route.reads is not route.primary else route.secondary
            self.shadow.maybe_check(container, answer, partition_key, self.store(other))
        return answer

    async def query(self, container: str, query: Query, *, continuation: str | None = None) -> Page:
        route = await self.routing(container)
        page = await self.store(route.reads).query(container, query, continuation=continuation)
        if self._joins(container, route) and page.items:
            items = await split.joined_page(container, self.store(Side.DOCUMENT), page.items)
            page = Page(items, page.continuation)
        self.workload.read(container, cross_partition=query.partition_key is None)
        return page

    @staticmethod
    def _joins(container: str, route: Routing) -> bool:
        """A split container read from PostgreSQL: its document part is joined in."""
        return route.reads is Side.RELATIONAL and split.is_split(container)

    async def count(self, container: str, query: Query) -> int:
        route = await self.routing(container)
        found = await self.store(route.reads).count(container, query)
        self.workload.read(container, cross_partition=query.partition_key is None)
        return found

    # -- writes --------------------------------------------------------------------------
    async def create(self, container: str, doc: JsonDoc) -> JsonDoc:
        """Insert a new document; `AlreadyExists` if a live one has that id."""
        body = validated(container, doc)
        async with self.control.writing(container) as phase:
            route = route_for(container, phase)
            primary = self.store(route.primary)
            existing = await current(primary, container, body["id"], pk_of(container, body))
            body["_version"] = version_of(existing) + 1
            stored = await primary.create(container, body)
            self.workload.written(container, body, inserted=True)
            await self._to_secondary(route, container, stored)
        return stored

    async def replace(
        self, container: str, doc: JsonDoc, *, expected_version: int | None = None
    ) -> JsonDoc:
        """Update a live document; with ``expected_version``, only if it is still current."""
        body = validated(container, doc)
        return await self._update(container, body, expected_version, must_exist=True)

    async def upsert(self, container: str, doc: JsonDoc) -> JsonDoc:
        """Create or overwrite (last writer wins, but never loses a concurrent update's bump)."""
        body = validated(container, doc)
        return await self._update(container, body, None, must_exist=False)

    async def delete(
        self,
        container: str,
        id: str,
        partition_key: PartitionKey,
        *,
        expected_version: int | None = None,
    ) -> JsonDoc:
        """Tombstone the document in both stores and cascade to its children (V002 rules)."""
        async with self.control.writing(container) as phase:
            route = route_for(container, phase)
            primary = self.store(route.primary)
            existing = await self._live(primary, container, id, partition_key, expected_version)
            tomb = await primary.delete(
                container, id, partition_key, if_match=existing.get("_etag")
            )
            self.workload.deleted(container)
            await self._to_secondary(route, container, tomb)
        await cascade.after_delete(self.door, container, tomb, _Unjoined(self))
        return tomb

    async def _update(
        self, container: str, body: JsonDoc, expected: int | None, *, must_exist: bool
    ) -> JsonDoc:
        for _ in range(WRITE_ATTEMPTS):
            async with self.control.writing(container) as phase:
                route = route_for(container, phase)
                try:
                    stored = await self._write_primary(route, container, body, expected, must_exist)
                except ConcurrencyConflict:
                    if expected is not None:
                        raise
                    continue
                await self._to_secondary(route, container, stored)
                return stored
        raise ConcurrencyConflict(f"{container}/{body['id']}: too many concurrent writers")

    async def _write_primary(
        self,
        route: Routing,
        container: str,
        body: JsonDoc,
        expected: int | None,
        must_exist: bool,
    ) -> JsonDoc:
        primary = self.store(route.primary)
        pk = pk_of(container, body)
        existing = await current(primary, container, body["id"], pk)
        live = existing is not None and not existing.get("_deleted")
        if must_exist and not live:
            raise NotFound(container, body["id"])
        if expected is not None and version_of(existing) != expected:
            raise ConcurrencyConflict(
                f"{container}/{body['id']} is at v{version_of(existing)}, expected v{expected}"
            )
        new = {**body, "_version": version_of(existing) + 1}
        if existing is None:
            stored = await primary.create(container, new)
        else:
            stored = await primary.upsert(container, new, if_match=existing.get("_etag"))
        self.workload.written(container, new, inserted=not live)  # over a tombstone: an insert
        return stored

    async def _live(
        self, store: EntityStore, container: str, id: str, pk: PartitionKey, expected: int | None
    ) -> JsonDoc:
        existing = await current(store, container, id, pk)
        if existing is None or existing.get("_deleted"):
            raise NotFound(container, id)
        if expected is not None and version_of(existing) != expected:
            raise ConcurrencyConflict(f"{container}/{id} is at v{version_of(existing)}")
        return existing

    async def _to_secondary(self, route: Routing, container: str, doc: JsonDoc) -> None:
        if route.secondary is None:
            return
        target = self.store(route.secondary)
        await self.secondary.write(
            lambda c, d: apply_if_newer(target, c, d),
            container,
            doc,
            route.secondary.value,
            batch_apply(target),
        )


class _Unjoined:
    """The repository's reads without a split container's document part joined in."""

    def __init__(self, repo: PolyglotRepository) -> None:
        self.repo = repo

    async def query(self, container: str, query: Query, *, continuation: str | None = None) -> Page:
        route = await self.repo.routing(container)
        reads = self.repo.store(route.reads)
        return await reads.query(container, query, continuation=continuation)


def validated(container: str, doc: JsonDoc) -> JsonDoc:
    """The document normalised through its model (InvalidDocument names the bad field).

    Also refused: what the relational side could never store (NUL text, overlong ids), in
    every phase, so no store acknowledges a document the other would refuse forever.
    """
    spec = catalog.get(container)
    codec = codec_for(spec.model)
    body = codec.encode(codec.decode(doc))
    check_storable(container, body)
    return body


def pk_of(container: str, doc: JsonDoc) -> Any:
    return doc[catalog.get(container).pk_field]
