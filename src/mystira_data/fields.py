"""The system fields a stored document may carry besides its model's fields, named once.

    STORE_MADE      made by a store on every write (Cosmos DB's own; the embedded store's)
    ROW_TIME        the relational row's write time, reported with relational documents
    VERSIONING      the polyglot layer's own: ``_version`` and the ``_deleted`` tombstone flag
    WRITER          the polyglot layer's mark on its own document writes (``_writer``: a
                    signature of the content, which a foreign writer drops or invalidates)
    NOT_CONTENT     what differs between two faithful copies: STORE_MADE, ROW_TIME, WRITER
    SYSTEM_FIELDS   all of them: never part of a domain model
"""

from __future__ import annotations

STORE_MADE = frozenset({"_etag", "_ts", "_rid", "_self", "_attachments", "_lsn"})
ROW_TIME = "_updated_at"
VERSIONING = frozenset({"_version", "_deleted"})
WRITER = "_writer"
NOT_CONTENT = STORE_MADE | {ROW_TIME, WRITER}
SYSTEM_FIELDS = NOT_CONTENT | VERSIONING
