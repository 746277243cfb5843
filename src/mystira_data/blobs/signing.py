"""Time-limited read URLs for the filesystem blob store (the local stand-in for a SAS).

A URL is ``{base}/{quoted name}?se={expiry, unix seconds}&sig={HMAC-SHA256}``: the signature
covers the name and the expiry, so neither can be changed without the key. The key lives in
the data dir (created once, readable by the owner only) so URLs outlive a restart and every
process on that data dir can verify them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

from mystira_data.blobs.port import InvalidSignature


def load_or_create_key(path: Path) -> bytes:
    """The signing key stored at ``path``; created atomically (O_EXCL) on first use."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    with os.fdopen(fd, "wb") as handle:
        handle.write(secrets.token_bytes(32))
    return path.read_bytes()


class UrlSigner:
    def __init__(
        self, key: bytes, base_url: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        if len(key) < 16:
            raise ValueError("signing key too short")
        self._key = key
        self._base = base_url.rstrip("/")
        self._clock = clock

    def sign(self, name: str, expires_in_seconds: float) -> str:
        expires = int(self._clock() + expires_in_seconds)
        return f"{self._base}/{quote(name)}?se={expires}&sig={self._signature(name, expires)}"

    def verify(self, url: str) -> str:
        """The blob name the URL grants, or `InvalidSignature` (bad, tampered or expired)."""
        parts = urlsplit(url)
        base_path = urlsplit(self._base).path
        if not parts.path.startswith(base_path + "/"):
            raise InvalidSignature("not a blob URL of this store")
        name = unquote(parts.path[len(base_path) + 1 :])
        query = parse_qs(parts.query)
        try:
            expires = int(query["se"][0])
            given = query["sig"][0]
        except (KeyError, ValueError, IndexError):
            raise InvalidSignature("blob URL lacks its expiry or signature") from None
        if not hmac.compare_digest(given, self._signature(name, expires)):
            raise InvalidSignature("blob URL signature does not match")
        if self._clock() >= expires:
            raise InvalidSignature("blob URL has expired")
        return name

    def _signature(self, name: str, expires: int) -> str:
        mac = hmac.new(self._key, f"{name}\n{expires}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
