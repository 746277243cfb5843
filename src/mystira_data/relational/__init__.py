"""The relational store: V001-compatible tables, lossless mapping, migrations, analytics.

PostgreSQL in production, SQLite as the embedded default; see `store.RelationalStore`.
What the polyglot layer may use is exported here; the other modules are internals.

    RelationalStore, BulkBatch          the store and its prepared bulk batch
    TableMapping, Kind, mapping_for     a container's table mapping (segment checksums)
    check_storable                      refuse a document the table cannot hold, up front
    filing_version, storable_text,      what a dead letter or sync-log row can record
      storable_payload
    tables, insert_for                  the polyglot state tables and a dialect's INSERT
"""

from mystira_data.relational import tables
from mystira_data.relational.bulk import insert_for
from mystira_data.relational.columns import Kind
from mystira_data.relational.limits import filing_version, storable_payload, storable_text
from mystira_data.relational.mapping import TableMapping, check_storable, mapping_for
from mystira_data.relational.store import BulkBatch, RelationalStore

__all__ = [
    "BulkBatch",
    "Kind",
    "RelationalStore",
    "TableMapping",
    "check_storable",
    "filing_version",
    "insert_for",
    "mapping_for",
    "storable_payload",
    "storable_text",
    "tables",
]
