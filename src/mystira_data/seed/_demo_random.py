"""The demo's only source of variation: a seeded RNG and a fixed clock.

Everything random (choices, ids, timestamps) comes from one `random.Random`, in a fixed call
order, so the same seed always produces byte-identical documents.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

T = TypeVar("T")

# "Now" for the demo world: every timestamp is an offset from it, never the wall clock.
DEMO_EPOCH = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@dataclass
class DemoRandom:
    seed: int
    epoch: datetime = DEMO_EPOCH
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def uid(self) -> str:
        """A version-4 UUID string drawn from the seeded RNG."""
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def pick(self, items: Sequence[T]) -> T:
        return items[self.rng.randrange(len(items))]

    def sample(self, items: Sequence[T], low: int, high: int) -> list[T]:
        """Between ``low`` and ``high`` distinct items (fewer if there are not enough)."""
        count = min(len(items), self.rng.randint(low, high))
        return self.rng.sample(list(items), count)

    def weighted(self, weights: dict[T, float]) -> T:
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    def between(self, low: float, high: float, digits: int = 2) -> float:
        return round(self.rng.uniform(low, high), digits)

    def days_ago(self, low: float, high: float) -> datetime:
        """A whole-second instant between ``high`` and ``low`` days before the epoch."""
        return self.epoch - timedelta(seconds=self.rng.randint(int(low * 86400), int(high * 86400)))

    def after(self, start: datetime, low_s: int, high_s: int) -> datetime:
        return start + timedelta(seconds=self.rng.randint(low_s, high_s))

    def hex(self, bits: int) -> str:
        return f"{self.rng.getrandbits(bits):0{bits // 4}x}"
