"""Concurrent UserProfiles writers and the guarded phase moves the walk tests share."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from mystira_data.errors import MystiraError, NotFound, PhaseTransitionRefused
from mystira_data.polyglot.layer import Polyglot
from mystira_data.polyglot.phase.rules import needs_proof
from mystira_data.polyglot.write.guarded import current
from mystira_data.settings import Phase

from .profiles import badge, profile

P = "UserProfiles"
CONTAINERS = ("Accounts", P)


@dataclass
class Writers:
    """A few writers, each rewriting its own profiles (badges, core and document part),
    now and then deleting and recreating one; the last acknowledged write of each id kept."""

    poly: Polyglot
    count: int = 3
    profiles: int = 4
    acknowledged: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    acks: int = 0
    running: asyncio.Event = field(default_factory=asyncio.Event)
    _stop: bool = False
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        for w in range(self.count):
            await self.poly.repository.upsert("Accounts", {"id": f"acc{w}", "email": f"{w}@x.org"})
        self.running.set()
        self._tasks = [asyncio.create_task(self._write(w)) for w in range(self.count)]

    async def stop(self) -> None:
        self._stop = True
        self.running.set()
        await asyncio.gather(*self._tasks)

    async def _write(self, w: int) -> None:
        rng = random.Random(w)
        step = 0
        while not self._stop:
            await self.running.wait()
            step += 1
            id = f"w{w}-p{rng.randrange(self.profiles)}"
            try:
                await self._one(rng, w, id, step)
            except MystiraError as exc:
                self.failures.append(f"{id}: {type(exc).__name__}: {exc}")
            await asyncio.sleep(0.01)

    async def _one(self, rng: random.Random, w: int, id: str, step: int) -> None:
        repo = self.poly.repository
        if rng.random() < 0.1 and id in self.acknowledged:
            try:
                tomb = await repo.delete(P, id, id)
            except NotFound:
                return
            self.acknowledged[id] = {"_version": tomb["_version"], "_deleted": True}
            self.acks += 1
            return
        badges = [badge(id, n, badgeName=f"b{step}") for n in range(6) if rng.random() < 0.5]
        doc = profile(id, f"acc{w}", 0, bio=f"bio {step}", name=f"name {step}")
        doc["earnedBadges"] = badges
        written = await repo.upsert(P, doc)
        self.acknowledged[id] = written
        self.acks += 1


async def catch_up(poly: Polyglot) -> None:
    await poly.router.secondary.drain()
    for _ in range(50):
        moved = sum([await poly.replicate_once(c) for c in CONTAINERS])
        if moved == 0:
            return
    raise AssertionError("replication did not converge")


@contextlib.asynccontextmanager
async def paused(writers: Writers) -> AsyncIterator[None]:
    """No new writes start meanwhile (those under way finish)."""
    writers.running.clear()
    try:
        yield
    finally:
        writers.running.set()


async def move(poly: Polyglot, writers: Writers, container: str, phase: Phase) -> None:
    """The guarded path: catch up, verify when the step needs proof, move (retrying while
    the writers keep the evidence young)."""
    refusals: list[str] = []
    for _ in range(20):
        async with paused(writers):  # the proof is taken at rest; the move runs under load
            await catch_up(poly)
            if needs_proof(await poly.control.phase(container), phase):
                await poly.verify(container, settle_s=0.2)
                await catch_up(poly)
        try:
            await poly.control.set(container, phase, reason="split walk")
            return
        except PhaseTransitionRefused as exc:
            if not any(word in str(exc) for word in ("verify", "lag", "holds")):
                raise
            refusals.append(str(exc))
    raise AssertionError(f"{container} never moved to {phase}: {refusals[-3:]}")


async def assert_acknowledged(poly: Polyglot, writers: Writers, *, exact: bool = True) -> None:
    """Every acknowledged write is what callers read, and in both parts at its version.

    ``exact=False`` after outages: a write whose answer was lost may have landed after the
    last acknowledged one, so a newer version is allowed (never an older one).
    """
    for id, last in writers.acknowledged.items():
        doc = await current(poly.documents, P, id, id)
        assert doc is not None, id
        stored, acked = doc["_version"], last["_version"]
        assert stored == acked if exact else stored >= acked, (id, stored, acked)
        if stored != acked:
            continue
        assert bool(doc.get("_deleted")) == bool(last.get("_deleted")), id
        if last.get("_deleted"):
            continue
        read = await poly.repository.read(P, id, id)
        assert _content(read) == _content(last), id
        assert read["_version"] == acked, id


def _content(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if not k.startswith("_")}
