"""API authentication: keys (hashed at rest), optional OIDC tokens, roles, dependencies."""

from mystira_data.api.auth.dependency import Admin, Caller, Operator, require
from mystira_data.api.auth.keys import KeyRecord, KeyStore
from mystira_data.api.auth.roles import Principal, Role

__all__ = ["Admin", "Caller", "KeyRecord", "KeyStore", "Operator", "Principal", "Role", "require"]
