"""Blob-store port and adapters: filesystem (embedded default) and Azure Blob Storage."""

from mystira_data.blobs.factory import open_blob_store
from mystira_data.blobs.port import (
    Blob,
    BlobInfo,
    BlobSource,
    BlobStore,
    InvalidSignature,
    check_blob_name,
    file_chunks,
)

__all__ = [
    "Blob",
    "BlobInfo",
    "BlobSource",
    "BlobStore",
    "InvalidSignature",
    "check_blob_name",
    "file_chunks",
    "open_blob_store",
]
