"""Two processes on one Redis: an invalidation in one evicts the other's L1 copy."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from mystira_data.cache import Expiry, TieredCache

PEER = Path(__file__).with_name("cache_peer.py")
LONG = Expiry(absolute=60)


class Peer:
    """The other process, driven over stdin/stdout."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def ask(self, op: str, key: str = "", value: Any = None) -> Any:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(json.dumps({"op": op, "key": key, "value": value}).encode())
        self.process.stdin.write(b"\n")
        await self.process.stdin.drain()
        return json.loads(await self.process.stdout.readline())["result"]

    async def until_evicted(self, key: str) -> bool:
        """Poll the peer's L1 (bounded): a pub/sub message is asynchronous."""
        for _ in range(200):
            if await self.ask("peek", key) is None:
                return True
            await asyncio.sleep(0.025)
        return False


@pytest.fixture
async def peer(redis_url: str, prefix: str) -> AsyncIterator[Peer]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(PEER),
        redis_url,
        prefix,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    assert json.loads(await process.stdout.readline()) == {"ready": True}
    try:
        yield Peer(process)
    finally:
        assert process.stdin is not None
        process.stdin.close()
        await process.wait()


async def test_update_here_evicts_the_peers_copy(tiered: TieredCache, peer: Peer) -> None:
    # The peer writes the first value itself: a message of ours about an earlier write could
    # otherwise arrive after its read and evict the copy before we look.
    await peer.ask("set", "Scenarios:1:s", {"title": "old"})
    assert await peer.ask("peek", "Scenarios:1:s") == {"title": "old"}  # now in its L1

    await tiered.set("Scenarios:1:s", {"title": "new"}, LONG)
    assert await peer.until_evicted("Scenarios:1:s")
    assert await peer.ask("get", "Scenarios:1:s") == {"title": "new"}


async def test_delete_here_evicts_the_peers_copy(tiered: TieredCache, peer: Peer) -> None:
    await tiered.set("k", {"v": 1}, LONG)
    assert await peer.ask("get", "k") == {"v": 1}
    await tiered.delete_many(["k", "other"])
    assert await peer.until_evicted("k")
    assert await peer.ask("get", "k") is None


async def test_peer_writes_evict_our_copy(tiered: TieredCache, peer: Peer) -> None:
    await peer.ask("set", "k", {"v": 1})
    assert await tiered.get("k") == {"v": 1}
    assert tiered.l1.lookup("k") == {"v": 1}
    await peer.ask("delete", "k")
    for _ in range(200):
        if tiered.l1.lookup("k") is None:
            break
        await asyncio.sleep(0.025)
    assert tiered.l1.lookup("k") is None
    assert await tiered.get("k") is None


async def test_own_messages_do_not_evict_the_writer(tiered: TieredCache, peer: Peer) -> None:
    await tiered.set("k", {"v": 1}, LONG)
    await peer.ask("set", "sync", {})  # a round trip through Redis after our publish
    await asyncio.sleep(0.1)
    assert tiered.l1.lookup("k") == {"v": 1}
