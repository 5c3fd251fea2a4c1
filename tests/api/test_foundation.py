"""Health, JWKS, tokens, problem details and the basics of every request."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.factories import Factory

pytestmark = pytest.mark.anyio


async def test_health(client) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_jwks_lists_current_key(client, ctx) -> None:
    response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    kids = [k["kid"] for k in response.json()["keys"]]
    assert ctx.keyring.current.kid in kids
    assert all(
        k["kty"] == "OKP" and k["crv"] == "Ed25519" and "d" not in k
        for k in response.json()["keys"]
    )


async def test_token_grant_and_use(client, factory: Factory) -> None:
    admin = await factory.org("admin", region=None)
    response = await client.post(
        "/api/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": admin.client_id,
            "client_secret": admin.client_secret,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    header = jwt.get_unverified_header(body["access_token"])
    assert header["alg"] == "EdDSA" and header["kid"]
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert {"iss", "sub", "org", "role", "exp"} <= claims.keys()
    assert claims["role"] == "admin"
    me = await client.get(
        f"/api/v1/orgs/{admin.org.id}", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.status_code == 200


@pytest.mark.parametrize(
    ("form", "status", "code"),
    [
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        (
            {"grant_type": "client_credentials", "client_id": "wf_nobody", "client_secret": "x"},
            401,
            "invalid_client",
        ),
        ({"grant_type": "client_credentials"}, 401, "invalid_client"),
    ],
)
async def test_token_refusals(client, form, status, code) -> None:
    response = await client.post("/api/v1/auth/token", data=form)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] == f"urn:workforce:{code}"


async def test_wrong_secret_is_401(client, factory: Factory) -> None:
    admin = await factory.org("admin", region=None)
    response = await client.post(
        "/api/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": admin.client_id,
            "client_secret": admin.client_secret + "x",
        },
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def test_bad_tokens_are_401(client, factory: Factory, ctx) -> None:
    admin = await factory.org("admin", region=None)
    url = f"/api/v1/orgs/{admin.org.id}"
    good = factory.token(admin.principal)
    head, payload, sig = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "admin"
    claims["org"] = str(admin.org.id)
    tampered = f"{head}.{_b64(json.dumps({**claims, 'region': '110000'}).encode())}.{sig}"
    none_token = f"{_b64(json.dumps({'alg': 'none', 'typ': 'JWT', 'kid': ctx.keyring.current.kid}).encode())}.{payload}."
    public_raw = ctx.keyring.current.public.public_bytes_raw()
    hs256 = jwt.encode(
        claims, public_raw, algorithm="HS256", headers={"kid": ctx.keyring.current.kid}
    )
    stranger = jwt.encode(
        {**claims, "exp": datetime.now(UTC) + timedelta(minutes=5)},
        Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
        headers={"kid": ctx.keyring.current.kid},
    )
    expired = factory.token(admin.principal, ttl=-60)
    for token in (tampered, none_token, hs256, stranger, expired, "garbage", ""):
        response = await client.get(url, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, token
        assert response.headers["content-type"].startswith("application/problem+json")
    assert (await client.get(url)).status_code == 401
    assert (await client.get(url, headers=admin.headers)).status_code == 200


async def test_problem_details_for_404_405_and_malformed(client, factory: Factory) -> None:
    admin = await factory.org("admin", region=None)
    missing = await client.get("/api/v1/no-such-route", headers=admin.headers)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert missing.json()["status"] == 404
    wrong_method = await client.delete("/health")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["type"] == "urn:workforce:method_not_allowed"
    malformed = await client.post(
        "/api/v1/orgs",
        content=b"{not json",
        headers={**admin.headers, "Content-Type": "application/json"},
    )
    assert malformed.status_code == 400
    body = malformed.json()
    assert body["reasons"] and "Traceback" not in malformed.text
    wrong_type = await client.post(
        "/api/v1/orgs",
        content=b"kind=admin",
        headers={**admin.headers, "Content-Type": "text/plain"},
    )
    assert wrong_type.status_code == 415
    assert wrong_type.json()["type"] == "urn:workforce:unsupported_media_type"


async def test_unknown_fields_and_oversized_bodies(client, factory: Factory) -> None:
    admin = await factory.org("admin", region=None)
    unknown = await client.post(
        "/api/v1/orgs",
        json={"kind": "admin", "name": "运维", "colour": "red"},
        headers=admin.headers,
    )
    assert unknown.status_code == 400
    assert unknown.json()["reasons"][0]["code"] == "unknown_field"
    huge = await client.post(
        "/api/v1/orgs", json={"kind": "admin", "name": "x" * 2_000_000}, headers=admin.headers
    )
    assert huge.status_code == 413
    assert huge.headers["content-type"].startswith("application/problem+json")


async def test_openapi_document(client) -> None:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/practitioners" in paths and "/api/v1/auth/token" in paths
