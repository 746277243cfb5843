"""Driver exceptions -> our error hierarchy, in one place (`sql_errors`).

PostgreSQL errors are classified by SQLSTATE, whichever driver raised them (asyncpg, psycopg,
or SQLAlchemy's wrapper around either); SQLite's by its result code and message. Messages
name the container, id and constraint but never column values: rows hold children's data.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator

from sqlalchemy import exc as sa_exc

from mystira_data.errors import (
    AlreadyExists,
    ConcurrencyConflict,
    ConfigError,
    ForeignKeyViolation,
    InvalidDocument,
    MystiraError,
    StoreUnavailable,
)
from mystira_data.relational.engine import SETTING_KEY

# Foreign keys (V002) and what a violation means in document terms.
_FK_MEANING = {
    "fk_game_sessions_account": "accountId refers to an account the relational store lacks",
    "fk_player_scores_game_session": (
        "gameSessionId refers to a game session the relational store lacks"
    ),
}
_UNAVAILABLE_STATES = ("08", "53", "57P01", "57P02", "57P03", "58")
_SCHEMA_STATES = ("42P01", "42703", "3F000")  # undefined table / column / schema


@contextlib.contextmanager
def sql_errors(container: str = "", id: str = "") -> Iterator[None]:
    """Translate anything a driver raises inside the block; `MystiraError`s pass through."""
    try:
        yield
    except MystiraError:
        raise
    except Exception as exc:
        translated = translate(exc, container, id)
        if translated is None:
            raise
        raise translated from exc


def translate(exc: BaseException, container: str = "", id: str = "") -> MystiraError | None:
    """Our error for a driver exception, or None when ``exc`` is not a database error."""
    where = f"{container}/{id}" if id else container or "relational store"
    state = sqlstate(exc)
    if state is not None:
        return _from_sqlstate(state, exc, container, id, where)
    root = _root(exc)
    if isinstance(root, sqlite3.Error):
        return _from_sqlite(root, container, id, where)
    if isinstance(exc, sa_exc.TimeoutError) or isinstance(root, OSError | TimeoutError):
        return StoreUnavailable(f"{where}: database unreachable ({type(root).__name__})")
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return StoreUnavailable(f"{where}: database connection lost")
    if isinstance(exc, sa_exc.DataError) or _named(root, "DataError"):
        # Refused by the driver before reaching the server (e.g. a value its codec rejects).
        return InvalidDocument(f"{where}: value rejected by the database driver")
    if isinstance(exc, sa_exc.OperationalError) or _named(root, "Connection", "Operational"):
        return StoreUnavailable(f"{where}: database connection failed ({type(root).__name__})")
    if isinstance(exc, sa_exc.DBAPIError) or _is_driver_error(root):
        return MystiraError(f"{where}: database error ({type(root).__name__})")
    return None


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE carried by ``exc`` or anything it wraps, if any."""
    seen: set[int] = set()
    node: BaseException | None = exc
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        for attr in ("sqlstate", "pgcode"):
            value = getattr(node, attr, None)
            if isinstance(value, str) and len(value) == 5:
                return value
        node = getattr(node, "orig", None) or node.__cause__
    return None


def _from_sqlstate(
    state: str, exc: BaseException, container: str, id: str, where: str
) -> MystiraError:
    constraint = _constraint(exc)
    if state == "23505":
        return AlreadyExists(container, id or f"(unique {constraint or 'key'})")
    if state == "23503":
        meaning = _FK_MEANING.get(constraint or "", f"foreign key {constraint} violated")
        return ForeignKeyViolation(f"{where}: {meaning}", path=_fk_path(constraint))
    if state in ("40001", "40P01"):
        return ConcurrencyConflict(f"{where}: concurrent transaction conflict (SQLSTATE {state})")
    if state.startswith(("22", "23")):
        return InvalidDocument(f"{where}: rejected by PostgreSQL ({_describe(state)})")
    if state.startswith(_UNAVAILABLE_STATES):
        return StoreUnavailable(f"{where}: PostgreSQL unavailable (SQLSTATE {state})")
    if state == "3D000":
        return ConfigError(
            SETTING_KEY,
            "the database does not exist; create it (createdb) "
            "or run `mystira db upgrade --create-database`",
        )
    if state.startswith("28"):
        return ConfigError(SETTING_KEY, "PostgreSQL refused the login (user or password)")
    if state in _SCHEMA_STATES:
        return ConfigError(
            SETTING_KEY, "database schema is missing or old; run `mystira db upgrade`"
        )
    return MystiraError(f"{where}: PostgreSQL error (SQLSTATE {state})")


def _describe(state: str) -> str:
    known = {
        "22001": "value too long for its column",
        "22003": "number out of range for its column",
        "22021": "text contains a NUL character, which PostgreSQL cannot store",
        "22P05": "text contains a NUL character, which PostgreSQL cannot store",
        "22007": "invalid date/time",
        "22008": "date/time out of range",
        "23502": "a required column is missing",
        "23514": "a check constraint failed",
    }
    return known.get(state, f"SQLSTATE {state}")


def _from_sqlite(root: sqlite3.Error, container: str, id: str, where: str) -> MystiraError:
    message = str(root)
    if isinstance(root, sqlite3.IntegrityError):
        if "UNIQUE" in message or "PRIMARY KEY" in message:
            return AlreadyExists(container, id or "(unique key)")
        if "FOREIGN KEY" in message:
            return ForeignKeyViolation(f"{where}: a referenced parent row is missing")
        return InvalidDocument(f"{where}: rejected by SQLite ({message.split(':')[0]})")
    if "no such table" in message or "no such column" in message:
        return ConfigError(
            SETTING_KEY, "database schema is missing or old; run `mystira db upgrade`"
        )
    if isinstance(root, sqlite3.OperationalError):
        # busy/locked after the busy timeout, unreadable file, disk I/O: all transient here.
        return StoreUnavailable(f"{where}: SQLite unavailable ({message})")
    return MystiraError(f"{where}: SQLite error ({type(root).__name__})")


def _constraint(exc: BaseException) -> str | None:
    seen: set[int] = set()
    node: BaseException | None = exc
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        name = getattr(node, "constraint_name", None)  # asyncpg
        diag = getattr(node, "diag", None)  # psycopg
        if name is None and diag is not None:
            name = getattr(diag, "constraint_name", None)
        if isinstance(name, str):
            return name
        node = getattr(node, "orig", None) or node.__cause__
    return None


def _fk_path(constraint: str | None) -> str:
    return {
        "fk_game_sessions_account": "accountId",
        "fk_player_scores_game_session": "gameSessionId",
    }.get(constraint or "", "")


def _root(exc: BaseException) -> BaseException:
    """The innermost driver exception (SQLAlchemy wraps it in ``orig``)."""
    node: BaseException = exc
    for _ in range(5):
        inner = getattr(node, "orig", None) or node.__cause__
        if not isinstance(inner, BaseException):
            break
        node = inner
    return node


def _is_driver_error(exc: BaseException) -> bool:
    module = type(exc).__module__
    return module.startswith(("asyncpg", "psycopg", "aiosqlite"))


def _named(exc: BaseException, *parts: str) -> bool:
    """A driver exception whose class name contains one of ``parts``."""
    name = type(exc).__name__
    return _is_driver_error(exc) and any(part in name for part in parts)
