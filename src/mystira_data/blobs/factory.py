"""Build the blob store `Settings` ask for: Azure when ``ConnectionStrings:BlobStorage`` is
set, else the filesystem store under ``<data dir>/blobs`` (the embedded default)."""

from __future__ import annotations

from mystira_data.blobs.port import BlobStore
from mystira_data.settings import Settings

CONTAINER = "media"


async def open_blob_store(settings: Settings) -> BlobStore:
    """The configured store, ready to use (Azure: container created if missing)."""
    connection = settings.connection_strings.blob_storage.get_secret_value()
    if not connection:
        from mystira_data.blobs.filesystem import FilesystemBlobStore

        return FilesystemBlobStore(settings.data_dir / "blobs", container=CONTAINER)
    # Imported only when configured: the Azure SDK is slow to import.
    from mystira_data.blobs.azure import AzureBlobStore

    store = AzureBlobStore(connection, CONTAINER)
    await store.ensure_container()
    return store
