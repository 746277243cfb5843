"""What the relational side can never store, stated once for every path that writes it.

PostgreSQL refuses a NUL character in ``text`` and in JSONB strings (keys too), a value
longer than a ``VARCHAR(n)`` column, and a ``BIGINT`` beyond 2**63 - 1. The document store
accepts all three, so a document written there alone would stall replication into the other
store forever. The write door (`mapping.check_storable`, used by the polyglot repository and
`import`) and the relational mapping itself call these checks, so a document is refused
before either store acknowledges it, and the embedded SQLite store refuses what PostgreSQL
would (SQLite itself stores NUL happily).

A leaf module: the mapping imports it, never the other way round.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mystira_data.errors import InvalidDocument

MAX_VERSION = 2**63 - 1  # BIGINT
NUL = "\x00"


def nul_path(value: Any, path: str = "") -> str | None:
    """The field path of the first string (value or key) holding NUL; None when clean."""
    if isinstance(value, str):
        return path if NUL in value else None
    if isinstance(value, Mapping):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and NUL in key:
                return inner
            found = nul_path(item, inner)
            if found is not None:
                return found
        return None
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found = nul_path(item, f"{path}[{i}]")
            if found is not None:
                return found
    return None


def refuse_nul(doc: Mapping[str, Any]) -> None:
    """`InvalidDocument` naming the first field whose text holds a NUL character."""
    path = nul_path(doc)
    if path is not None:
        raise InvalidDocument(
            "text contains a NUL character (\\u0000), which PostgreSQL cannot store",
            path=path.replace(NUL, "\\u0000"),
        )


def storable_text(text: str) -> str:
    """``text`` with each NUL written as the escape ``\\u0000``, for bookkeeping rows (dead
    letters, attempt counts) that must record a document PostgreSQL refused."""
    return text.replace(NUL, "\\u0000")


def storable_payload(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    """``doc`` as a JSONB column can hold it: itself, or, when it holds a NUL character, its
    exact JSON text kept whole under ``_stored_text`` (the escape is ordinary text there)."""
    if nul_path(doc) is None:
        return doc
    return {"_stored_text": json.dumps(doc, ensure_ascii=False, default=str)}


def check_version(value: Any) -> int | None:
    """``_version`` as stored: absent (None) or an integer within 0..MAX_VERSION."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_VERSION:
        raise InvalidDocument(f"must be an integer within 0..{MAX_VERSION}", path="_version")
    return value


def filing_version(doc: Mapping[str, Any]) -> int:
    """The version to file a refused document under (dead letters, attempt counts): its own,
    or 0 when that is unusable, since such a document must still be recordable."""
    version = doc.get("_version")
    if isinstance(version, int) and not isinstance(version, bool) and 0 <= version <= MAX_VERSION:
        return version
    return 0


def check_length(value: Any, limit: int | None, path: str, column: str) -> None:
    """A text value must fit its ``VARCHAR(limit)`` column."""
    if limit is not None and isinstance(value, str) and len(value) > limit:
        raise InvalidDocument(
            f"longer than {limit} characters, the limit of column {column}", path=path
        )
