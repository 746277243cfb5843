"""Cross-instance L1 invalidation over a Redis pub/sub channel.

Every write or delete that reaches Redis through a `TieredCache` publishes the affected keys;
each instance's listener drops them from its L1. Pub/sub is fire-and-forget, so a listener
that was disconnected may have missed messages: after every (re)subscribe it empties its L1
("reset"). L1 entries also have a short TTL cap, which bounds staleness if a message is lost
while the connection looks healthy.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError


def channel_for(prefix: str) -> str:
    """The invalidation channel of one key prefix (so test runs never hear each other)."""
    return f"{prefix}__invalidate"


@dataclass(frozen=True, slots=True)
class Invalidation:
    """``keys`` were changed by instance ``source``; ``keys=None`` means "everything"."""

    source: str
    keys: list[str] | None

    def encode(self) -> bytes:
        return json.dumps({"src": self.source, "keys": self.keys}).encode()

    @classmethod
    def decode(cls, data: bytes) -> Invalidation | None:
        """The message, or None if it is not one of ours (ignored, never fatal)."""
        try:
            body = json.loads(data)
            keys = body["keys"]
            if keys is not None and not all(isinstance(k, str) for k in keys):
                return None
            return cls(str(body["src"]), keys)
        except (ValueError, KeyError, TypeError):
            return None


class InvalidationListener:
    """Background task: subscribe, apply other instances' invalidations, resubscribe on loss."""

    def __init__(
        self,
        client: Redis,
        channel: str,
        instance_id: str,
        *,
        on_keys: Callable[[list[str]], None],
        on_reset: Callable[[], None],
        retry_seconds: float = 0.5,
    ) -> None:
        self._client = client
        self._channel = channel
        self._instance_id = instance_id
        self._on_keys = on_keys
        self._on_reset = on_reset
        self._retry_seconds = retry_seconds
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    @property
    def subscribed(self) -> bool:
        return self._subscribed.is_set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="cache-invalidation-listener")

    async def wait_subscribed(self, within: float) -> bool:
        """Wait until the listener hears the channel; False if it did not ``within`` seconds."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                await self._subscribed.wait()
        return self.subscribed

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            # Redis went away: retry below; reads meanwhile use L1 and the store.
            with contextlib.suppress(RedisError, OSError, TimeoutError):
                await self._listen()
            self._subscribed.clear()
            await asyncio.sleep(self._retry_seconds)

    async def _listen(self) -> None:
        pubsub = self._client.pubsub()
        try:
            await pubsub.subscribe(self._channel)
            while True:
                # timeout=None blocks without the client's short socket timeout.
                message = await pubsub.get_message(timeout=None)
                if message is not None:
                    self._handle(message)
        finally:
            self._subscribed.clear()
            with contextlib.suppress(RedisError, OSError, TimeoutError):
                await pubsub.aclose()  # type: ignore[no-untyped-call]  # untyped in redis-py

    def _handle(self, message: dict[str, object]) -> None:
        if message.get("type") == "subscribe":
            # Anything published while we were not subscribed is lost: start L1 afresh.
            self._on_reset()
            self._subscribed.set()
            return
        data = message.get("data")
        event = Invalidation.decode(data) if isinstance(data, bytes) else None
        if event is None or event.source == self._instance_id:
            return
        if event.keys is None:
            self._on_reset()
        else:
            self._on_keys(event.keys)
