"""Document shapes and keys for the Cosmos store: what is sent, what callers get back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mystira_data.documents.port import check_id
from mystira_data.errors import InvalidDocument, PartitionKeyMismatch
from mystira_data.fields import STORE_MADE
from mystira_data.query import Query
from mystira_data.types import JsonDoc, PartitionKey

# Cosmos bookkeeping that callers never see; `_etag` and `_ts` stay, as in every store.
_HIDDEN = frozenset({"_rid", "_self", "_attachments", "_lsn"})


def sdk_scope(query: Query) -> dict[str, Any]:
    """SDK keyword arguments: the partition key, or nothing (a cross-partition query)."""
    return {} if query.partition_key is None else {"partition_key": query.partition_key}


def check_doc_key(id: str, partition_key: PartitionKey) -> None:
    if not isinstance(id, str) or not id:
        raise InvalidDocument("id must be a non-empty string", path="id")
    check_id(id)
    if partition_key is None or not isinstance(partition_key, str | int | float | bool):
        raise PartitionKeyMismatch(f"partition key value must be a scalar, got {partition_key!r}")


def is_tombstone(doc: JsonDoc) -> bool:
    return doc.get("_deleted") is True


def next_version(version: Any) -> int:
    """Old ``_version`` + 1, a missing (or non-integer) version counting as 0."""
    if isinstance(version, int) and not isinstance(version, bool):
        return version + 1
    return 1


def to_cosmos(doc: JsonDoc) -> JsonDoc:
    """What to send: the caller's fields without the ones the store makes."""
    return {k: v for k, v in doc.items() if k not in STORE_MADE}


def from_cosmos(raw: Mapping[str, Any]) -> JsonDoc:
    """A plain dict without Cosmos bookkeeping (the SDK returns a dict subclass)."""
    return {k: v for k, v in raw.items() if k not in _HIDDEN}
