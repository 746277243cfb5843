"""Single flight: concurrent callers asking for the same key share one load.

The load runs as its own task, so a caller that is cancelled (client went away) does not
cancel the load for the others still waiting on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class SingleFlight(Generic[T]):
    def __init__(self) -> None:
        self._flights: dict[str, asyncio.Task[T]] = {}

    def in_flight(self, key: str) -> bool:
        return key in self._flights

    def loading(self) -> list[str]:
        """The keys being loaded now."""
        return list(self._flights)

    async def run(self, key: str, load: Callable[[], Awaitable[T]]) -> T:
        """Result of ``load()``, shared with every concurrent call for ``key``."""
        task = self._flights.get(key)
        if task is None:
            task = asyncio.ensure_future(load())
            self._flights[key] = task
            task.add_done_callback(lambda done: self._forget(key, done))
        return await asyncio.shield(task)

    def _forget(self, key: str, done: asyncio.Task[T]) -> None:
        if self._flights.get(key) is done:
            del self._flights[key]
        if not done.cancelled():
            done.exception()  # mark retrieved: an error nobody awaited is not "never retrieved"
