"""Shadow reads: in dual-write phases, compare a sample of reads with the other store.

The comparison runs off the hot path (a background task); the caller always gets the read
store's answer and never sees the other store's errors. Matches, mismatches and errors are
counted, with a capped list of mismatching ids for operators.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mystira_data import metrics
from mystira_data.errors import MystiraError
from mystira_data.polyglot.consistency.compare import canonical, content_hash
from mystira_data.polyglot.ports import EntityStore
from mystira_data.polyglot.write.guarded import current
from mystira_data.types import JsonDoc, PartitionKey

MAX_IDS = 100


@dataclass
class ShadowReader:
    sample_rate: float
    rng: random.Random = field(default_factory=random.Random)
    matches: int = 0
    mismatches: int = 0
    errors: int = 0
    mismatch_ids: deque[str] = field(default_factory=lambda: deque(maxlen=MAX_IDS))
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    # Told (container, matched) per comparison: the durable evidence of the shadow gate.
    on_result: Callable[[str, bool], None] | None = None

    def maybe_check(
        self, container: str, answer: JsonDoc, pk: PartitionKey, other: EntityStore
    ) -> None:
        """Schedule a comparison for a sampled read; returns at once."""
        if self.rng.random() >= self.sample_rate:
            return
        task = asyncio.get_running_loop().create_task(self._check(container, answer, pk, other))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _check(
        self, container: str, answer: JsonDoc, pk: PartitionKey, other: EntityStore
    ) -> None:
        try:
            theirs = await current(other, container, answer["id"], pk)
        except MystiraError:
            self.errors += 1
            return
        mine = content_hash(canonical(container, answer))
        matched = theirs is not None and content_hash(canonical(container, theirs)) == mine
        metrics.shadow_compared(container, matched=matched)
        if matched:
            self.matches += 1
        else:
            self.mismatches += 1
            self.mismatch_ids.append(f"{container}/{answer['id']}")
        if self.on_result is not None:
            self.on_result(container, matched)

    async def drain(self) -> None:
        """Wait for scheduled comparisons (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def snapshot(self) -> dict[str, Any]:
        return {
            "enabled": True,
            "sampleRate": self.sample_rate,
            "matches": self.matches,
            "mismatches": self.mismatches,
            "errors": self.errors,
            "mismatchIds": list(self.mismatch_ids),
        }
