"""Waiting for a server process to come up, and ending it."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable


def wait_until(ready: Callable[[], bool], alive: Callable[[], bool], timeout_s: float) -> bool:
    """Poll ``ready`` until it holds (True), the process dies or time runs out (False)."""
    deadline = time.monotonic() + timeout_s
    while not ready():
        if not alive() or time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def terminate(proc: subprocess.Popen[bytes], timeout_s: float = 10.0) -> None:
    """SIGTERM and wait; SIGKILL when it does not end in time (a hung server)."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout_s)
