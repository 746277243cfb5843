"""The writer process of `offload`: ``python -m mystira_data.polyglot.write.writer_child``.

Reads the settings, opens its own stores (no migration: the parent's stores are open, so
the schema is current), says ready, then batches the writes it is sent as the in-process
queue would (linger, at most `BATCH_MAX`, runs of one target and container), applies each
run through the same resilience policy and version-guarded applies, and acknowledges each
batch. It exits at the end of its input (the parent closed or died).
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from functools import partial
from typing import Any

import pydantic_core

from mystira_data.bootstrap import Stores, open_document_store, relational_url
from mystira_data.polyglot.layer import resilient
from mystira_data.polyglot.ports import EntityStore
from mystira_data.polyglot.replication.stamped import Stamped
from mystira_data.polyglot.write.guarded import apply_if_newer, batch_apply
from mystira_data.polyglot.write.secondary import BATCH_MAX, LINGER_S, apply_group, runs
from mystira_data.polyglot.write.writer_process import frame, read_frame
from mystira_data.relational import RelationalStore
from mystira_data.settings import Settings

log = logging.getLogger("mystira_data.polyglot.write.writer_child")


async def _pipes(out_fd: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin.buffer)
    transport, protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, os.fdopen(out_fd, "wb")
    )
    return reader, asyncio.StreamWriter(transport, protocol, reader, loop)


async def _open(settings: Settings, stack: AsyncExitStack) -> dict[str, EntityStore]:
    stores = Stores(settings, await open_document_store(settings, stack))
    stores.relational = await stack.enter_async_context(RelationalStore(relational_url(settings)))
    return {
        "document": Stamped(resilient(stores.documents, "documents", stores)[0]),
        "relational": resilient(stores.relational, "relational", stores)[0],
    }


Message = dict[str, Any]


async def _apply(targets: dict[str, EntityStore], batch: list[Message], timeout_s: float) -> bytes:
    failed: list[tuple[int, str]] = []
    for run in runs(batch, lambda m: (m["t"], m["c"])):
        target = targets[run[0]["t"]]
        result = await apply_group(
            partial(apply_if_newer, target), batch_apply(target), run[0]["c"],
            [m["d"] for m in run], timeout_s,
        )  # fmt: skip
        failed += [(run[i]["n"], error) for i, error in result.failed]
    return pydantic_core.to_json({"upto": batch[-1]["n"], "f": failed})


async def _inbox(reader: asyncio.StreamReader, box: asyncio.Queue[Message | None]) -> None:
    while (payload := await read_frame(reader)) is not None:
        box.put_nowait(pydantic_core.from_json(payload))
    box.put_nowait(None)


async def _batches(box: asyncio.Queue[Message | None]) -> AsyncIterator[list[Message]]:
    """What has arrived, after a linger so a batch can form; ends at the end of input."""
    ended = False
    while not ended:
        first = await box.get()
        if first is None:
            return
        if box.qsize() < BATCH_MAX:
            await asyncio.sleep(LINGER_S)
        batch = [first]
        while len(batch) < BATCH_MAX and not box.empty():
            item = box.get_nowait()
            if item is None:
                ended = True
                break
            batch.append(item)
        yield batch


async def serve(out_fd: int) -> None:
    reader, writer = await _pipes(out_fd)
    first = await read_frame(reader)
    if first is None:
        return
    settings: Settings = pickle.loads(first)  # from our parent, over its private pipe
    timeout_s = settings.polyglot_persistence.dual_write_timeout_ms / 1000
    async with AsyncExitStack() as stack:
        try:
            targets = await _open(settings, stack)
        except Exception as exc:  # reported to the parent, which applies in-process instead
            writer.write(frame(pydantic_core.to_json({"error": type(exc).__name__})))
            await writer.drain()
            return
        writer.write(frame(b'{"ready":true}'))
        await writer.drain()
        box: asyncio.Queue[Message | None] = asyncio.Queue()
        reading = asyncio.get_running_loop().create_task(_inbox(reader, box))
        async for batch in _batches(box):
            writer.write(frame(await _apply(targets, batch, timeout_s)))
            await writer.drain()
        await reading


def main() -> None:
    # The protocol owns the real stdout; anything printed by accident goes to stderr.
    out_fd = os.dup(1)
    os.dup2(2, 1)
    logging.basicConfig(level=logging.WARNING, format="offload %(levelname)s %(message)s")
    asyncio.run(serve(out_fd))


if __name__ == "__main__":
    main()
