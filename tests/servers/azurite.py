"""Azurite (Azure Blob Storage emulator) for pytest: installed on first use, free port.

Runs ``azurite-blob``, installed from the lock in ``tests/emulators``, in memory, bound to
127.0.0.1, with telemetry off. Clients use the emulator's well-known ``devstoreaccount1``
account and key (published by Microsoft for the emulator; never valid on a real account).

    def test_x(azurite: Azurite) -> None: ...            # the session fixture
    from tests.servers.azurite import running_azurite    # a context manager
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.servers.npm import EMULATORS, ensure_installed
from tests.servers.ports import free_port, listening
from tests.servers.processes import terminate, wait_until

_BINARY = EMULATORS / "node_modules" / ".bin" / "azurite-blob"
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


def _wait_listening(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    if wait_until(lambda: listening(port), lambda: proc.poll() is None, _START_TIMEOUT_S):
        return
    if proc.poll() is not None:
        output = log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"azurite-blob exited with {proc.returncode}: {output}")
    raise RuntimeError("azurite-blob did not start listening in time")


@contextmanager
def running_azurite() -> Iterator[Azurite]:
    """Azurite on a free loopback port, in memory; stopped on exit."""
    ensure_installed(_BINARY, "Azurite")
    port = free_port()
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
        terminate(proc)
        shutil.rmtree(workspace, ignore_errors=True)
