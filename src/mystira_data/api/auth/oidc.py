"""Optional sign-in with an OIDC access token (a JWT), checked against a local JWKS file.

The token's issuer and audience must match the settings; its role comes from a claim
(``Api:OidcRoleClaim``), and a player's account from another (``Api:OidcAccountClaim``).
The JWKS is read once at start, so a bad file is a `ConfigError` before the first request.
"""

from __future__ import annotations

import json
from typing import Any

import jwt

from mystira_data.api.auth.roles import Principal, Role
from mystira_data.api.problems import ApiProblem, unauthorized
from mystira_data.errors import ConfigError
from mystira_data.settings import Api

ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


class OidcVerifier:
    """Validates bearer JWTs: signature, expiry, issuer, audience; maps claims to a role."""

    def __init__(self, api: Api) -> None:
        self.issuer = api.oidc_issuer
        self.audience = api.oidc_audience
        self.role_claim = api.oidc_role_claim
        self.account_claim = api.oidc_account_claim
        self.keys = _load_jwks(api)

    def verify(self, token: str) -> Principal:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = self._key(kid)
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise unauthorized(f"invalid token: {type(exc).__name__}") from None
        return self._principal(claims)

    def _key(self, kid: Any) -> Any:
        for found in self.keys.keys:
            if kid is None or found.key_id == kid:
                return found.key
        raise unauthorized("invalid token: unknown signing key")

    def _principal(self, claims: dict[str, Any]) -> Principal:
        try:
            role = Role(str(claims.get(self.role_claim, "")))
        except ValueError:
            raise ApiProblem(403, "Forbidden", "the token carries no known role") from None
        account = claims.get(self.account_claim)
        if role is Role.PLAYER and not account:
            raise ApiProblem(403, "Forbidden", "a player token needs its account claim")
        return Principal(f"oidc:{claims['sub']}", role, str(account) if account else None)


def _load_jwks(api: Api) -> jwt.PyJWKSet:
    path = api.oidc_jwks_file
    if path is None:
        raise ConfigError("Api:OidcJwksFile", "required when OIDC is configured")
    try:
        return jwt.PyJWKSet.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, jwt.PyJWTError) as exc:
        raise ConfigError(
            "Api:OidcJwksFile", f"cannot read the JWKS: {type(exc).__name__}"
        ) from None
