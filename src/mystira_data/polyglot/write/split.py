"""Split containers (`catalog.SplitSpec`): one logical document from two parts.

The relational store holds a split container's core (its rows); the document store holds the
whole document in every phase, and is the only home of the document part (every field
outside the core). Callers always see one document:

* reads that the phase sends to PostgreSQL join the core row with the document part
  (`joined`): the core, its version and ETag from the row, everything else from the
  document store (its defaults when that document is missing or a tombstone);
* a write of a core (a repair or backfill into the document store, whose source is the
  relational core) keeps the document part already there (`with_part`, `apply_core`).
"""

from __future__ import annotations

from collections.abc import Sequence

from mystira_data import catalog
from mystira_data.domain.base import stored_defaults
from mystira_data.domain.codec import codec_for
from mystira_data.polyglot.ports import EntityStore
from mystira_data.polyglot.write.guarded import write_if_newer
from mystira_data.query import Filter, Op, Query, every
from mystira_data.types import JsonDoc

__all__ = ["apply_core", "core_of", "is_split", "joined", "joined_page", "with_part"]

_SYSTEM_KEPT = ("_version", "_etag", "_deleted")
_JOIN_BATCH = 500  # ids per document-store query when joining a page


def is_split(container: str) -> bool:
    return catalog.get(container).is_split


def _relational_fields(container: str) -> frozenset[str]:
    split = catalog.get(container).split
    assert split is not None
    return split.relational_fields


def core_of(container: str, doc: JsonDoc) -> JsonDoc:
    """``doc`` reduced to its core (and system fields): what the relational side holds."""
    keep = _relational_fields(container)
    return {k: v for k, v in doc.items() if k in keep or k.startswith("_")}


def with_part(container: str, doc: JsonDoc, part: JsonDoc | None) -> JsonDoc:
    """``doc`` completed by the document part of ``part`` (a stored document): fields of
    ``doc`` win, so a whole document comes back as it is and a core gains its part."""
    if part is None or part.get("_deleted"):
        return dict(doc)
    keep = _relational_fields(container)
    base = {k: v for k, v in part.items() if k not in keep and not k.startswith("_")}
    return {**base, **doc}


def joined(container: str, core: JsonDoc, part: JsonDoc | None) -> JsonDoc:
    """The logical document of a core row and its document part, canonical, with the
    row's version and ETag."""
    body = with_part(container, core_of(container, core), part)
    codec = codec_for(catalog.get(container).model)
    with stored_defaults():  # a missing document part reads the same every time
        out: JsonDoc = codec.encode(codec.decode(body))
    out.update({k: core[k] for k in _SYSTEM_KEPT if k in core})
    return out


async def joined_page(
    container: str, documents: EntityStore, cores: Sequence[JsonDoc]
) -> list[JsonDoc]:
    """`joined` for a page of core rows, their document parts read in a few queries."""
    parts: dict[str, JsonDoc] = {}
    ids = [c["id"] for c in cores]
    for start in range(0, len(ids), _JOIN_BATCH):
        chunk = ids[start : start + _JOIN_BATCH]
        q = Query(
            filters=(Filter("id", Op.IN, chunk),),
            cross_partition=True,
            include_deleted=True,
            page_size=len(chunk),
        )
        async for doc in every(documents, container, q):
            parts[doc["id"]] = doc
    return [joined(container, c, parts.get(c["id"])) for c in cores]


async def apply_core(store: EntityStore, container: str, doc: JsonDoc) -> bool:
    """Version-guarded write of ``doc``'s core into the document store, keeping the
    document part it holds (a tombstone keeps none); False when the store is as new."""
    core = core_of(container, doc)

    def body(existing: JsonDoc | None) -> JsonDoc:
        return core if doc.get("_deleted") else with_part(container, core, existing)

    return await write_if_newer(store, container, doc, body)
