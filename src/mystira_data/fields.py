"""The system fields a stored document may carry besides its model's fields, named once.

    STORE_MADE      made by a store on every write (Cosmos DB's own; the embedded store's)
    ROW_TIME        the relational row's write time, reported with relational documents
    VERSIONING      the polyglot layer's own: ``_version`` and the ``_deleted`` tombstone flag
    NOT_CONTENT     what differs between two faithful copies: STORE_MADE and ROW_TIME
    SYSTEM_FIELDS   all of them: never part of a domain model
"""

from __future__ import annotations

STORE_MADE = frozenset({"_etag", "_ts", "_rid", "_self", "_attachments", "_lsn"})
ROW_TIME = "_updated_at"
VERSIONING = frozenset({"_version", "_deleted"})
NOT_CONTENT = STORE_MADE | {ROW_TIME}
SYSTEM_FIELDS = NOT_CONTENT | VERSIONING
