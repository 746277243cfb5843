"""Driver exceptions become our errors (one translation point, `sql_errors`)."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import exc as sa_exc

from mystira_data.errors import (
    AlreadyExists,
    ConcurrencyConflict,
    ConfigError,
    ForeignKeyViolation,
    InvalidDocument,
    MystiraError,
    NotFound,
    StoreUnavailable,
)
from mystira_data.relational.errors import sql_errors


class FakePgError(Exception):
    """Stands in for an asyncpg/psycopg error: they carry the SQLSTATE and constraint."""

    def __init__(self, sqlstate: str, constraint: str | None = None) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate
        self.constraint_name = constraint


def wrapped(orig: Exception, kind: type[sa_exc.DBAPIError] = sa_exc.DBAPIError) -> Exception:
    return kind("INSERT ...", {}, orig)


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (wrapped(FakePgError("23505"), sa_exc.IntegrityError), AlreadyExists),
        (wrapped(FakePgError("23503", "fk_game_sessions_account")), ForeignKeyViolation),
        (wrapped(FakePgError("40001")), ConcurrencyConflict),
        (wrapped(FakePgError("40P01")), ConcurrencyConflict),
        (wrapped(FakePgError("22001")), InvalidDocument),
        (wrapped(FakePgError("22P05")), InvalidDocument),
        (wrapped(FakePgError("08006")), StoreUnavailable),
        (wrapped(FakePgError("57P01")), StoreUnavailable),
        (wrapped(FakePgError("53300")), StoreUnavailable),
        (wrapped(FakePgError("42P01")), ConfigError),
        (wrapped(FakePgError("XX000")), MystiraError),
        (FakePgError("23505"), AlreadyExists),  # raw, as from COPY on the driver itself
        (ConnectionRefusedError(111, "refused"), StoreUnavailable),
        (TimeoutError(), StoreUnavailable),
        (sa_exc.TimeoutError("pool exhausted"), StoreUnavailable),
        (
            wrapped(sqlite3.IntegrityError("UNIQUE constraint failed: accounts.email")),
            AlreadyExists,
        ),
        (wrapped(sqlite3.IntegrityError("FOREIGN KEY constraint failed")), ForeignKeyViolation),
        (wrapped(sqlite3.IntegrityError("NOT NULL constraint failed: x")), InvalidDocument),
        (wrapped(sqlite3.OperationalError("database is locked")), StoreUnavailable),
        (wrapped(sqlite3.OperationalError("no such table: accounts")), ConfigError),
    ],
)
def test_driver_errors_are_translated(raised: Exception, expected: type[Exception]) -> None:
    with pytest.raises(expected) as caught, sql_errors("GameSessions", "s1"):
        raise raised
    assert caught.value.__cause__ is raised
    assert type(caught.value) is expected


def test_fk_violations_name_the_field() -> None:
    with pytest.raises(ForeignKeyViolation) as caught, sql_errors("GameSessions", "s1"):
        raise wrapped(FakePgError("23503", "fk_game_sessions_account"))
    assert caught.value.path == "accountId"
    assert "accountId" in str(caught.value)


def test_our_errors_and_unrelated_ones_pass_through() -> None:
    with pytest.raises(NotFound), sql_errors("Accounts", "a1"):
        raise NotFound("Accounts", "a1")
    with pytest.raises(KeyError), sql_errors("Accounts", "a1"):
        raise KeyError("not a database error")
