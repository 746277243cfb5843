"""JSON Lines export and import of one container (backup, restore, moving environments).

Both go through the polyglot repository, so they follow the container's live phase: export
reads the store the phase reads (PostgreSQL in the Postgres-read phases), import writes the
primary first and the secondary like any other write. Export writes every live document, one
per line, without store-made fields (``_etag``, ``_ts``, …) so the file restores into any
store. Import first checks that the whole file is UTF-8 (so a bad byte never leaves half a
file imported), then validates every line through the container's codec and Cosmos' limits,
upserts the valid ones (idempotent) and reports each rejected line with its number and reason.

Files are in a document format (`documents.formats`): ``native`` (our camelCase JSON) or
``efcore9`` (the C# app's own documents). An ``efcore9`` file imported into an ``efcore9``
store hands each line's stored form to the store, so what did not change is written back as
it was; an export in the store's own format reads the stored documents as they are.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO

from mystira_data import catalog
from mystira_data.documents.formats import Format, FormattedDocumentStore, NativeFormat
from mystira_data.documents.port import check_document
from mystira_data.domain.codec import codec_for
from mystira_data.errors import InvalidDocument, MystiraError, StoreUnavailable
from mystira_data.fields import STORE_MADE
from mystira_data.query import MAX_PAGE_SIZE, Pageable, Query, every
from mystira_data.relational.mapping import check_storable
from mystira_data.types import JsonDoc


class Writer(Protocol):
    async def upsert(self, container: str, doc: JsonDoc) -> JsonDoc: ...


@dataclass
class ImportReport:
    imported: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


def document_spec(container: str) -> catalog.ContainerSpec:
    """The spec of a container that can be exported and imported on its own."""
    try:
        spec = catalog.get(container)
    except KeyError as exc:
        raise InvalidDocument(str(exc.args[0])) from None
    if spec.embedded_in:
        raise InvalidDocument(f"{container} is embedded in {spec.embedded_in}; export that")
    return spec


def portable(doc: dict[str, Any]) -> dict[str, Any]:
    """The document without store-made fields."""
    return {k: v for k, v in doc.items() if k not in STORE_MADE}


Encode = Callable[[JsonDoc], JsonDoc]


async def export_jsonl(
    source: Pageable, container: str, out: TextIO, *, encode: Encode | None = None
) -> int:
    """Write every live document of ``container`` in ``source`` to ``out`` (each through
    ``encode``, the file's format, when given); returns the count."""
    document_spec(container)
    count = 0
    everything = Query(cross_partition=True, page_size=MAX_PAGE_SIZE)
    async for doc in every(source, container, everything):
        body = portable(doc if encode is None else encode(doc))
        out.write(json.dumps(body, ensure_ascii=False, separators=(",", ":")) + "\n")
        count += 1
    return count


def store_format(documents: object) -> Format:
    """The format the opened document store keeps."""
    return documents.format if isinstance(documents, FormattedDocumentStore) else NativeFormat()


def export_source(
    container: str, documents: object, repository: Pageable, *, reads_documents: bool, fmt: Format
) -> tuple[Pageable, Encode | None]:
    """Where an export in ``fmt`` reads and how it encodes: the stored documents as they are
    when the phase reads the document store and it keeps ``fmt``; else the repository's
    native documents, encoded as ``fmt`` writes new ones."""
    if fmt.name == store_format(documents).name:
        if reads_documents and isinstance(documents, FormattedDocumentStore):
            return documents.inner, None
        return repository, None
    if isinstance(fmt, NativeFormat):
        return repository, None
    return repository, lambda doc: fmt.encode(container, doc)


def check_utf8(path: Path) -> None:
    """Refuse ``path`` before anything is imported when a line is not UTF-8."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InvalidDocument(
                    f"{path}:{number}: not UTF-8 (byte {exc.start + 1} of the line); "
                    "nothing was imported"
                ) from None


def read_line(line: str) -> dict[str, Any]:
    """One line's JSON object."""
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InvalidDocument(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(raw, dict):
        raise InvalidDocument("line must hold a JSON object")
    return raw


def parse_line(
    spec: catalog.ContainerSpec, line: str | dict[str, Any], fmt: Format | None = None
) -> dict[str, Any]:
    """Validate one line (in ``fmt``, default native); returns the native document to store
    (codec-normalised, `_version` kept)."""
    raw = read_line(line) if isinstance(line, str) else line
    native = raw if fmt is None else fmt.decode(spec.name, raw)
    codec = codec_for(spec.model)
    doc = codec.encode(codec.decode(native))
    doc["_version"] = _version_of(raw)
    check_document(doc, spec.partition_key)
    check_storable(spec.name, doc)  # the same door as the polyglot repository's
    return doc


def _version_of(raw: dict[str, Any]) -> int:
    version = raw.get("_version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise InvalidDocument("must be a non-negative integer", path="_version")
    return version


async def import_jsonl(
    store: Writer,
    container: str,
    lines: Iterable[str],
    *,
    fmt: Format | None = None,
    originals: FormattedDocumentStore | None = None,
) -> ImportReport:
    """Store every valid line of ``lines`` (in ``fmt``, default native); collect (line
    number, reason) for the rest. ``originals``: the document store keeping ``fmt``, which
    is handed each line's stored form so unchanged fields are written as they were.

    A store that fails mid-way stops the import with `StoreUnavailable` saying how many
    documents were written and the line to resume from (upserts make a re-run harmless).
    """
    spec = document_spec(container)
    report = ImportReport()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = read_line(line)
            doc = parse_line(spec, raw, fmt)
            with _originals(originals, container, raw):
                await store.upsert(container, doc)
        except MystiraError as exc:
            if isinstance(exc, StoreUnavailable):
                raise StoreUnavailable(
                    f"{exc}; imported {report.imported} document(s), resume from line {number}"
                ) from exc
            report.rejected.append((number, str(exc)))
        else:
            report.imported += 1
    return report


def _originals(
    store: FormattedDocumentStore | None, container: str, raw: dict[str, Any]
) -> AbstractContextManager[None]:
    return nullcontext() if store is None else store.originals(container, [raw])
