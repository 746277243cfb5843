"""JSON Lines export and import of one container (backup, restore, moving environments).

Export writes every live document, one per line, without store-made fields (``_etag``,
``_ts``, …) so the file restores into any store. Import validates every line through the
container's codec and Cosmos' limits, upserts the valid ones (idempotent) and reports each
rejected line with its number and reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TextIO

from mystira_data import catalog
from mystira_data.documents.port import SYSTEM_FIELDS, DocumentStore, check_document
from mystira_data.domain.codec import codec_for
from mystira_data.errors import InvalidDocument, MystiraError
from mystira_data.relational.mapping import check_storable


@dataclass
class ImportReport:
    imported: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


def _document_spec(container: str) -> catalog.ContainerSpec:
    try:
        spec = catalog.get(container)
    except KeyError as exc:
        raise InvalidDocument(str(exc.args[0])) from None
    if spec.embedded_in:
        raise InvalidDocument(f"{container} is embedded in {spec.embedded_in}; export that")
    return spec


def portable(doc: dict[str, Any]) -> dict[str, Any]:
    """The document without store-made fields."""
    return {k: v for k, v in doc.items() if k not in SYSTEM_FIELDS}


async def export_jsonl(store: DocumentStore, container: str, out: TextIO) -> int:
    """Write every live document of ``container`` to ``out``; returns the count."""
    _document_spec(container)
    count = 0
    async for doc in store.read_all(container):
        out.write(json.dumps(portable(doc), ensure_ascii=False, separators=(",", ":")) + "\n")
        count += 1
    return count


def parse_line(spec: catalog.ContainerSpec, line: str) -> dict[str, Any]:
    """Validate one line; returns the document to store (codec-normalised, `_version` kept)."""
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InvalidDocument(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(raw, dict):
        raise InvalidDocument("line must hold a JSON object")
    codec = codec_for(spec.model)
    doc = codec.encode(codec.decode(raw))
    doc["_version"] = _version_of(raw)
    check_document(doc, spec.partition_key)
    check_storable(spec.name, doc)  # the same door as the polyglot repository's
    return doc


def _version_of(raw: dict[str, Any]) -> int:
    version = raw.get("_version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise InvalidDocument("must be a non-negative integer", path="_version")
    return version


async def import_jsonl(store: DocumentStore, container: str, lines: Iterable[str]) -> ImportReport:
    """Store every valid line of ``lines``; collect (line number, reason) for the rest."""
    spec = _document_spec(container)
    report = ImportReport()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            await store.upsert(container, parse_line(spec, line))
        except MystiraError as exc:
            if exc.transient:
                raise
            report.rejected.append((number, str(exc)))
        else:
            report.imported += 1
    return report
