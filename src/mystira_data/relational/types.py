"""Column types that mean the same on PostgreSQL and on SQLite (the embedded default).

* `Json` — JSONB on PostgreSQL, JSON text on SQLite. Python ``None`` is SQL NULL.
* `Timestamp` — ``TIMESTAMP WITH TIME ZONE`` on PostgreSQL. SQLite has no such type, so it
  holds the domain's fixed-width UTC text (``2024-05-01T10:00:00.000000Z``): it sorts and
  compares chronologically as text and reads back exactly.
* `Elapsed` — ``INTERVAL`` on PostgreSQL (as V001 has it), whole microseconds on SQLite so that
  medians and comparisons are plain integer arithmetic there.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from mystira_data.domain.base import format_utc

Json: TypeEngine[Any] = sa.JSON(none_as_null=True).with_variant(
    postgresql.JSONB(none_as_null=True), "postgresql"
)

_MICROSECOND = timedelta(microseconds=1)


def _is_pg(dialect: Dialect) -> bool:
    return dialect.name == "postgresql"


class Timestamp(TypeDecorator[datetime]):
    """An aware UTC datetime (naive values are refused: they would be ambiguous)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if _is_pg(dialect):
            return dialect.type_descriptor(postgresql.TIMESTAMP(timezone=True))
        return dialect.type_descriptor(sa.String(32))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a TIMESTAMP WITH TIME ZONE column")
        return value if _is_pg(dialect) else format_utc(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        parsed = datetime.fromisoformat(str(value))
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class Elapsed(TypeDecorator[timedelta]):
    """A duration: INTERVAL on PostgreSQL, BIGINT microseconds on SQLite."""

    impl = sa.Interval
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if _is_pg(dialect):
            return dialect.type_descriptor(postgresql.INTERVAL())
        return dialect.type_descriptor(sa.BigInteger())

    def process_bind_param(self, value: timedelta | None, dialect: Dialect) -> Any:
        if value is None or _is_pg(dialect):
            return value
        return value // _MICROSECOND

    def process_result_value(self, value: Any, dialect: Dialect) -> timedelta | None:
        if value is None or isinstance(value, timedelta):
            return value
        return timedelta(microseconds=int(value))


def big_serial() -> TypeEngine[int]:
    """BIGSERIAL on PostgreSQL; INTEGER on SQLite, where only that makes a rowid alias."""
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")
