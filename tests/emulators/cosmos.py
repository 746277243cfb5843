"""The Cosmos DB test server for pytest: installed on first use, started on a free port.

``@vercel/cosmosdb-server`` (patched at install, see README.md here) runs in memory over HTTPS
with a self-signed certificate and accepts any key; clients use the emulator's well-known key
and skip TLS checks, which the adapter allows for loopback addresses only.

    from tests.emulators.cosmos import cosmos_server    # a session-scoped fixture
    from tests.emulators.cosmos import EMULATOR_KEY, allow_sdk_warnings, running_cosmos_server
"""

from __future__ import annotations

import fcntl
import os
import selectors
import shutil
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
# The public key of Microsoft's Cosmos DB emulator (documented, not a secret); the test
# server accepts any key, real accounts never this one.
EMULATOR_KEY = (
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="
)
# A file only the patch adds: its absence means node_modules predates the patch.
_PATCH_MARKER = HERE / "node_modules/@vercel/cosmosdb-server/lib/handler/read-change-feed.js"
_START_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class CosmosServer:
    endpoint: str
    key: str = EMULATOR_KEY

    @property
    def connection_string(self) -> str:
        return f"AccountEndpoint={self.endpoint}/;AccountKey={self.key};"


def allow_sdk_warnings() -> None:
    """Ignore, for the rest of the current test, the one warning the SDK path raises.

    aiohttp warns (ResourceWarning) when the SDK hands it a request body over 1 MiB as bytes,
    which legal documents up to Cosmos' 2 MiB limit are. Call it inside a test (or a
    function-scoped fixture): pytest resets warning filters after each test.
    """
    warnings.filterwarnings(
        "ignore",
        message="Sending a large body directly with raw bytes",
        category=ResourceWarning,
        module="aiohttp.payload",
    )


def ensure_installed() -> None:
    """``npm ci`` (which applies the patches) unless the patched server is already there."""
    if _PATCH_MARKER.exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is needed to install the Cosmos DB test server (tests/emulators)")
    # A lock, so parallel test processes on a fresh checkout install once.
    with (Path(tempfile.gettempdir()) / "mystira-emulators-npm.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _PATCH_MARKER.exists():
            subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True, timeout=600
            )
    if not _PATCH_MARKER.exists():
        raise RuntimeError("npm ci ran but the cosmosdb-server patch is not applied")


@contextmanager
def running_cosmos_server() -> Iterator[CosmosServer]:
    """Start a server on a free loopback port; stop it on exit."""
    ensure_installed()
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is needed to run the Cosmos DB test server")
    proc = subprocess.Popen(
        [node, str(HERE / "cosmos_server.js"), "0"],  # port 0: the OS picks a free one
        cwd=HERE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "NODE_NO_WARNINGS": "1"},
    )
    try:
        port = _wait_for_port(proc)
        yield CosmosServer(f"https://127.0.0.1:{port}")
    finally:
        _stop(proc)


def _wait_for_port(proc: subprocess.Popen[bytes]) -> int:
    """The port from the server's ``listening PORT`` line, or an error if it never comes."""
    assert proc.stdout is not None
    deadline = time.monotonic() + _START_TIMEOUT_S
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if sel.select(timeout=0.1):
                line = proc.stdout.readline().decode().strip()
                if line.startswith("listening "):
                    return int(line.split()[1])
            if proc.poll() is not None:
                raise RuntimeError(f"cosmos test server exited with {proc.returncode}")
    raise RuntimeError(f"cosmos test server not ready within {_START_TIMEOUT_S} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


@pytest.fixture(scope="session")
def cosmos_server() -> Iterator[CosmosServer]:
    """One test server for the whole session; tests keep apart by database name."""
    with running_cosmos_server() as server:
        yield server
