"""The domain documents of Mystira: Pydantic models, one module per area, and their codecs.

Pure data, no I/O. Attributes are snake_case; the wire (and the document store) is camelCase.
"""

from mystira_data.domain.base import Document, MystiraModel
from mystira_data.domain.codec import DocumentCodec, JsonCodec, codec_for

__all__ = [
    "Document",
    "DocumentCodec",
    "JsonCodec",
    "MystiraModel",
    "codec_for",
]
