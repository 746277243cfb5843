"""Copies of the phase record, so a process starts and routes while the record's store is down.

The record (`phase.record`, kept in the relational store) is the only authority: every move
is a compare-and-set there. Two copies let a process that cannot reach it still route:

* the **mirror**, one document per relational container in the document store's
  ``PolyglotControl`` container: ``{phase, version, unsettled}``;
* the **local copy**, the records this host last read, in a file under the data dir.

Why routing by the mirror is safe. Every move writes the mirror *before* it touches the
record: an "unsettled" copy of the current record (a move may be under way). Only after the
record changed is the mirror set to the settled new record. Mirror documents are ordered by
``2 * version + unsettled``, and a write never replaces a newer one, so a process refreshing
the mirror from an older read can never hide an announced move. A process reading the mirror
therefore either sees a settled phase that no move has left yet, or an unsettled one, and then
holds writes of that container until the record answers (reads go on). A process that
re-reads the mirror every refresh interval sees an announced move no later than one that reads
the record, so the fenced switch's timing (`control`) holds for it too. A move cannot start
while the document store is down (it could not announce itself), which is no loss: a move
catches both stores up anyway.

The local copy only tells reads where to go: a switch may have happened since this host wrote
it, so with only the local copy every relational container's writes are held. A container the
mirror never saw (an install from before the mirror) is held the same way.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mystira_data import catalog
from mystira_data.documents.port import DocumentStore
from mystira_data.errors import (
    AlreadyExists,
    ConcurrencyConflict,
    ConfigError,
    MystiraError,
    NotFound,
    StoreUnavailable,
)
from mystira_data.polyglot.phase.record import PhaseRecord, PhaseStore, Source, Transition
from mystira_data.settings import Phase
from mystira_data.types import JsonDoc

log = logging.getLogger(__name__)

CONTROL = catalog.CONTROL_CONTAINER
LOCAL_FILE = "phase-records.json"
PUT_ATTEMPTS = 5
PRIMARY_RETRY_S = 1.0  # after the record's store failed, read the mirror until then


def order(version: int, unsettled: bool) -> int:
    """The mirror's ordering of copies: a settled record, then the move announced from it."""
    return 2 * version + int(unsettled)


def _relational_names() -> list[str]:
    return [c.name for c in catalog.relational_containers()]


@dataclass(frozen=True)
class Copy:
    """One container's copied record."""

    phase: Phase
    version: int
    unsettled: bool

    @property
    def order(self) -> int:
        return order(self.version, self.unsettled)

    @classmethod
    def of(cls, record: PhaseRecord) -> Copy:
        return cls(record.phase, record.version, record.unsettled)

    def record(self, source: Source, *, held: bool) -> PhaseRecord:
        return PhaseRecord(self.phase, self.version, held=held or self.unsettled, source=source)


class DocumentMirror:
    """The mirror documents in the document store; writes never go back in `order`."""

    def __init__(self, documents: DocumentStore) -> None:
        self.documents = documents

    async def load(self) -> dict[str, Copy]:
        copies: dict[str, Copy] = {}
        try:
            async for doc in self.documents.read_all(CONTROL):
                copies[doc["id"]] = Copy(Phase(doc["phase"]), doc["version"], doc["unsettled"])
        except ConfigError:  # the container was never provisioned: no copies yet
            return {}
        return copies

    async def put(self, container: str, copy: Copy) -> str | None:
        """Store ``copy`` unless a newer one is there; the new ETag, or None if not written."""
        try:
            return await self._put(container, copy)
        except ConfigError:  # not provisioned yet (Cosmos): create it, then once more
            await self.documents.ensure_containers()
            return await self._put(container, copy)

    async def retract(self, container: str, etag: str, copy: Copy) -> None:
        """Put back ``copy`` over our own announcement, only if nobody wrote since."""
        await self.documents.upsert(CONTROL, self._doc(container, copy), if_match=etag)

    async def _put(self, container: str, copy: Copy) -> str | None:
        for _ in range(PUT_ATTEMPTS):  # another process may write between our read and write
            try:
                return await self._put_once(container, copy)
            except (AlreadyExists, ConcurrencyConflict):
                continue
        raise ConcurrencyConflict(f"{CONTROL}/{container}: contended, copy not written")

    async def _put_once(self, container: str, copy: Copy) -> str | None:
        try:
            stored: JsonDoc | None = await self.documents.read(CONTROL, container, container)
        except NotFound:
            stored = None
        if stored is not None and int(stored.get("_version", 0)) >= copy.order:
            return None
        doc = self._doc(container, copy)
        if stored is None:
            written = await self.documents.create(CONTROL, doc)
        else:
            written = await self.documents.upsert(CONTROL, doc, if_match=stored["_etag"])
        return str(written["_etag"])

    @staticmethod
    def _doc(container: str, copy: Copy) -> JsonDoc:
        return {
            "id": container,
            "phase": copy.phase.value,
            "version": copy.version,
            "unsettled": copy.unsettled,
            "_version": copy.order,
        }


