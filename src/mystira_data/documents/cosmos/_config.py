"""Connection settings for the Cosmos DB adapter: connection strings, endpoints, TLS policy.

Error messages name the setting but never echo its value: a connection string holds the key.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic import SecretStr

from mystira_data.errors import ConfigError

CONNECTION_STRING_KEY = "ConnectionStrings:CosmosDb"


@dataclass(frozen=True)
class CosmosConnection:
    endpoint: str
    key: SecretStr
    verify_tls: bool = True


def parse_connection_string(conn: str | SecretStr) -> CosmosConnection:
    """``AccountEndpoint=https://…;AccountKey=…;`` (any order, keys case-insensitive)."""
    raw = conn.get_secret_value() if isinstance(conn, SecretStr) else conn
    parts: dict[str, str] = {}
    for part in raw.split(";"):
        name, sep, value = part.strip().partition("=")  # the key itself ends in '=' padding
        if sep:
            parts[name.strip().lower()] = value.strip()
    endpoint, key = parts.get("accountendpoint"), parts.get("accountkey")
    if not endpoint or not key:
        raise ConfigError(CONNECTION_STRING_KEY, "needs both AccountEndpoint and AccountKey")
    # The .NET SDK's emulator flag; check_endpoint still allows it for loopback hosts only.
    insecure = parts.get("disableservercertificatevalidation", "").lower() == "true"
    return CosmosConnection(endpoint, SecretStr(key), verify_tls=not insecure)


def check_key(key: str | SecretStr) -> SecretStr:
    """Account keys are base64; the SDK would fail on each request, so refuse it up front."""
    secret = key if isinstance(key, SecretStr) else SecretStr(key)
    try:
        base64.b64decode(secret.get_secret_value(), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(CONNECTION_STRING_KEY, "AccountKey is not base64") from None
    return secret


def check_endpoint(endpoint: str, *, verify_tls: bool) -> str:
    """The endpoint, if it is an http(s) URL; TLS checks may be off only for loopback hosts."""
    url = urlsplit(endpoint)
    if url.scheme not in ("https", "http") or not url.hostname:
        raise ConfigError(CONNECTION_STRING_KEY, "AccountEndpoint must be an https:// URL")
    if not verify_tls and not is_loopback(url.hostname):
        # A self-signed test server is fine on this machine; anywhere else it invites MITM.
        raise ConfigError("verify_tls", "TLS verification may only be disabled for loopback")
    return endpoint


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_partition_keys(partition_keys: Mapping[str, str]) -> dict[str, str]:
    for container, pk_path in partition_keys.items():
        if not pk_path.startswith("/") or len(pk_path) < 2:
            raise ConfigError(f"partition_keys.{container}", f"bad path {pk_path!r}")
    return dict(partition_keys)
