"""The embedded SQLite document store (the default when no Cosmos DB is configured).

``SCHEMA`` and ``page_sql`` are public for query-plan tests; the rest is private.
"""

from mystira_data.documents.sqlite._sql import SCHEMA, page_sql
from mystira_data.documents.sqlite._store import SqliteDocumentStore

__all__ = ["SCHEMA", "SqliteDocumentStore", "page_sql"]