@dataclass
class LocalCopy:
    """The records this host last read from the record itself (reads only; see module doc)."""

    path: Path

    def load(self) -> dict[str, Copy] | None:
        try:
            raw: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
            return {c: Copy(Phase(v["phase"]), int(v["version"]), False) for c, v in raw.items()}
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, copies: dict[str, Copy]) -> None:
        body = {c: {"phase": k.phase.value, "version": k.version} for c, k in copies.items()}
        # Per process: workers sharing a data dir would otherwise rename one another's file.
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(body, sort_keys=True), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            log.warning("cannot keep the local copy of the phase records: %s", exc)


@dataclass
class MirroredPhaseStore:
    """A `PhaseStore`: the record when it answers (kept copied), else the mirror, else the
    local copy. ``default`` is the phase of a container without a record (configuration)."""

    primary: PhaseStore
    mirror: DocumentMirror
    local: LocalCopy | None
    default: Callable[[str], Phase]
    clock: Callable[[], float] = time.monotonic
    retry_s: float = PRIMARY_RETRY_S
    _mirrored: dict[str, int] = field(default_factory=dict)  # container → order we know stored
    _local: dict[str, Copy] = field(default_factory=dict)
    _retry_at: float = float("-inf")

    # -- reading -----------------------------------------------------------------------------
    async def load(self) -> dict[str, PhaseRecord]:
        if self.clock() >= self._retry_at:
            try:
                records = await self.primary.load()
            except StoreUnavailable as exc:
                self._retry_at = self.clock() + self.retry_s
                log.warning("phase record unavailable (%s); reading its mirror", exc)
            else:
                await self._copy(records)
                return records
        return await self._load_copies()

    async def _load_copies(self) -> dict[str, PhaseRecord]:
        try:
            copies = await self.mirror.load()
        except StoreUnavailable as exc:
            local = self.local.load() if self.local is not None else None
            if local is None:
                raise StoreUnavailable(
                    f"phase record and its mirror unavailable, no local copy ({exc})"
                ) from exc
            return self._records(local, Source.LOCAL, held=True)
        return self._records(copies, Source.MIRROR, held=False)

    def _records(
        self, copies: dict[str, Copy], source: Source, *, held: bool
    ) -> dict[str, PhaseRecord]:
        records = {}
        for name in _relational_names():
            copy = copies.get(name)
            if copy is None:  # never copied: a record we cannot see may exist
                records[name] = PhaseRecord(self.default(name), held=True, source=source)
            elif copy.version == 0:  # copied as "no record": configuration applies
                records[name] = replace(copy, phase=self.default(name)).record(source, held=held)
            else:
                records[name] = copy.record(source, held=held)
        return records

    async def _copy(self, records: dict[str, PhaseRecord]) -> None:
        """Bring the mirror and the local copy up to ``records`` (best effort)."""
        copies = {
            n: Copy.of(records[n]) if n in records else Copy(self.default(n), 0, False)
            for n in _relational_names()
        }
        for name, copy in copies.items():
            if self._mirrored.get(name) == copy.order:
                continue
            try:
                await self.mirror.put(name, copy)
                self._mirrored[name] = copy.order
            except MystiraError as exc:
                log.warning("%s: cannot update the phase record's mirror: %s", name, exc)
        settled = {n: c for n, c in copies.items() if not c.unsettled}
        if self.local is not None and settled != self._local:
            self.local.save(settled)
            self._local = settled

    async def _recopy(self) -> None:
        try:
            await self._copy(await self.primary.load())
        except StoreUnavailable as exc:
            log.warning("cannot re-read the phase record to copy it: %s", exc)

    # -- moves: announced in the mirror first ------------------------------------------------
    async def _announce(self, container: str, phase: Phase, version: int) -> str | None:
        try:
            etag = await self.mirror.put(container, Copy(phase, version, True))
        except MystiraError as exc:
            raise StoreUnavailable(
                f"{container}: cannot announce the move in the phase record's mirror in the "
                f"document store ({exc}); a phase move needs both stores"
            ) from exc
        self._mirrored.pop(container, None)
        return etag

    async def _settle(self, container: str, etag: str | None, done: bool, was: Copy) -> bool:
        """After a move: copy the new record, or put back our announcement if it lost."""
        if not done and etag is not None:
            try:
                await self.mirror.retract(container, etag, was)
            except MystiraError as exc:
                log.warning("%s: announcement left in the mirror (held): %s", container, exc)
        await self._recopy()
        return done

    async def save(self, transition: Transition, version: int) -> bool:
        was = Copy(transition.from_phase, version, False)
        etag = await self._announce(transition.container, transition.from_phase, version)
        done = await self.primary.save(transition, version)
        return await self._settle(transition.container, etag, done, was)

    async def schedule(
        self,
        container: str,
        current: Phase,
        target: Phase,
        version: int,
        fence_in_s: float,
        expires_in_s: float,
    ) -> bool:
        etag = await self._announce(container, current, version)
        done = await self.primary.schedule(
            container, current, target, version, fence_in_s, expires_in_s
        )
        return await self._settle(container, etag, done, Copy(current, version, False))

    async def flip(self, transition: Transition, version: int) -> bool:
        done = await self.primary.flip(transition, version)  # announced when scheduled
        await self._recopy()
        return done

    async def abandon(self, container: str, version: int, *, expired_only: bool) -> bool:
        done = await self.primary.abandon(container, version, expired_only=expired_only)
        if done:
            await self._recopy()
        return done

    async def history(self, container: str | None = None) -> list[Transition]:
        return await self.primary.history(container)
