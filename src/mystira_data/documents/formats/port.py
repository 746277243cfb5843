"""What a document format does at the store boundary (`FormattedDocumentStore` calls it)."""

from __future__ import annotations

from typing import Protocol

from mystira_data.query import Query
from mystira_data.types import JsonDoc


class Format(Protocol):
    """Native (our camelCase model JSON) ↔ stored documents, for one stored shape."""

    name: str

    def partition_keys(self) -> dict[str, str]:
        """Container → partition-key path of the stored documents."""

    def decode(self, container: str, stored: JsonDoc, *, lenient: bool = False) -> JsonDoc:
        """The native view of a stored document. `InvalidDocument` names the stored field
        that cannot be read; ``lenient`` keeps such a field's raw value instead (batch reads:
        the model then refuses that one document, and only it is quarantined)."""

    def encode(self, container: str, native: JsonDoc, base: JsonDoc | None = None) -> JsonDoc:
        """The stored form of a native document; ``base`` is the stored document it replaces,
        whose unchanged fields are kept as they are."""

    def stored_query(self, container: str, query: Query) -> Query:
        """``query`` with native field paths and values in the stored form."""

    def stored_ids(self, container: str, id: str) -> tuple[str, ...]:
        """The stored ids a native id may have, in the order to try (older shapes)."""
