"""The async secondary queue's writer process: batches applied off this process's event loop.

Why a process: in ``async`` mode the callers' latency should be the primary's alone, but
applying a batch to the secondary costs CPU (validation, parameter encoding, the driver)
that, on the callers' event loop, runs in chunks of up to a millisecond each and delays
every caller whose reply lands meanwhile. A thread would not help (the GIL); a process does.

The bound on unsettled writes stays in the calling process (`secondary.SecondaryWriter`):
this class ships each write to the child as it comes (one small frame, no batch to serialise
at once on the callers' loop) and reports the child's answers back. The child
(`writer_child`, started with this interpreter) opens its own stores from the same settings,
batches what has arrived exactly as the in-process queue does (linger, runs of one
container), and applies each run with `secondary.apply_group`.

Protocol, over the child's stdin/stdout, each frame a 4-byte big-endian length + payload:
parent → child: the pickled `Settings` once, then JSON ``{"n": seq, "t": target, "c":
container, "d": doc}`` per write; child → parent: ``{"ready": true}`` (or ``{"error": text}``)
once, then ``{"upto": seq, "f": [[seq, error], ...]}`` per batch: every write up to ``seq``
is settled, applied unless listed in ``f``.

Nothing here can lose a write: writes the child has not acknowledged when it dies are handed
back (``settled(None, the document as sent)``) and applied in-process; the primary's change
log still holds every write for replication in any case. A child that cannot start is retried after
`RESTART_AFTER_S`; meanwhile writes are applied in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
import struct
import sys
import time
from collections import deque
from typing import Any, cast

import pydantic_core

from mystira_data.polyglot.write.secondary import Settled, snapshot
from mystira_data.settings import Settings
from mystira_data.types import JsonDoc

log = logging.getLogger(__name__)

CHILD_MODULE = "mystira_data.polyglot.write.writer_child"
HEADER = struct.Struct(">I")
MAX_FRAME = 256 * 1024 * 1024
READY_TIMEOUT_S = 120.0  # a cold interpreter importing the stack on a loaded machine
RESTART_AFTER_S = 5.0
# Frames are written out at most this often: one pipe write (and one wake-up of the child)
# per flush instead of per write, which costs the callers' loop far more than the frame.
FLUSH_S = 0.005
CLOSE_TIMEOUT_S = 10.0
# A child that acknowledges nothing for this long while writes wait is taken for hung (every
# batch it applies is bounded by DualWriteTimeoutMs): it is killed, and its writes come back.
STALL_S = 60.0


class ProtocolError(Exception):
    """The other side sent something that is not a frame of ours."""


def frame(payload: bytes) -> bytes:
    return HEADER.pack(len(payload)) + payload


async def read_frame(reader: asyncio.StreamReader) -> bytes | None:
    """The next frame's payload, or None at a clean end of stream."""
    try:
        head = await reader.readexactly(HEADER.size)
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise ProtocolError("stream ended inside a frame header") from None
        return None
    (size,) = HEADER.unpack(head)
    if size > MAX_FRAME:
        raise ProtocolError(f"frame of {size} bytes")
    return await reader.readexactly(size)


def split_frames(buf: bytearray) -> list[bytes]:
    """Take the complete frames off the front of ``buf``; a partial one stays."""
    out = []
    while len(buf) >= HEADER.size:
        (size,) = HEADER.unpack_from(buf)
        if size > MAX_FRAME:
            raise ProtocolError(f"frame of {size} bytes")
        end = HEADER.size + size
        if len(buf) < end:
            break
        out.append(bytes(buf[HEADER.size : end]))
        del buf[:end]
    return out


class _Child(asyncio.SubprocessProtocol):
    """One child's pipes: its frames are handled as they arrive (no reader task)."""

    def __init__(self, owner: WriterProcess) -> None:
        loop = asyncio.get_running_loop()
        self.owner = owner
        self.buf = bytearray()
        self.hello: asyncio.Future[bytes] = loop.create_future()
        self.exited: asyncio.Future[None] = loop.create_future()
        self.gone = False

    def pipe_data_received(self, fd: int, data: bytes | str) -> None:
        if fd != 1 or self.gone:
            return
        self.buf += cast(bytes, data)
        try:
            for payload in split_frames(self.buf):
                if not self.hello.done():
                    self.hello.set_result(payload)
                else:
                    self.owner._acknowledged(pydantic_core.from_json(payload))
        except (ProtocolError, ValueError, KeyError, TypeError) as exc:
            log.warning("secondary writer process sent a bad frame: %s", type(exc).__name__)
            self.owner._kill(self)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if fd == 1:  # its stdout ended: every acknowledgement it sent has been read
            self.owner._gone(self)

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)


