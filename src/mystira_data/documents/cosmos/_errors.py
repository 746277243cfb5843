"""`_cosmos_errors()`: the one place where Cosmos SDK and HTTP errors become ours.

    404                          NotFound (a missing database or container: ConfigError)
    409                          AlreadyExists
    412                          ConcurrencyConflict
    400 partition key problems   PartitionKeyMismatch
    400 otherwise                InvalidDocument, or InvalidQuery for reads that run a query
    413                          InvalidDocument (too large)
    401 / 403                    ConfigError (the key or its permissions)
    429 after the SDK's retries  Throttled (a StoreUnavailable)
    408 / 410 / 449 / 5xx        StoreUnavailable
    connection errors, timeouts  StoreUnavailable
    anything else from the SDK   MystiraError

Every translation is ``raise … from exc``, so the SDK error stays in the traceback but its type
never leaves the adapter.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import aiohttp
from azure.core.exceptions import AzureError, ServiceRequestError, ServiceResponseError
from azure.cosmos.exceptions import CosmosClientTimeoutError, CosmosHttpResponseError

from mystira_data.documents.cosmos._config import CONNECTION_STRING_KEY
from mystira_data.errors import (
    AlreadyExists,
    ConcurrencyConflict,
    ConfigError,
    InvalidDocument,
    InvalidQuery,
    MystiraError,
    NotFound,
    PartitionKeyMismatch,
    StoreUnavailable,
    Throttled,
)

_UNREACHABLE = (
    ServiceRequestError,
    ServiceResponseError,
    CosmosClientTimeoutError,
    aiohttp.ClientError,
    asyncio.TimeoutError,
    ConnectionError,
)
_PARTITION_KEY_MISMATCH = 1001
_OWNER_RESOURCE_NOT_FOUND = 1003  # the database or container itself is missing
_RETRY_AFTER_MS = "x-ms-retry-after-ms"


@contextmanager
def _cosmos_errors(
    container: str = "",
    id: str = "",
    *,
    bad_request: type[InvalidDocument] | type[InvalidQuery] = InvalidDocument,
) -> Iterator[None]:
    """Translate whatever the SDK raises inside the block; ``container``/``id`` name the target."""
    try:
        yield
    except CosmosHttpResponseError as exc:
        raise _from_status(exc, container, id, bad_request) from exc
    except _UNREACHABLE as exc:
        raise StoreUnavailable(f"cosmos unreachable: {type(exc).__name__}: {exc}") from exc
    except AzureError as exc:
        raise MystiraError(f"cosmos: {type(exc).__name__}: {_message(exc)}") from exc


def _from_status(
    exc: CosmosHttpResponseError,
    container: str,
    id: str,
    bad_request: type[InvalidDocument] | type[InvalidQuery],
) -> MystiraError:
    status, message = int(exc.status_code or 0), _message(exc)
    if status == 404:
        return _not_found(exc, container, id)
    if status == 409:
        return AlreadyExists(container, id)
    if status == 412:
        return ConcurrencyConflict(f"{container}/{id}: the etag is stale")
    if status == 400:
        return _bad_request(exc, message, bad_request)
    if status == 413:
        return InvalidDocument(f"too large for Cosmos DB: {message}")
    if status in (401, 403):
        return ConfigError(CONNECTION_STRING_KEY, f"refused by Cosmos DB ({status})")
    if status == 429:
        return Throttled(f"cosmos throttled (429) {container}", retry_after=_retry_after(exc))
    if status in (408, 410, 449) or status >= 500:
        return StoreUnavailable(f"cosmos {status}: {message}")
    return MystiraError(f"cosmos {status}: {message}")


def _not_found(exc: CosmosHttpResponseError, container: str, id: str) -> MystiraError:
    if exc.sub_status == _OWNER_RESOURCE_NOT_FOUND:
        return ConfigError(f"cosmos.{container}", "database or container does not exist")
    return NotFound(container, id)


def _bad_request(
    exc: CosmosHttpResponseError,
    message: str,
    bad_request: type[InvalidDocument] | type[InvalidQuery],
) -> MystiraError:
    lowered = message.lower()
    if exc.sub_status == _PARTITION_KEY_MISMATCH or "partition key" in lowered:
        return PartitionKeyMismatch(message)
    if "too large" in lowered:
        return InvalidDocument(message)
    return bad_request(message)


def _message(exc: AzureError) -> str:
    raw = getattr(exc, "http_error_message", None) or exc.message or type(exc).__name__
    return str(raw).strip().splitlines()[0][:300] if str(raw).strip() else type(exc).__name__


def _retry_after(exc: CosmosHttpResponseError) -> float | None:
    try:
        return float(exc.headers[_RETRY_AFTER_MS]) / 1000
    except (KeyError, TypeError, ValueError):
        return None
