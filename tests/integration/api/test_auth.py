"""Keys, roles, revocation within the cache time, OIDC tokens, rate and body limits."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from mystira_data.api.app import create_app
from mystira_data.api.auth.keys import digest
from mystira_data.api.auth.roles import Role
from mystira_data.errors import ConfigError
from mystira_data.settings import load_settings
from tests.integration.api.conftest import Service, ServiceFactory, account


async def test_requests_without_a_valid_key_are_401(service: Service) -> None:
    for headers in (
        {},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer nope"},
        {"Authorization": "Bearer myk_000000000000_forged"},
    ):
        answer = await service.http.get("/api/v1/accounts", headers=headers)
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == "Bearer"
        assert answer.headers["content-type"] == "application/problem+json"


async def test_a_key_is_stored_only_as_its_hash(service: Service) -> None:
    made, key = await service.state.keys.create(Role.OPERATOR)
    stored = await service.state.keys.find(made.key_id)
    assert stored is not None
    assert stored.key_hash == digest(key)
    assert key not in json.dumps(stored.as_json())
    assert stored.key_hash not in json.dumps(stored.as_json())


async def test_roles_gate_the_admin_routes(service: Service) -> None:
    player = await service.key("player", "a1")
    operator = await service.key("operator")
    admin = await service.key("admin")
    for headers, phases, keys in ((player, 403, 403), (operator, 200, 403), (admin, 200, 200)):
        assert (await service.http.get("/admin/v1/phases", headers=headers)).status_code == phases
        assert (await service.http.get("/admin/v1/keys", headers=headers)).status_code == keys


async def test_a_revoked_key_is_refused_once_the_cache_time_passes(service: Service) -> None:
    admin = await service.key("admin")
    made = await service.http.post("/admin/v1/keys", json={"role": "operator"}, headers=admin)
    assert made.status_code == 201
    key, key_id = made.json()["key"], made.json()["keyId"]
    headers = {"Authorization": f"Bearer {key}"}
    now = [1000.0]
    service.state.auth.clock = lambda: now[0]
    assert (await service.http.get("/admin/v1/phases", headers=headers)).status_code == 200
    assert (await service.http.delete(f"/admin/v1/keys/{key_id}", headers=admin)).status_code == 204
    now[0] += service.state.settings.api.key_cache_seconds  # the whole cache time, no more
    assert service.state.settings.api.key_cache_seconds <= 1.0
    assert (await service.http.get("/admin/v1/phases", headers=headers)).status_code == 401
    listed = (await service.http.get("/admin/v1/keys", headers=admin)).json()["items"]
    revoked = next(k for k in listed if k["keyId"] == key_id)
    assert revoked["revokedAt"] is not None
    assert key not in json.dumps(listed)


async def test_a_key_made_by_another_process_works_at_once(
    open_service: ServiceFactory,
) -> None:
    async with open_service() as one, open_service() as two:
        headers = await one.key("operator")
        assert (await two.http.get("/admin/v1/phases", headers=headers)).status_code == 200


async def test_the_rate_limit_answers_429_with_retry_after(open_service: ServiceFactory) -> None:
    limits = {"RateLimitPerSecond": 0.01, "RateLimitBurst": 2}
    async with open_service(Api=limits) as service:
        headers = await service.key("operator")
        codes = [
            (await service.http.get("/api/v1/accounts", headers=headers)).status_code
            for _ in range(3)
        ]
        assert codes == [200, 200, 429]
        last = await service.http.get("/api/v1/accounts", headers=headers)
        assert int(last.headers["retry-after"]) >= 1
        other = await service.key("operator")  # the bucket is per key
        assert (await service.http.get("/api/v1/accounts", headers=other)).status_code == 200


async def test_a_body_over_the_limit_is_413(open_service: ServiceFactory) -> None:
    async with open_service(Api={"MaxBodyBytes": 2000}) as service:
        headers = await service.key("operator")
        big = account("a1", displayName="x" * 5000)
        declared = await service.http.post("/api/v1/accounts", json=big, headers=headers)
        assert declared.status_code == 413
        assert declared.headers["content-type"] == "application/problem+json"

        async def chunks() -> Any:
            body = json.dumps(big).encode()
            for i in range(0, len(body), 500):
                yield body[i : i + 500]

        streamed = await service.http.post(
            "/api/v1/accounts",
            content=chunks(),
            headers={**headers, "Content-Type": "application/json"},
        )
        assert streamed.status_code == 413
        small = await service.http.post("/api/v1/accounts", json=account("a2"), headers=headers)
        assert small.status_code == 201


@pytest.fixture
def signer(tmp_path: Path) -> tuple[Any, Path]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}))
    return private, path


def token(private: Any, **claims: Any) -> str:
    base = {
        "iss": "https://id.example",
        "aud": "mystira",
        "sub": "u1",
        "exp": int(time.time()) + 600,
    }
    return jwt.encode({**base, **claims}, private, algorithm="RS256", headers={"kid": "k1"})


async def test_oidc_tokens_map_to_roles(
    open_service: ServiceFactory, signer: tuple[Any, Path]
) -> None:
    private, jwks = signer
    oidc = {
        "OidcIssuer": "https://id.example",
        "OidcAudience": "mystira",
        "OidcJwksFile": str(jwks),
    }
    async with open_service(Api=oidc) as service:
        op = await service.key("operator")
        for doc in (account("a1"), account("a2")):
            await service.http.post("/api/v1/accounts", json=doc, headers=op)

        def bearer(t: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {t}"}

        player = bearer(token(private, mystira_role="player", mystira_account="a1"))
        assert (await service.http.get("/api/v1/accounts/a1", headers=player)).status_code == 200
        assert (await service.http.get("/api/v1/accounts/a2", headers=player)).status_code == 404
        operator = bearer(token(private, mystira_role="operator"))
        assert (await service.http.get("/admin/v1/phases", headers=operator)).status_code == 200
        for bad in (
            token(private, mystira_role="operator", aud="other"),
            token(private, mystira_role="operator", exp=int(time.time()) - 60),
            token(
                rsa.generate_private_key(public_exponent=65537, key_size=2048),
                mystira_role="operator",
            ),
        ):
            assert (
                await service.http.get("/admin/v1/phases", headers=bearer(bad))
            ).status_code == 401
        no_role = bearer(token(private))
        assert (await service.http.get("/admin/v1/phases", headers=no_role)).status_code == 403


def test_oidc_settings_are_checked_at_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Api"):
        load_settings(data_dir=tmp_path, Api={"OidcIssuer": "https://id.example"})
    missing = {
        "OidcIssuer": "https://id.example",
        "OidcAudience": "mystira",
        "OidcJwksFile": str(tmp_path / "absent.json"),
    }
    with pytest.raises(ConfigError, match="Api:OidcJwksFile"):
        create_app(load_settings(data_dir=tmp_path, Api=missing))
