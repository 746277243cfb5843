"""Bearer credentials → `Principal`: API keys from the store (cached ≤ 1 s), or OIDC JWTs.

The cache keeps a lookup (hit or miss) per key id for ``Api:KeyCacheSeconds`` at most, so a
key made or revoked by any process takes effect everywhere within that time.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from mystira_data.api.auth.keys import KeyRecord, KeyStore, key_id_of
from mystira_data.api.auth.oidc import OidcVerifier, looks_like_jwt
from mystira_data.api.auth.roles import Principal
from mystira_data.api.problems import unauthorized

# Bounds the cache, so a flood of made-up key ids cannot grow it without end.
MAX_CACHED = 10_000


class Authenticator:
    def __init__(
        self,
        keys: KeyStore,
        *,
        ttl_s: float,
        oidc: OidcVerifier | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.keys = keys
        self.ttl_s = ttl_s
        self.oidc = oidc
        self.clock = clock
        self._cache: dict[str, tuple[float, KeyRecord | None]] = {}

    async def authenticate(self, authorization: str | None) -> Principal:
        """The caller of an ``Authorization`` header value; 401 problem when not valid."""
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise unauthorized("send Authorization: Bearer <key>")
        if self.oidc is not None and looks_like_jwt(token):
            return self.oidc.verify(token)
        key_id = key_id_of(token)
        record = await self._lookup(key_id) if key_id else None
        if record is None or not record.active or not record.matches(token):
            raise unauthorized("unknown or revoked key")
        return Principal(record.key_id, record.role, record.account_id)

    async def record(self, key_id: str) -> KeyRecord | None:
        """The stored key ``key_id`` (cached like a bearer lookup): console sessions re-check
        their key with it on every request."""
        return await self._lookup(key_id)

    async def _lookup(self, key_id: str) -> KeyRecord | None:
        now = self.clock()
        cached = self._cache.get(key_id)
        if cached is not None and now - cached[0] < self.ttl_s:
            return cached[1]
        record = await self.keys.find(key_id)
        if len(self._cache) >= MAX_CACHED:
            self._cache.clear()
        self._cache[key_id] = (now, record)
        return record
