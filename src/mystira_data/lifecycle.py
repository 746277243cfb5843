"""`Opened`: the async-context-manager shell every client shares (open on enter, close on exit)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self


class Opened(ABC):
    """``async with`` support for anything with idempotent ``open()`` and ``close()``."""

    @abstractmethod
    async def open(self) -> None:
        """Connect; later calls do nothing."""

    @abstractmethod
    async def close(self) -> None:
        """Release connections; safe to call twice."""

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
