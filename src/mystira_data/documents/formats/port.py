"""What a document format does at the store boundary (`FormattedDocumentStore` calls it)."""

from __future__ import annotations

from typing import Any, Protocol

from mystira_data.query import Query

Document = dict[str, Any]


class Format(Protocol):
    """Native (our camelCase model JSON) ↔ stored documents, for one stored shape."""

    name: str

    def partition_keys(self) -> dict[str, str]:
        """Container → partition-key path of the stored documents."""

    def decode(self, container: str, stored: Document, *, lenient: bool = False) -> Document:
        """The native view of a stored document. `InvalidDocument` names the stored field
        that cannot be read; ``lenient`` keeps such a field's raw value instead (batch reads:
        the model then refuses that one document, and only it is quarantined)."""

    def encode(self, container: str, native: Document, base: Document | None = None) -> Document:
        """The stored form of a native document; ``base`` is the stored document it replaces,
        whose unchanged fields are kept as they are."""

    def stored_query(self, container: str, query: Query) -> Query:
        """``query`` with native field paths and values in the stored form."""

    def stored_ids(self, container: str, id: str) -> tuple[str, ...]:
        """The stored ids a native id may have, in the order to try (older shapes)."""