class WriterProcess:
    """A child process applying secondary writes; see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        *,
        restart_after_s: float = RESTART_AFTER_S,
        stall_s: float = STALL_S,
    ) -> None:
        self._settings = settings
        self.restart_after_s = restart_after_s
        self.stall_s = stall_s
        self.acknowledged = 0  # acknowledgements received
        self._transport: asyncio.SubprocessTransport | None = None
        self._child: _Child | None = None
        self._stdin: asyncio.WriteTransport | None = None
        self._ready = False
        self._starting: asyncio.Task[None] | None = None
        self._next_start = 0.0
        self._seq = 0
        self._pending: deque[tuple[int, Settled, bytes]] = deque()
        self._idle = asyncio.Event()
        self._idle.set()
        self._out: list[bytes] = []
        self._flushing: asyncio.TimerHandle | None = None
        self.starts = 0  # children started
        self.sent = 0  # writes handed to a child

    @property
    def pending(self) -> int:
        return len(self._pending)

    @property
    def pid(self) -> int | None:
        return self._transport.get_pid() if self._transport is not None and self._ready else None

    def usable(self) -> bool:
        if self._ready:
            return True
        if self._starting is None and time.monotonic() >= self._next_start:
            self._starting = asyncio.get_running_loop().create_task(self._start())
        return False

    async def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> bool:
        """Start the child if it is due and wait for that start; False if it did not take
        (or a restart is not due yet: the queue works in-process meanwhile)."""
        if not self.usable() and self._starting is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._starting), timeout_s)
        return self._ready

    def send(self, target: str, container: str, doc: JsonDoc, settled: Settled) -> None:
        if not self._ready:
            settled(None, snapshot(doc))  # it is gone: the caller applies this write itself
            return
        self._seq += 1
        self.sent += 1
        payload = pydantic_core.to_json({"n": self._seq, "t": target, "c": container, "d": doc})
        self._pending.append((self._seq, settled, payload))
        self._idle.clear()
        self._out.append(frame(payload))
        if self._flushing is None:
            self._flushing = asyncio.get_running_loop().call_later(FLUSH_S, self._flush)

    def _flush(self) -> None:
        self._flushing = None
        out, self._out = self._out, []
        stdin = self._stdin
        if out and stdin is not None and not stdin.is_closing():
            # Buffered by the transport when the pipe is full; the caller bounds `pending`.
            # If the child died meanwhile, `_gone` hands these writes back.
            stdin.write(b"".join(out))

    async def idle(self) -> None:
        """Until nothing sent is unsettled; a child that stops acknowledging is killed."""
        while not self._idle.is_set():
            seen = self.acknowledged
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), self.stall_s)
            if not self._idle.is_set() and self.acknowledged == seen and self._child is not None:
                log.warning("secondary writer process acknowledged nothing for %.0f s; "
                            "killing it", self.stall_s)  # fmt: skip
                self._kill(self._child)

    async def _start(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            transport, child = await loop.subprocess_exec(
                lambda: _Child(self), sys.executable, "-m", CHILD_MODULE,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=None,
            )  # fmt: skip
            self._transport, self._child = transport, child
            self._stdin = cast(asyncio.WriteTransport, transport.get_pipe_transport(0))
            self.starts += 1
            # The settings travel over the pipe, never argv or the environment (secrets).
            self._stdin.write(frame(pickle.dumps(self._settings)))
            hello = await asyncio.wait_for(asyncio.shield(child.hello), READY_TIMEOUT_S)
            answer: dict[str, Any] = pydantic_core.from_json(hello)
            if answer.get("ready") is not True:
                raise ProtocolError(str(answer.get("error", "no ready signal")))
            self._ready = True
        except Exception as e:  # whatever went wrong, the queue works in-process meanwhile
            log.warning("secondary writer process did not start (%s: %s); applying in-process",
                        type(e).__name__, e)  # fmt: skip
            self._next_start = time.monotonic() + self.restart_after_s
            await self._stop(kill=True)
        finally:
            self._starting = None

    def _acknowledged(self, ack: dict[str, Any]) -> None:
        """Every pending write up to ``ack["upto"]`` is settled: failed if listed, else applied."""
        upto, failed = int(ack["upto"]), {int(n): str(e) for n, e in ack["f"]}
        self.acknowledged += 1
        if self._pending and self._pending[0][0] > upto:
            raise ProtocolError(f"ack up to {upto}, oldest pending {self._pending[0][0]}")
        while self._pending and self._pending[0][0] <= upto:
            seq, settled, _ = self._pending.popleft()
            settled(failed.get(seq), None)
        if not self._pending:
            self._idle.set()

    def _gone(self, child: _Child) -> None:
        """``child``'s output ended (it exited, or was killed): hand its writes back."""
        if child.gone:
            return
        child.gone = True
        if not child.hello.done():
            child.hello.set_exception(ProtocolError("exited before it was ready"))
            child.hello.exception()  # seen here: a start that gave up waiting never awaits it
        if child is not self._child:
            return
        if self._ready:  # not a close of ours: it died
            log.warning("secondary writer process exited; its unacknowledged writes are "
                        "applied in-process")  # fmt: skip
            self._next_start = time.monotonic() + self.restart_after_s
            if self._transport is not None:
                self._transport.close()  # reaps it; a later start opens a new one
            self._transport = self._child = self._stdin = None
        self._ready = False
        self._give_back()

    def _kill(self, child: _Child) -> None:
        if child is self._child and self._transport is not None:
            with contextlib.suppress(ProcessLookupError):
                self._transport.kill()

    def _give_back(self) -> None:
        """Every unacknowledged write goes back to its caller, oldest first."""
        self._out.clear()  # frames of these writes must not reach a later child
        while self._pending:
            _, settled, payload = self._pending.popleft()
            settled(None, pydantic_core.from_json(payload)["d"])  # the snapshot it was sent as
        self._idle.set()

    async def close(self) -> None:
        """Let the child finish what it was sent, then stop it."""
        if self._starting is not None:
            self._starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._starting
        await self._stop(kill=False)

    async def _stop(self, *, kill: bool) -> None:
        if self._flushing is not None:
            self._flushing.cancel()
        self._flush()
        transport, child, stdin = self._transport, self._child, self._stdin
        self._ready = False
        if transport is not None and child is not None:
            if stdin is not None:
                stdin.close()  # end of input: the child exits after its last batch
            if kill:
                with contextlib.suppress(ProcessLookupError):
                    transport.kill()
            try:
                await asyncio.wait_for(asyncio.shield(child.exited), CLOSE_TIMEOUT_S)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    transport.kill()
                await child.exited
            transport.close()
            self._gone(child)
        self._transport = self._child = self._stdin = None
        self._give_back()
