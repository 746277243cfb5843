"""The per-container write gate of one process: many writers, or one phase switcher."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from mystira_data.errors import StoreUnavailable


class Gate:
    """Many writers or one switcher (an asyncio readers-writer lock)."""

    def __init__(self) -> None:
        self._writers = 0
        self._switching = False
        self._cond = asyncio.Condition()

    @asynccontextmanager
    async def write(self, timeout_s: float | None = None) -> AsyncIterator[None]:
        """Enter as a writer; `StoreUnavailable` if a switch holds the gate past ``timeout_s``."""
        async with self._cond:
            try:
                async with asyncio.timeout(timeout_s):
                    await self._cond.wait_for(lambda: not self._switching)
            except TimeoutError:
                raise StoreUnavailable(
                    "writes are paused by a phase switch in this process"
                ) from None
            self._writers += 1
        try:
            yield
        finally:
            async with self._cond:
                self._writers -= 1
                self._cond.notify_all()

    @asynccontextmanager
    async def switch(self) -> AsyncIterator[None]:
        async with self._cond:
            await self._cond.wait_for(lambda: not self._switching)
            self._switching = True
            await self._cond.wait_for(lambda: self._writers == 0)
        try:
            yield
        finally:
            async with self._cond:
                self._switching = False
                self._cond.notify_all()
