"""The Azure Cosmos DB document store (NoSQL API, async SDK ``azure.cosmos.aio``).

One `CosmosClient` per store, opened on first use and closed by `close`. Every SDK call runs
inside `_cosmos_errors` (no SDK exception leaves) and `CosmosStats.track` (RU and retries per
operation, in ``store.stats``).

Deletes are tombstones (see `port`): ``delete`` replaces the document with ``_deleted: true``
and ``_version`` + 1 under the ETag it read, reads and queries hide tombstones, ``purge``
really deletes. Replace and delete read the live document first (a tombstone must look
missing); without a caller's ``if_match`` they write under the ETag just read and start over if
another writer got in between, so no write is lost either way.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from azure.core import MatchConditions
from azure.core.async_paging import AsyncPageIterator
from azure.cosmos.aio import ContainerProxy, CosmosClient, DatabaseProxy
from pydantic import SecretStr

from mystira_data.documents.cosmos import _feed as feed
from mystira_data.documents.cosmos._config import (
    check_endpoint,
    check_key,
    check_partition_keys,
    parse_connection_string,
)
from mystira_data.documents.cosmos._docs import (
    check_doc_key,
    from_cosmos,
    is_tombstone,
    next_version,
    sdk_scope,
    to_cosmos,
)
from mystira_data.documents.cosmos._errors import _cosmos_errors
from mystira_data.documents.cosmos._provision import Provisioned, provision
from mystira_data.documents.cosmos._sql import (
    PageState,
    count_sql,
    decode_token,
    encode_token,
    select_sql,
)
from mystira_data.documents.cosmos._stats import CosmosStats
from mystira_data.documents.port import (
    check_document,
    check_partition,
)
from mystira_data.errors import (
    AlreadyExists,
    ConcurrencyConflict,
    InvalidDocument,
    InvalidQuery,
    NotFound,
    StoreUnavailable,
)
from mystira_data.lifecycle import Opened
from mystira_data.query import ChangeBatch, Page, Query, fingerprint, stream_all
from mystira_data.types import JsonDoc, PartitionKey

_ATTEMPTS = 5  # optimistic read-then-write rounds before giving up under heavy contention


class CosmosDocumentStore(Opened):
    """`DocumentStore` on a Cosmos DB database; ``partition_keys`` maps container → pk path."""

    name = "cosmos"

    def __init__(
        self,
        endpoint: str,
        key: SecretStr | str,
        database: str,
        partition_keys: Mapping[str, str],
        *,
        verify_tls: bool = True,
        tombstone_ttl_s: int | None = None,
    ) -> None:
        self._endpoint = check_endpoint(endpoint, verify_tls=verify_tls)
        self._key = check_key(key)
        self._database_name = database
        self._partition_keys = check_partition_keys(partition_keys)
        self._verify_tls = verify_tls
        # Set, tombstones expire by themselves (the containers' default TTL is -1: per item).
        self._tombstone_ttl_s = tombstone_ttl_s
        self.stats = CosmosStats()
        self._client: CosmosClient | None = None
        self._database: DatabaseProxy | None = None
        self._containers: dict[str, ContainerProxy] = {}
        self._open_lock = asyncio.Lock()

    @classmethod
    def from_connection_string(
        cls,
        conn: str | SecretStr,
        database: str,
        partition_keys: Mapping[str, str],
        **options: Any,
    ) -> CosmosDocumentStore:
        """From ``AccountEndpoint=…;AccountKey=…;`` (the .NET connection-string format)."""
        parsed = parse_connection_string(conn)
        options.setdefault("verify_tls", parsed.verify_tls)
        return cls(parsed.endpoint, parsed.key, database, partition_keys, **options)

    def __repr__(self) -> str:  # the key stays out of reprs, logs and tracebacks
        return f"CosmosDocumentStore(endpoint={self._endpoint!r}, database={self._database_name!r})"

    # -- lifecycle -------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect (reads the account's metadata once); later calls do nothing."""
        async with self._open_lock:
            if self._client is not None:
                return
            client = CosmosClient(
                self._endpoint,
                self._key.get_secret_value(),
                connection_verify=self._verify_tls,
                raw_response_hook=self.stats.on_response,
                user_agent_suffix="mystira-data",
            )
            try:
                with self._operation("open"):
                    await client.__aenter__()  # what `async with` does: session + account read
            except BaseException:
                await client.close()
                raise
            self._client = client
            self._database = client.get_database_client(self._database_name)

    async def close(self) -> None:
        """Idempotent."""
        client, self._client, self._database = self._client, None, None
        self._containers.clear()
        if client is not None:
            await client.close()

    async def ensure_containers(self) -> None:
        await self.provision()

    async def provision(self) -> list[Provisioned]:
        """Create the database and containers if missing; report what was done."""
        await self.open()
        assert self._client is not None
        with self.stats.track("provision"):
            return await provision(self._client, self._database_name, self._partition_keys)

    @contextmanager
    def _operation(
        self,
        op: str,
        container: str = "",
        id: str = "",
        *,
        bad_request: type[InvalidDocument] | type[InvalidQuery] = InvalidDocument,
    ) -> Iterator[None]:
        with self.stats.track(op), _cosmos_errors(container, id, bad_request=bad_request):
            yield

    async def _container(self, name: str) -> ContainerProxy:
        self._pk_path(name)
        if self._database is None:
            await self.open()
        if self._database is None:  # closed concurrently
            raise StoreUnavailable(f"{self!r} is closed")
        proxy = self._containers.get(name)
        if proxy is None:
            proxy = self._containers[name] = self._database.get_container_client(name)
        return proxy

    def _pk_path(self, container: str) -> str:
        try:
            return self._partition_keys[container]
        except KeyError:
            known = ", ".join(sorted(self._partition_keys))
            raise InvalidQuery(f"unknown container {container!r} (known: {known})") from None

    # -- writes ------------------------------------------------------------------------------

    async def create(self, container: str, doc: JsonDoc) -> JsonDoc:
        pk, body = self._checked(container, doc)
        for _ in range(_ATTEMPTS):
            created = await self._try_create(container, body)
            if created is not None:
                return created
            current = await self._read_raw(container, body["id"], pk)
            if current is not None and not is_tombstone(current):
                raise AlreadyExists(container, body["id"])
            if current is None:  # purged since: try a plain create again
                continue
            # A tombstone holds the id: the document is new again, so it takes its place.
            done = await self._try_write("create", container, body, current["_etag"])
            if done is not None:
                return done
        raise ConcurrencyConflict(f"{container}/{body['id']}: create kept racing other writers")

    async def _try_create(self, container: str, body: JsonDoc) -> JsonDoc | None:
        """The created document; None if the id is taken (by a live doc or a tombstone)."""
        proxy = await self._container(container)
        try:
            with self._operation("create", container, body["id"]):
                return from_cosmos(await proxy.create_item(body))
        except AlreadyExists:
            return None

    async def upsert(
        self, container: str, doc: JsonDoc, *, if_match: str | None = None
    ) -> JsonDoc:
        _, body = self._checked(container, doc)
        if if_match is not None:  # a conditional replace of whatever is stored, tombstones too
            done = await self._try_write("upsert", container, body, if_match)
            if done is None:
                raise ConcurrencyConflict(
                    f"{container}/{body['id']}: nothing stored has etag {if_match}"
                )
            return done
        proxy = await self._container(container)
        with self._operation("upsert", container, body["id"]):
            return from_cosmos(await proxy.upsert_item(body))

    async def replace(
        self, container: str, doc: JsonDoc, *, if_match: str | None = None
    ) -> JsonDoc:
        pk, body = self._checked(container, doc)
        return await self._guarded("replace", container, body["id"], pk, if_match, lambda _: body)

    async def delete(
        self, container: str, id: str, partition_key: PartitionKey, *, if_match: str | None = None
    ) -> JsonDoc:
        check_doc_key(id, partition_key)
        pk_path = self._pk_path(container)

        def tombstone(current: JsonDoc) -> JsonDoc:
            dead = {**to_cosmos(current), "_deleted": True}
            dead["_version"] = next_version(current.get("_version"))
            if self._tombstone_ttl_s is not None:
                dead["ttl"] = self._tombstone_ttl_s
            check_partition(dead, pk_path, partition_key)
            return dead

        return await self._guarded("delete", container, id, partition_key, if_match, tombstone)

    async def purge(self, container: str, id: str, partition_key: PartitionKey) -> None:
        """Idempotent: purging a missing document is not an error (sweepers may race)."""
        check_doc_key(id, partition_key)
        proxy = await self._container(container)
        try:
            with self._operation("purge", container, id):
                await proxy.delete_item(id, partition_key=partition_key)
        except NotFound:
            return

    async def _guarded(
        self,
        op: str,
        container: str,
        id: str,
        pk: PartitionKey,
        if_match: str | None,
        make: Callable[[JsonDoc], JsonDoc],
    ) -> JsonDoc:
        """Write ``make(live doc)`` under the live doc's ETag (the caller's, if given)."""
        for _ in range(_ATTEMPTS):
            current = await self._read_raw(container, id, pk)
            if current is None or is_tombstone(current):
                raise NotFound(container, id)
            if if_match is not None and if_match != current.get("_etag"):
                raise ConcurrencyConflict(f"{container}/{id}: etag {if_match} is stale")
            done = await self._try_write(op, container, make(current), current["_etag"])
            if done is not None:
                return done
            if if_match is not None:  # the caller's version was overtaken meanwhile
                raise ConcurrencyConflict(f"{container}/{id}: etag {if_match} is stale")
        raise ConcurrencyConflict(f"{container}/{id}: kept changing during the write")

    async def _try_write(
        self, op: str, container: str, body: JsonDoc, etag: str
    ) -> JsonDoc | None:
        """Replace the stored doc (live or tombstone) by ``body`` if its ETag is still ``etag``;
        None if it changed or is gone."""
        proxy = await self._container(container)
        try:
            with self._operation(op, container, body["id"]):
                stored = await proxy.replace_item(
                    body["id"],
                    body,
                    etag=etag,
                    match_condition=MatchConditions.IfNotModified,
                )
        except (ConcurrencyConflict, NotFound):  # changed or purged since we read it
            return None
        return from_cosmos(stored)

    def _checked(self, container: str, doc: JsonDoc) -> tuple[Any, JsonDoc]:
        """(partition-key value, body to send) after every check Cosmos itself would make."""
        pk = check_document(doc, self._pk_path(container))
        body = to_cosmos(doc)
        try:  # the SDK would send NaN/Infinity, which is not JSON and which Cosmos refuses
            json.dumps(body, allow_nan=False)
        except ValueError as exc:
            raise InvalidDocument(f"not valid JSON: {exc}") from exc
        return pk, body

    # -- reads -------------------------------------------------------------------------------

    async def read(self, container: str, id: str, partition_key: PartitionKey) -> JsonDoc:
        check_doc_key(id, partition_key)
        stored = await self._read_raw(container, id, partition_key)
        if stored is None or is_tombstone(stored):
            raise NotFound(container, id)
        return stored

    async def _read_raw(self, container: str, id: str, pk: PartitionKey) -> JsonDoc | None:
        """The stored document, tombstones included; None if there is none."""
        proxy = await self._container(container)
        try:
            with self._operation("read", container, id):
                return from_cosmos(await proxy.read_item(id, partition_key=pk))
        except NotFound:
            return None

    async def query(self, container: str, query: Query, *, continuation: str | None = None) -> Page:
        self._pk_path(container)
        query.require_scope()
        fp = fingerprint(container, query)
        state = decode_token(continuation, fp)
        remaining = None if query.limit is None else query.limit - state.returned
        if remaining is not None and remaining <= 0:
            return Page([], None)
        size = query.page_size if remaining is None else min(query.page_size, remaining)
        items, sdk_token = await self._page(container, query, size, state.sdk_token)
        returned = state.returned + len(items)
        if sdk_token is None or (query.limit is not None and returned >= query.limit):
            return Page(items, None)
        return Page(items, encode_token(fp, PageState(sdk_token, returned)))

    async def _page(
        self, container: str, query: Query, size: int, sdk_token: str | None
    ) -> tuple[list[JsonDoc], str | None]:
        sql = select_sql(query)
        proxy = await self._container(container)
        with self._operation("query", container, bad_request=InvalidQuery):
            pages: AsyncPageIterator[JsonDoc] = proxy.query_items(  # type: ignore[assignment]
                sql.text, parameters=sql.parameters, max_item_count=size, **sdk_scope(query)
            ).by_page(sdk_token)
            async for page in pages:
                items = [from_cosmos(item) async for item in page]
                # Cross-partition reads may yield empty pages mid-way: keep going.
                if items or pages.continuation_token is None:
                    return items, pages.continuation_token
        return [], None

    async def count(self, container: str, query: Query) -> int:
        self._pk_path(container)
        query.require_scope()
        sql = count_sql(query)
        proxy = await self._container(container)
        total = 0
        with self._operation("count", container, bad_request=InvalidQuery):
            # Partial counts (one per partition) may arrive separately: add them all up.
            async for value in proxy.query_items(
                sql.text, parameters=sql.parameters, **sdk_scope(query)
            ):
                total += int(value)  # type: ignore[call-overload]
        return total

    def read_all(
        self, container: str, *, include_deleted: bool = False
    ) -> AsyncIterator[JsonDoc]:
        return stream_all(self, container, include_deleted=include_deleted)

    # -- change feed -------------------------------------------------------------------------

    async def feed_ranges(self, container: str) -> list[str]:
        proxy = await self._container(container)
        with self._operation("feed_ranges", container):
            return [feed.feed_range_id(r) async for r in proxy.read_feed_ranges()]

    async def changes(
        self,
        container: str,
        feed_range: str,
        checkpoint: str | None,
        *,
        max_items: int = 100,
    ) -> ChangeBatch:
        if max_items < 1:
            raise InvalidQuery("max_items must be >= 1")
        scope = feed.parse_feed_range(feed_range)
        feed.check_checkpoint(checkpoint)
        proxy = await self._container(container)
        with self._operation("changes", container, bad_request=InvalidQuery):
            items, next_checkpoint = await feed.read_changes(proxy, scope, checkpoint, max_items)
        return ChangeBatch([from_cosmos(item) for item in items], next_checkpoint)
