"""The Cosmos DB test server for pytest: installed on first use, started on a free port.

``@vercel/cosmosdb-server`` (patched at install, see tests/emulators/README.md) runs in
memory over HTTPS with a self-signed certificate and accepts any key; clients use the
emulator's well-known key and skip TLS checks, which the adapter allows for loopback
addresses only.

    def test_x(cosmos_server: CosmosServer) -> None: ...   # the session fixture
    from tests.servers.cosmos import EMULATOR_KEY, allow_sdk_warnings, running_cosmos_server
"""

from __future__ import annotations

import os
import selectors
import shutil
import subprocess
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tests.servers.npm import EMULATORS, ensure_installed
from tests.servers.processes import terminate

# The public key of Microsoft's Cosmos DB emulator (documented, not a secret); the test
# server accepts any key, real accounts never this one.
EMULATOR_KEY = (
    "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="
)
# A file only the patch adds: its absence means node_modules predates the patch.
_PATCH_MARKER = EMULATORS / "node_modules/@vercel/cosmosdb-server/lib/handler/read-change-feed.js"
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


@contextmanager
def running_cosmos_server() -> Iterator[CosmosServer]:
    """Start a server on a free loopback port; stop it on exit."""
    ensure_installed(_PATCH_MARKER, "the patched Cosmos DB test server")
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is needed to run the Cosmos DB test server")
    proc = subprocess.Popen(
        [node, str(EMULATORS / "cosmos_server.js"), "0"],  # port 0: the OS picks a free one
        cwd=EMULATORS,
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
    terminate(proc)
    if proc.stdout is not None:
        proc.stdout.close()
