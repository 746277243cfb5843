"""The Cosmos DB document store: the adapter, its provisioning, its error translation.

Everything else in this package is private (``_``-modules).
"""

from mystira_data.documents.cosmos._errors import _cosmos_errors as cosmos_errors
from mystira_data.documents.cosmos._provision import COMPOSITE_INDEXES, Provisioned, provision
from mystira_data.documents.cosmos._stats import CosmosStats
from mystira_data.documents.cosmos._store import CosmosDocumentStore

__all__ = [
    "COMPOSITE_INDEXES",
    "CosmosDocumentStore",
    "CosmosStats",
    "Provisioned",
    "cosmos_errors",
    "provision",
]
