"""Type names shared across the package, stated once."""

from __future__ import annotations

from typing import Any

# A partition-key value: Cosmos DB accepts JSON scalars (ours are strings in practice).
PartitionKey = str | int | float | bool

# A stored document as its JSON dict (camelCase, system fields included); the
# Pydantic model base is `domain.Document`.
JsonDoc = dict[str, Any]
