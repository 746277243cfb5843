"""Document formats: the shape documents have in the document store, as a codec at its
boundary. ``native`` is our camelCase model JSON; ``efcore9`` is what the C# app's EF Core 9
Cosmos provider writes (PascalCase, ``$type``, comma-joined lists, JSON text, int enums, …).
One model tree: a format only translates (`FormattedDocumentStore`).
"""

from __future__ import annotations

from mystira_data.documents.formats.efcore9.codec import Efcore9Format
from mystira_data.documents.formats.native import NativeFormat
from mystira_data.documents.formats.port import Format
from mystira_data.documents.formats.store import (
    FormattedDocumentStore,
    GuardedFormattedDocumentStore,
)
from mystira_data.documents.port import DocumentStore

__all__ = [
    "Efcore9Format",
    "Format",
    "FormattedDocumentStore",
    "NativeFormat",
    "format_for",
    "formatted",
]


def format_for(name: str) -> Format:
    """The format named by ``DocumentStore:Format``."""
    if name == "efcore9":
        return Efcore9Format()
    if name == "native":
        return NativeFormat()
    raise ValueError(f"unknown document format {name!r}")


def formatted(store: DocumentStore, format: Format) -> DocumentStore:
    """``store`` seen in native JSON; the store itself when it already keeps native JSON."""
    if isinstance(format, NativeFormat):
        return store
    if hasattr(store, "put_if_newer"):
        return GuardedFormattedDocumentStore(store, format)
    return FormattedDocumentStore(store, format)
