"""What a failed command prints and exits with: one line on stderr and an exit code.

Exit codes (README "Exit codes"): 0 ok, 1 a finding (verify found differences), 2 a usage,
configuration or input error, 3 a store unavailable, 4 an internal error (a bug: ``--debug``
shows where). Driver exceptions that escape an adapter (a refused connection while opening
a store, a missing database) are classified here, so an operator never sees a traceback.
"""

from __future__ import annotations

import errno
import socket
import sys
from dataclasses import dataclass
from enum import IntEnum

from mystira_data.errors import MystiraError, StoreUnavailable

_NETWORK_ERRNOS = frozenset(
    {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EHOSTDOWN, errno.ETIMEDOUT, errno.ENETDOWN}
)


class ExitCode(IntEnum):
    OK = 0
    FINDING = 1
    USAGE = 2
    UNAVAILABLE = 3
    INTERNAL = 4


@dataclass(frozen=True)
class Failure:
    code: ExitCode
    message: str


def classify(exc: BaseException) -> Failure:
    """The exit code and the one-line message for ``exc``."""
    if isinstance(exc, OSError) and not _is_connection_failure(exc):
        # A file the command was given (or writes) cannot be used: input, not a store outage.
        return Failure(ExitCode.USAGE, f"{type(exc).__name__}: {_text(exc)}")
    ours = exc if isinstance(exc, MystiraError) else _translated(exc)
    if isinstance(ours, StoreUnavailable):
        return Failure(ExitCode.UNAVAILABLE, f"{type(ours).__name__}: {ours}")
    if ours is not None:
        return Failure(ExitCode.USAGE, f"{type(ours).__name__}: {ours}")
    if _is_connection_failure(exc):
        return Failure(ExitCode.UNAVAILABLE, f"StoreUnavailable: {_store_of(exc)}: {_text(exc)}")
    return Failure(
        ExitCode.INTERNAL,
        f"internal error {type(exc).__name__}: {_text(exc)} (rerun with --debug for the traceback)",
    )


def _translated(exc: BaseException) -> MystiraError | None:
    """A driver exception in our terms, when the relational layer knows it."""
    if "sqlalchemy" not in sys.modules:
        return None  # nothing relational was ever opened
    from mystira_data.relational.errors import translate

    return translate(exc)


def _is_connection_failure(exc: BaseException) -> bool:
    # Refused or reset connections, unknown hosts, timeouts, unreachable networks; Redis wraps
    # its own in redis.exceptions.ConnectionError/TimeoutError, which are not OSErrors.
    if isinstance(exc, ConnectionError | TimeoutError | socket.gaierror | socket.herror):
        return True
    if isinstance(exc, OSError) and exc.errno in _NETWORK_ERRNOS:
        return True
    name = type(exc).__name__
    return type(exc).__module__.startswith("redis") and name in ("ConnectionError", "TimeoutError")


def _store_of(exc: BaseException) -> str:
    """Which store a connection failure came from, judged by the modules it passed through."""
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame.f_globals.get("__name__", ""))
        tb = tb.tb_next
    for prefix, store in (
        ("asyncpg", "PostgreSQL"),
        ("psycopg", "PostgreSQL"),
        ("redis", "Redis"),
        ("azure.cosmos", "Cosmos DB"),
        ("azure.storage", "Blob storage"),
    ):
        if any(str(name).startswith(prefix) for name in frames):
            return store
    return "a store"


def _text(exc: BaseException) -> str:
    """The exception's message on one line (drivers sometimes add a second)."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
