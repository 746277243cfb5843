"""Keep the benchmark's own process on one core and the stores' servers on the others.

On a 2-core machine everything shares two cores: while PostgreSQL (and the async queue's
writer process) apply a batch for the secondary, the OS scheduler makes the benchmark's
callers wait for a core — a cost of the machine's size, not of the code being measured,
and one a deployment does not pay (there the database runs on its own host). ``--isolate``
models that: this process on CPU 0, the PostgreSQL server processes (new backends inherit
the postmaster's mask) and any process passed to `pin_away` on the rest. Needs permission
to change the server's CPU mask (root, or the server's user); restored on exit.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

CALLERS = {0}
EVERYTHING = frozenset(os.sched_getaffinity(0))  # read before this process narrows its own


def _server_pids(name: str = "postgres") -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if proc.name.isdigit() and (proc / "comm").read_text().strip() == name:
                pids.append(int(proc.name))
    return pids


def pin_away(pid: int) -> None:
    """Move ``pid`` off the callers' core."""
    os.sched_setaffinity(pid, EVERYTHING - CALLERS)


@contextlib.contextmanager
def isolated(enabled: bool) -> Iterator[None]:
    if not enabled:
        yield
        return
    everything = set(EVERYTHING)
    if len(everything) < 2:
        raise SystemExit("--isolate needs at least 2 CPUs")
    servers = _server_pids()
    if not servers:
        raise SystemExit("--isolate: no local PostgreSQL server processes found")
    try:
        for pid in servers:
            os.sched_setaffinity(pid, everything - CALLERS)
    except PermissionError:
        raise SystemExit("--isolate: no permission to change PostgreSQL's CPU mask") from None
    os.sched_setaffinity(0, CALLERS)
    try:
        yield
    finally:
        os.sched_setaffinity(0, everything)
        for pid in _server_pids():
            with contextlib.suppress(OSError):
                os.sched_setaffinity(pid, everything)
