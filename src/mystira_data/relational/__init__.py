"""The relational store: V001-compatible tables, lossless mapping, migrations, analytics.

PostgreSQL in production, SQLite as the embedded default; see `store.RelationalStore`.
"""

from mystira_data.relational.store import RelationalStore

__all__ = ["RelationalStore"]
