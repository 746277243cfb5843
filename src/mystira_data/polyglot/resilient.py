"""A store wrapped so each verb runs through a retry + breaker `Policy`.

The wrapper has the verbs of `EntityStore` and, by mixin, exactly the capabilities
(`KeyedRead`, `GuardedUpsert`, `GuardedPut`, the document port's `JsonPages`) its inner store
declares, so an ``isinstance`` test on the wrapper answers as it would on the store. Each
method looks the inner method up when it is called: tests patch the inner store's methods
after wrapping.
"""

from __future__ import annotations

from functools import cache

from mystira_data.documents.port import JsonPage, JsonPages
from mystira_data.polyglot.ports import EntityStore, GuardedPut, GuardedUpsert, KeyedRead
from mystira_data.query import Page, Query
from mystira_data.resilience import Policy
from mystira_data.types import JsonDoc, PartitionKey

__all__ = ["Resilient", "resilient_store"]


class Resilient:
    """The `EntityStore` verbs of ``inner``, each one call through ``policy``."""

    def __init__(self, inner: EntityStore, policy: Policy) -> None:
        self._inner = inner
        self.policy = policy
        self.name = inner.name

    async def create(self, container: str, doc: JsonDoc) -> JsonDoc:
        return await self.policy.call(lambda: self._inner.create(container, doc))

    async def read(self, container: str, id: str, partition_key: PartitionKey) -> JsonDoc:
        return await self.policy.call(lambda: self._inner.read(container, id, partition_key))

    async def upsert(
        self, container: str, doc: JsonDoc, *, if_match: str | None = None
    ) -> JsonDoc:
        return await self.policy.call(
            lambda: self._inner.upsert(container, doc, if_match=if_match)
        )

    async def replace(
        self, container: str, doc: JsonDoc, *, if_match: str | None = None
    ) -> JsonDoc:
        return await self.policy.call(
            lambda: self._inner.replace(container, doc, if_match=if_match)
        )

    async def delete(
        self, container: str, id: str, partition_key: PartitionKey, *, if_match: str | None = None
    ) -> JsonDoc:
        return await self.policy.call(
            lambda: self._inner.delete(container, id, partition_key, if_match=if_match)
        )

    async def query(
        self, container: str, query: Query, *, continuation: str | None = None
    ) -> Page:
        return await self.policy.call(
            lambda: self._inner.query(container, query, continuation=continuation)
        )

    async def count(self, container: str, query: Query) -> int:
        return await self.policy.call(lambda: self._inner.count(container, query))


class _KeyedRead(Resilient):
    _inner: KeyedRead  # type: ignore[assignment]  # narrowed: only built over a KeyedRead

    async def read_stored(
        self, container: str, id: str, partition_key: PartitionKey
    ) -> JsonDoc | None:
        return await self.policy.call(
            lambda: self._inner.read_stored(container, id, partition_key)
        )


class _GuardedUpsert(Resilient):
    _inner: GuardedUpsert  # type: ignore[assignment]

    async def upsert_if_newer(self, container: str, docs: list[JsonDoc], *, outbox: bool) -> int:
        return await self.policy.call(
            lambda: self._inner.upsert_if_newer(container, docs, outbox=outbox)
        )


class _GuardedPut(Resilient):
    _inner: GuardedPut  # type: ignore[assignment]

    async def put_if_newer(self, container: str, docs: list[JsonDoc]) -> int:
        return await self.policy.call(lambda: self._inner.put_if_newer(container, docs))


class _JsonPages(Resilient):
    _inner: JsonPages  # type: ignore[assignment]

    async def query_json(
        self, container: str, query: Query, *, continuation: str | None = None
    ) -> JsonPage:
        return await self.policy.call(
            lambda: self._inner.query_json(container, query, continuation=continuation)
        )


_CAPABILITIES: tuple[tuple[type, type[Resilient]], ...] = (
    (KeyedRead, _KeyedRead),
    (GuardedUpsert, _GuardedUpsert),
    (GuardedPut, _GuardedPut),
    (JsonPages, _JsonPages),
)


def resilient_store(inner: EntityStore, policy: Policy) -> Resilient:
    """``inner`` behind ``policy``, declaring the same capabilities ``inner`` declares."""
    mixins = tuple(m for port, m in _CAPABILITIES if isinstance(inner, port))
    return _wrapper_class(mixins)(inner, policy)


@cache
def _wrapper_class(mixins: tuple[type[Resilient], ...]) -> type[Resilient]:
    if not mixins:
        return Resilient
    name = "Resilient" + "".join(m.__name__ for m in mixins)
    return type(name, mixins, {})
