"""The native format: documents are stored exactly as our models write them (camelCase)."""

from __future__ import annotations

from mystira_data import catalog
from mystira_data.query import Query
from mystira_data.types import JsonDoc


class NativeFormat:
    """Identity: what the polyglot layer hands over is what the store keeps."""

    name = "native"

    def partition_keys(self) -> dict[str, str]:
        return catalog.partition_keys()

    def decode(self, container: str, stored: JsonDoc, *, lenient: bool = False) -> JsonDoc:
        return stored

    def encode(self, container: str, native: JsonDoc, base: JsonDoc | None = None) -> JsonDoc:
        return native

    def stored_query(self, container: str, query: Query) -> Query:
        return query

    def stored_ids(self, container: str, id: str) -> tuple[str, ...]:
        return (id,)
