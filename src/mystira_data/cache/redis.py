"""Redis cache adapter (``redis.asyncio``): JSON values, sliding + absolute expiry, one round trip.

Each entry is stored as ``b"<deadline_ms> <sliding_ms> <version>|<json>"``. Both expiries are
enforced by Redis itself through two small Lua scripts, so every instance agrees on them and a hit
costs one round trip: the read script returns the value with the milliseconds left before
the absolute deadline and, for sliding entries, pushes the key's TTL forward (never past the
deadline). The deadline comes from the server clock, so client clock skew does not matter.
The write script refuses a value older than the live entry's ``version`` (see `port`).

Writes and deletes can publish an invalidation message in the same script (``publish=True``,
used by `TieredCache`), so other instances drop their L1 copies.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from mystira_data.cache.bus import Invalidation, channel_for
from mystira_data.cache.port import CacheMode, CacheStats, Expiry, Value, version_of
from mystira_data.errors import InvalidDocument, StoreUnavailable

_READ = """
local v = redis.call('GET', KEYS[1])
if not v then return false end
local deadline, sliding = string.match(v, '^(%d+) (%d+) %-?%d+|')
if not deadline then return false end
local t = redis.call('TIME')
local left = tonumber(deadline) - (tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
if left <= 0 then
  redis.call('UNLINK', KEYS[1])
  return false
end
sliding = tonumber(sliding)
if sliding > 0 then redis.call('PEXPIRE', KEYS[1], math.min(sliding, left)) end
return {v, left}
"""

_WRITE = """
local version = tonumber(ARGV[6])
local old = redis.call('GET', KEYS[1])
if old then
  local held = tonumber(string.match(old, '^%d+ %d+ (%-?%d+)|'))
  if held and held > version then return 0 end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local absolute, sliding = tonumber(ARGV[2]), tonumber(ARGV[3])
local ttl = absolute
if sliding > 0 and sliding < absolute then ttl = sliding end
local header = string.format('%.0f %d %d|', now + absolute, sliding, version)
redis.call('SET', KEYS[1], header .. ARGV[1], 'PX', ttl)
if ARGV[4] ~= '' then redis.call('PUBLISH', ARGV[4], ARGV[5]) end
return 1
"""

_DELETE = """
if #KEYS > 0 then redis.call('UNLINK', unpack(KEYS)) end
if ARGV[1] ~= '' then redis.call('PUBLISH', ARGV[1], ARGV[2]) end
return #KEYS
"""

_DELETE_BATCH = 500  # keys per script call: bounded Lua stack and server pause


def connect_redis(url: str, *, socket_timeout: float = 0.25) -> Redis:
    """A client for a cache: short timeouts and no hidden retries.

    The breaker in `TieredCache` decides when to try Redis again; redis-py's default retries
    would multiply the time a request waits on a dead server.
    """
    return Redis.from_url(
        url,
        socket_timeout=socket_timeout,
        socket_connect_timeout=socket_timeout,
        retry=Retry(NoBackoff(), 0),
        decode_responses=False,
    )


@contextmanager
def redis_errors(operation: str) -> Iterator[None]:
    """Translate redis-py and socket errors into `StoreUnavailable` (the cache fails open)."""
    try:
        yield
    except (RedisError, OSError, TimeoutError) as exc:
        raise StoreUnavailable(f"redis {operation}: {type(exc).__name__}: {exc}") from exc


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def encode_value(value: Value) -> str:
    """The JSON text stored for ``value``; `InvalidDocument` if it is not JSON-able."""
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidDocument(f"cache value is not JSON-able: {exc}") from exc


class RedisCache:
    """Cache adapter over one Redis; every key gets ``prefix``.

    Failures raise `StoreUnavailable`: callers that must fail open (`TieredCache`) catch it.
    """

    def __init__(
        self,
        client: Redis,
        *,
        prefix: str = "mystira:",
        instance_id: str = "",
        publish: bool = False,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.channel = channel_for(prefix)
        self.instance_id = instance_id
        self._publish = publish
        self._read = client.register_script(_READ)
        self._write = client.register_script(_WRITE)
        self._delete = client.register_script(_DELETE)
        self._hits = self._misses = self._errors = 0

    @property
    def mode(self) -> CacheMode:
        return "redis"

    def stats(self) -> CacheStats:
        return CacheStats("redis", self._hits, self._misses, self._errors)

    async def read_entry(self, key: str) -> tuple[Value, float] | None:
        """The value and the seconds left before its absolute deadline, or None."""
        with self._counting("get"):
            reply: Any = await self._read(keys=[self.prefix + key])
        if not reply:
            self._misses += 1
            return None
        raw, left_ms = reply
        try:
            value: Value = json.loads(raw[raw.index(b"|") + 1 :])
        except ValueError:
            self._errors += 1  # not written by us (or damaged): a miss, never a crash
            return None
        self._hits += 1
        return value, left_ms / 1000

    async def get(self, key: str) -> Value | None:
        entry = await self.read_entry(key)
        return None if entry is None else entry[0]

    async def set(self, key: str, value: Value, expiry: Expiry) -> None:
        await self.write_entry(key, value, expiry)

    async def write_entry(self, key: str, value: Value, expiry: Expiry) -> bool:
        """Set ``key``; False if the entry held a newer ``_version`` (nothing changed)."""
        sliding = 0 if expiry.sliding is None else _ms(expiry.sliding)
        channel, message = self._message([key])
        args: list[str | int | bytes] = [encode_value(value), _ms(expiry.absolute), sliding]
        args += [channel, message, version_of(value)]
        with self._counting("set"):
            return bool(await self._write(keys=[self.prefix + key], args=args))

    async def delete(self, key: str) -> None:
        await self.delete_many([key])

    async def delete_many(self, keys: Iterable[str]) -> None:
        batch = list(dict.fromkeys(keys))
        for start in range(0, len(batch), _DELETE_BATCH):
            await self._delete_batch(batch[start : start + _DELETE_BATCH])

    async def clear(self, under: str = "") -> None:
        """Delete every key under the prefix + ``under`` (SCAN, never KEYS: no long pause).

        The message published is "everything": other instances empty their whole L1, which
        is cheap for the rare callers (phase moves, tests, admin)."""
        pattern = _glob_escape(self.prefix + under) + "*"
        with self._counting("clear"):
            batch: list[bytes] = []
            async for raw in self.client.scan_iter(match=pattern, count=_DELETE_BATCH):
                batch.append(raw)
                if len(batch) >= _DELETE_BATCH:
                    await self.client.unlink(*batch)
                    batch.clear()
            if batch:
                await self.client.unlink(*batch)
            channel, message = self._message(None)
            if channel:
                await self.client.publish(channel, message)

    async def ping(self) -> None:
        with self._counting("ping"):
            await self.client.ping()

    async def probe(self) -> None:
        with contextlib.suppress(StoreUnavailable):  # the error is counted; mode stays "redis"
            await self.ping()

    async def close(self) -> None:
        with self._counting("close"):
            await self.client.aclose()

    async def _delete_batch(self, keys: list[str]) -> None:
        channel, message = self._message(keys)
        with self._counting("delete"):
            await self._delete(keys=[self.prefix + k for k in keys], args=[channel, message])

    def _message(self, keys: list[str] | None) -> tuple[str, bytes]:
        if not self._publish:
            return "", b""
        return self.channel, Invalidation(self.instance_id, keys).encode()

    @contextmanager
    def _counting(self, operation: str) -> Iterator[None]:
        try:
            with redis_errors(operation):
                yield
        except StoreUnavailable:
            self._errors += 1
            raise


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
