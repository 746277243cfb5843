"""The writer mark: how a document in the change feed tells who wrote it.

Every document this platform writes to the document store carries ``_writer`` (`WRITER`):
a kind and a signature of the document's content. Another writer of the same container (the
C# app) either drops the field (EF Core rebuilds documents it did not load) or keeps it while
changing the content (a tracked update patches the raw document), which breaks the signature.
So a document whose mark is missing or does not match its content was written by someone
else: it is *foreign*. The one case the mark cannot see is a foreign write of exactly the
content we wrote last, which changes nothing worth seeing.

Kinds: ``ours`` (a write of the polyglot layer) and ``adopted`` (a foreign write that
replication wrote back with a version; see `store_order`). The foreign-writers guard counts
adopted documents as foreign: the adoption is the trace of a foreign write.

The signature covers the content only (`NOT_CONTENT` and `VERSIONING` aside), so a store's
tombstone of a document we wrote (same content, new version, ``_deleted``) stays ours.
"""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum

from mystira_data.fields import NOT_CONTENT, VERSIONING, WRITER
from mystira_data.types import JsonDoc

_LEFT_OUT = NOT_CONTENT | VERSIONING
_PREFIX = "mystira"


class Writer(StrEnum):
    OURS = "ours"
    ADOPTED = "adopted"
    FOREIGN = "foreign"


def signature(doc: JsonDoc) -> str:
    """A short digest of ``doc``'s content (sorted compact JSON, system fields left out)."""
    content = {k: v for k, v in doc.items() if k not in _LEFT_OUT}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def marked(doc: JsonDoc, kind: Writer = Writer.OURS) -> JsonDoc:
    """``doc`` with our mark of ``kind`` (a new dict; ``doc`` is left alone)."""
    return {**doc, WRITER: f"{_PREFIX}:{kind.value}:{signature(doc)}"}


def writer_of(doc: JsonDoc) -> Writer:
    """Who wrote ``doc``: us, us adopting a foreign write, or someone else."""
    mark = doc.get(WRITER)
    if not isinstance(mark, str):
        return Writer.FOREIGN
    prefix, _, rest = mark.partition(":")
    kind, _, sig = rest.partition(":")
    if prefix != _PREFIX or kind not in (Writer.OURS, Writer.ADOPTED) or sig != signature(doc):
        return Writer.FOREIGN
    return Writer(kind)
