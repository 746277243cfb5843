"""Type names shared across the package, stated once."""

from __future__ import annotations

# A partition-key value: Cosmos DB accepts JSON scalars (ours are strings in practice).
PartitionKey = str | int | float | bool
