"""Dead letters: changes replication gave up on, kept with the reason until resolved.

`DeadLetters` is implemented on ``_polyglot_dead_letters`` (`state.dead_letters`) and in
memory (`MemoryDeadLetters`, its twin for unit tests); both pass one contract suite. A letter
is recorded once per (container, id, version, source) while it is open: a resumed or repeated
run that meets the same change again adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from mystira_data.relational import storable_text
from mystira_data.types import JsonDoc

REASON_LIMIT = 4000  # characters of the error kept (the whole document is kept beside it)

__all__ = ["REASON_LIMIT", "DeadLetter", "DeadLetters", "MemoryDeadLetters", "summary"]


@dataclass(frozen=True)
class DeadLetter:
    container: str
    entity_id: str
    version: int
    error: str
    attempts: int
    at: datetime
    document: JsonDoc


class DeadLetters(Protocol):
    async def add(self, letter: DeadLetter) -> None:
        """Record ``letter`` unless the same change is already an open letter."""
        ...

    async def open_letters(self, limit: int = 20) -> dict[str, list[dict[str, Any]]]:
        """Per container, its newest open letters (newest first): id, version, source, reason."""
        ...

    async def open_count(self) -> dict[str, int]:
        """Per container, how many letters are open."""
        ...


def summary(entity_id: str, version: int, source: str, error: str) -> dict[str, Any]:
    """One open letter as `DeadLetters.open_letters` lists it (NULs escaped, reason cut)."""
    reason = storable_text(error)[:REASON_LIMIT]
    return {"id": storable_text(entity_id), "version": version, "source": source, "reason": reason}


@dataclass
class MemoryDeadLetters:
    """`DeadLetters` in one process; ``letters`` holds every letter recorded, oldest first."""

    letters: list[DeadLetter] = field(default_factory=list)
    source: str = "memory"

    async def add(self, letter: DeadLetter) -> None:
        key = (letter.container, storable_text(letter.entity_id), letter.version)
        if any((d.container, storable_text(d.entity_id), d.version) == key for d in self.letters):
            return  # already recorded (a resumed or repeated run met it again)
        self.letters.append(letter)

    async def open_letters(self, limit: int = 20) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {}
        for d in reversed(self.letters):
            letters = found.setdefault(d.container, [])
            if len(letters) < limit:
                letters.append(summary(d.entity_id, d.version, self.source, d.error))
        return found

    async def open_count(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for d in self.letters:
            counts[d.container] = counts.get(d.container, 0) + 1
        return counts
