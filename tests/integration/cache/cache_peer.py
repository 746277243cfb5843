"""Another application instance, for the cross-process coherence test.

Run as ``python cache_peer.py REDIS_URL PREFIX``. Reads one JSON command per stdin line and
answers one JSON line: {"op": "get"|"peek"|"set"|"delete", "key": ..., "value": ...}.
``peek`` looks only in this process's L1 (did the invalidation reach us?).
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from mystira_data.cache import Expiry, TieredCache


async def answer(cache: TieredCache, command: dict[str, Any]) -> Any:
    op, key = command["op"], command.get("key", "")
    if op == "get":
        return await cache.get(key)
    if op == "peek":
        return cache.l1.lookup(key)
    if op == "set":
        await cache.set(key, command["value"], Expiry(absolute=60))
    elif op == "delete":
        await cache.delete(key)
    return None


async def main(url: str, prefix: str) -> None:
    async with TieredCache.connect(url, prefix=prefix) as cache:
        ready = await cache.listener.wait_subscribed(10) if cache.listener else False
        print(json.dumps({"ready": ready}), flush=True)
        loop = asyncio.get_running_loop()
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            result = await answer(cache, json.loads(line))
            print(json.dumps({"result": result}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
