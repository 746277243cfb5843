"""Tiered cache: L1 in-process (`MemoryCache`) in front of L2 Redis (`RedisCache`).

Fails open: when Redis errors or is slow (short socket timeout), the call is served as if L2
had missed, and a `CircuitBreaker` stops paying that timeout on every call. Writes and
deletes that could not reach Redis are remembered as *pending invalidations* and replayed
(deleted from Redis, broadcast to other instances) before Redis is read again, so a value
changed during an outage is never served stale from Redis afterwards. Recovery does not wait
for traffic: while the breaker is not closed or invalidations are pending, a background task
probes Redis every ``recover_every`` seconds and replays as soon as it answers.

The breaker is the project's (`mystira_data.resilience`), tuned for a cache: a few failures open
it and it probes again after seconds, because a probe costs at most one short socket timeout.

Other instances learn about writes through the pub/sub channel (`InvalidationListener`).
L1 entries live at most ``l1_ttl`` seconds, which bounds staleness if a message is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Final, TypeVar

from mystira_data.cache.bus import InvalidationListener
from mystira_data.cache.memory import MemoryCache
from mystira_data.cache.port import CacheMode, CacheStats, Expiry, Value
from mystira_data.cache.redis import RedisCache, connect_redis
from mystira_data.errors import CircuitOpen, StoreUnavailable
from mystira_data.lifecycle import Opened
from mystira_data.resilience import BreakerState, CircuitBreaker

T = TypeVar("T")


class _Fallback:
    """Marker result: Redis was skipped or failed; treat as an L2 miss."""


_FALLBACK: Final = _Fallback()


class TieredCache(Opened):
    """L1 + L2 with breaker, pending invalidations and cross-instance L1 eviction."""

    def __init__(
        self,
        l1: MemoryCache,
        l2: RedisCache,
        *,
        breaker: CircuitBreaker | None = None,
        l1_ttl: float = 60.0,
        max_pending: int = 100_000,
        recover_every: float = 0.5,
        listen: bool = True,
    ) -> None:
        self.l1 = l1
        self.l2 = l2
        self.breaker = breaker or CircuitBreaker("redis-cache", threshold=3, open_seconds=5.0)
        self._l1_ttl = l1_ttl
        self._max_pending = max_pending
        self._pending: set[str] = set()
        self._pending_everything = False  # overflow or failed clear: clear Redis on recovery
        self._replay_lock = asyncio.Lock()
        self._epoch = 0  # bumped by every invalidation; an L2 read that raced one is not kept
        self._counts = dict.fromkeys(("l1_hits", "l2_hits", "misses", "errors", "fallbacks"), 0)
        self._recover_every = recover_every
        self._recovery: asyncio.Task[None] | None = None
        self._reason = ""  # the last Redis call's error, cleared by the next success
        self.listener = (
            InvalidationListener(
                l2.client,
                l2.channel,
                l2.instance_id,
                on_keys=self._evict_remote,
                on_reset=self._on_resubscribe,
            )
            if listen
            else None
        )

    @classmethod
    def connect(
        cls,
        url: str,
        *,
        prefix: str = "mystira:",
        max_entries: int = 10_000,
        socket_timeout: float = 0.25,
        breaker: CircuitBreaker | None = None,
        l1_ttl: float = 60.0,
        l1_shared: bool = False,
    ) -> TieredCache:
        """A tiered cache on the Redis at ``url``; call `start` (or ``async with``).

        ``l1_shared``: L1 hits return one shared read-only object (see `MemoryCache`)."""
        client = connect_redis(url, socket_timeout=socket_timeout)
        l2 = RedisCache(client, prefix=prefix, instance_id=uuid.uuid4().hex, publish=True)
        l1 = MemoryCache(max_entries, shared=l1_shared)
        return cls(l1, l2, breaker=breaker, l1_ttl=l1_ttl)

    async def start(self, *, wait_subscribed: float = 0.0, probe: bool = False) -> TieredCache:
        """Start the invalidation listener; optionally wait (bounded) until it is subscribed.

        ``probe``: try Redis once first (one short socket timeout at most), so ``mode`` says
        "fallback" from the start when Redis is unreachable."""
        if probe:
            await self.probe()
        if self.listener is not None:
            self.listener.start()
            if wait_subscribed > 0:
                await self.listener.wait_subscribed(wait_subscribed)
        return self

    async def open(self) -> None:
        await self.start()

    @property
    def mode(self) -> CacheMode:
        healthy = self.breaker.state is BreakerState.CLOSED and not self._reason
        return "redis" if healthy else "fallback"

    def stats(self) -> CacheStats:
        c = self._counts
        return CacheStats(
            self.mode,
            c["l1_hits"] + c["l2_hits"],
            c["misses"],
            c["errors"],
            c["fallbacks"],
            l1_hits=c["l1_hits"],
            l2_hits=c["l2_hits"],
            entries=len(self.l1),
            pending_invalidations=len(self._pending) + int(self._pending_everything),
            subscribed=self.listener is not None and self.listener.subscribed,
            reason=self._reason,
        )

    async def get(self, key: str) -> Value | None:
        value = self.l1.lookup(key)
        if value is not None:
            self._counts["l1_hits"] += 1
            return value
        epoch = self._epoch
        entry = await self._on_redis(self.l2.read_entry, key)
        if entry is None or isinstance(entry, _Fallback):
            self._counts["misses"] += 1
            return None
        value, left = entry
        if epoch == self._epoch:  # no invalidation arrived while we read: safe to keep
            self.l1.store(key, value, Expiry(min(left, self._l1_ttl)))
        self._counts["l2_hits"] += 1
        return value

    async def set(self, key: str, value: Value, expiry: Expiry) -> None:
        self._epoch += 1
        self.l1.store(key, value, expiry.capped(self._l1_ttl))
        written = await self._on_redis(self.l2.write_entry, key, value, expiry)
        if isinstance(written, _Fallback):
            self._remember([key])
        elif not written:  # Redis holds a newer version (another instance): ours is stale
            self._epoch += 1
            self.l1.discard([key])

    async def delete(self, key: str) -> None:
        await self.delete_many([key])

    async def delete_many(self, keys: Iterable[str]) -> None:
        batch = list(keys)
        self._epoch += 1
        self.l1.discard(batch)
        if isinstance(await self._on_redis(self.l2.delete_many, batch), _Fallback):
            self._remember(batch)

    async def clear(self, under: str = "") -> None:
        self._epoch += 1
        self.l1.discard_all(under)
        if isinstance(await self._on_redis(self.l2.clear, under), _Fallback):
            self._pending_everything = True  # coarse but safe: the whole prefix on recovery
            self._ensure_recovery()

    async def probe(self) -> None:
        await self._on_redis(self.l2.ping)

    async def close(self) -> None:
        if self.listener is not None:
            await self.listener.close()
        if self._recovery is not None:
            self._recovery.cancel()
            await asyncio.gather(self._recovery, return_exceptions=True)
        self.l1.discard_all()
        with contextlib.suppress(StoreUnavailable):  # server gone: nothing left to release
            await self.l2.close()

    async def _on_redis(
        self, operation: Callable[..., Awaitable[T]], *args: object
    ) -> T | _Fallback:
        """Run ``operation`` on Redis unless the breaker is open; replay pending first."""
        try:
            self.breaker.before_call()
        except CircuitOpen:
            self._counts["fallbacks"] += 1
            return _FALLBACK
        try:
            if self._pending or self._pending_everything:
                await self._replay()
            result = await operation(*args)
        except StoreUnavailable as exc:
            self._reason = str(exc)
            self._counts["errors"] += 1
            self._counts["fallbacks"] += 1
            self.breaker.record_failure()
            self._ensure_recovery()
            return _FALLBACK
        except asyncio.CancelledError:
            # A cancelled probe must still settle the breaker, or it would wait for it forever.
            self.breaker.record_failure()
            raise
        self.breaker.record_success()
        self._reason = ""
        return result

    def _remember(self, keys: list[str]) -> None:
        """Record invalidations Redis missed; too many → clear our prefix on recovery."""
        self._pending.update(keys)
        if len(self._pending) > self._max_pending:
            self._pending.clear()
            self._pending_everything = True
        self._ensure_recovery()

    async def _replay(self) -> None:
        async with self._replay_lock:  # one replay at a time; later callers find it done
            if self._pending_everything:
                self._pending.clear()
                await self.l2.clear()
                self._pending_everything = False
            keys = list(self._pending)
            if keys:
                await self.l2.delete_many(keys)
                self._pending.difference_update(keys)

    def _evict_remote(self, keys: list[str]) -> None:
        self._epoch += 1
        self.l1.discard(keys)

    def _on_resubscribe(self) -> None:
        """The listener (re)connected: messages may be lost, and Redis is reachable again."""
        self._epoch += 1
        self.l1.discard_all()
        self._ensure_recovery()

    def _needs_recovery(self) -> bool:
        return (
            self.breaker.state is not BreakerState.CLOSED
            or bool(self._pending)
            or self._pending_everything
        )

    def _ensure_recovery(self) -> None:
        if self._needs_recovery() and (self._recovery is None or self._recovery.done()):
            self._recovery = asyncio.get_running_loop().create_task(self._recover())

    async def _recover(self) -> None:
        """Probe Redis (replaying pending invalidations first) until all is well again."""
        while self._needs_recovery():
            if self.breaker.state is not BreakerState.OPEN:  # closed, or due for a probe
                await self._on_redis(self.l2.ping)
            if self._needs_recovery():
                await asyncio.sleep(self._recover_every)
