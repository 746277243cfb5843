"""Azurite (Azure Blob Storage emulator) for pytest: installed on first use, free port.

Runs ``azurite-blob`` from this folder's committed lock, in memory, bound to 127.0.0.1, with
telemetry off. Clients use the emulator's well-known ``devstoreaccount1`` account and key
(published by Microsoft for the emulator; never valid on a real account).

    from tests.emulators.azurite import azurite          # a session-scoped fixture
    from tests.emulators.azurite import running_azurite  # a context manager
"""

from __future__ import annotations

import fcntl
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
_BINARY = HERE / "node_modules" / ".bin" / "azurite-blob"
_START_TIMEOUT_S = 30.0
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


@dataclass(frozen=True)
class Azurite:
    port: int

    @property
    def blob_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={self.blob_endpoint};"
        )


def ensure_installed() -> None:
    """``npm ci`` from the committed lock unless azurite is already installed."""
    if _BINARY.exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is needed to install Azurite (tests/emulators)")
    # The same lock as the Cosmos helper: one `npm ci` at a time on a fresh checkout.
    with (Path(tempfile.gettempdir()) / "mystira-emulators-npm.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _BINARY.exists():
            subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True, timeout=600
            )
    if not _BINARY.exists():
        raise RuntimeError("npm ci ran but azurite-blob is not installed")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_listening(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            output = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"azurite-blob exited with {proc.returncode}: {output}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("azurite-blob did not start listening in time")


@contextmanager
def running_azurite() -> Iterator[Azurite]:
    """Azurite on a free loopback port, in memory; stopped on exit."""
    ensure_installed()
    port = _free_port()
    workspace = Path(tempfile.mkdtemp(prefix="mystira-azurite-"))
    args = [str(_BINARY), "--blobHost", "127.0.0.1", "--blobPort", str(port)]
    args += ["--inMemoryPersistence", "--disableTelemetry", "--silent"]
    args += ["--skipApiVersionCheck", "--loose"]
    log = workspace / "azurite.log"
    with log.open("wb") as output:
        # cwd: anything Azurite still writes lands in our temporary folder.
        proc = subprocess.Popen(args, cwd=workspace, stdout=output, stderr=subprocess.STDOUT)
    try:
        _wait_listening(proc, port, log)
        yield Azurite(port)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        shutil.rmtree(workspace, ignore_errors=True)


@pytest.fixture(scope="session")
def azurite() -> Iterator[Azurite]:
    with running_azurite() as server:
        yield server
