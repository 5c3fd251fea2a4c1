"""``workforce cert verify``: offline with a JWKS file and status files, or against a registry."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from tests.api import cert_helpers as h
from tests.factories import Factory
from workforce.certificates import cli as cert_cli

pytestmark = pytest.mark.anyio


@pytest.fixture
def keys_dir(tmp_path):
    """Keys of this test only: the key-rotation tests must not rotate everyone's keyring."""
    return tmp_path / "keys"


async def _files(client, tmp_path: Path, token: str, suffix: str = "") -> tuple[Path, list[Path]]:
    jwks = tmp_path / f"jwks{suffix}.json"
    jwks.write_text((await client.get("/.well-known/jwks.json")).text, encoding="utf-8")
    status = []
    for purpose, (path, _) in h.status_paths(token).items():
        file = tmp_path / f"{purpose}{suffix}.jwt"
        file.write_text((await client.get(path)).text, encoding="utf-8")
        status.append(file)
    return jwks, status


def _verify(*args: str, stdin: str | None = None):
    return CliRunner().invoke(cert_cli.cert, ["verify", *args], input=stdin)


def _offline(token: str, jwks: Path, status: list[Path], *extra: str):
    options = [item for file in status for item in ("--status", str(file))]
    return _verify(token, "--jwks", str(jwks), *options, *extra)


async def test_offline_verification_follows_the_status(
    client, factory: Factory, tmp_path: Path
) -> None:
    regulator, _, _, cert = await h.certified(client, factory)
    token = cert["token"]
    jwks, status = await _files(client, tmp_path, token)

    valid = _offline(token, jwks, status)
    assert valid.exit_code == 0, valid.output
    assert "有效 (valid)" in valid.output and cert["serial"] in valid.output

    as_json = json.loads(_offline(token, jwks, status, "--json").output)
    assert as_json["verdict"] == "valid" and as_json["certificate"]["hours"] == "120.0"

    token_file = tmp_path / "cert.jwt"
    token_file.write_text(token + "\n", encoding="utf-8")
    assert _offline(f"@{token_file}", jwks, status).exit_code == 0
    from_stdin = _verify(
        "-", "--jwks", str(jwks), *(a for f in status for a in ("--status", str(f))), stdin=token
    )
    assert from_stdin.exit_code == 0, from_stdin.output

    no_status = _verify(token, "--jwks", str(jwks))
    assert no_status.exit_code == 1 and "status_not_supplied" in no_status.output

    await client.post(
        f"/api/v1/certificates/{cert['serial']}/revocation",
        json={"action": "revoke", "reason": "撤销"},
        headers=regulator.headers,
    )
    jwks, fresh = await _files(client, tmp_path, token, suffix="-2")
    revoked = _offline(token, jwks, fresh)
    assert revoked.exit_code == 1 and "已撤销 (revoked)" in revoked.output
    # the old (pre-revocation) lists still say valid, but only until they expire (24 h)
    assert _offline(token, jwks, status).exit_code == 0
    stale = _offline(token, jwks, status, "--at", "2099-01-01")
    assert stale.exit_code == 1


async def test_offline_verification_refuses_bad_input(
    client, factory: Factory, tmp_path: Path
) -> None:
    _, _, _, cert = await h.certified(client, factory)
    token = cert["token"]
    jwks, status = await _files(client, tmp_path, token)
    head, payload, signature = token.split(".")
    altered = f"{head}.{payload[:5]}{'A' if payload[5] != 'A' else 'B'}{payload[6:]}.{signature}"
    for bad, reason in (
        (altered, "bad_signature"),
        ("garbage", "malformed"),
        (f"{head}.{payload}.", "bad_signature"),
    ):
        result = _offline(bad, jwks, status, "--json")
        assert result.exit_code == 1, result.output
        assert json.loads(result.output)["checks"]["signature"]["reason"] == reason

    other_jwks = tmp_path / "other.json"
    other_jwks.write_text(json.dumps({"keys": []}), encoding="utf-8")
    unknown = _offline(token, other_jwks, status, "--json")
    assert (
        unknown.exit_code == 1
        and json.loads(unknown.output)["checks"]["signature"]["reason"] == "unknown_key"
    )

    assert _verify(token).exit_code == 2  # neither --jwks nor --url
    assert _verify(token, "--jwks", str(tmp_path / "missing.json")).exit_code == 2
    not_json = tmp_path / "bad.json"
    not_json.write_text("{", encoding="utf-8")
    assert _verify(token, "--jwks", str(not_json)).exit_code == 2
    expired = _offline(token, jwks, status, "--at", "2099-01-01T00:00:00+08:00", "--json")
    assert expired.exit_code == 1 and json.loads(expired.output)["verdict"] == "expired"


async def test_key_rotation_offline(client, factory: Factory, ctx, tmp_path: Path) -> None:
    _, base, person, old = await h.certified(client, factory)
    ctx.keyring.rotate()
    await h.record_hours(factory, base, person.id, "director_round", 600, days_ago=40)
    new = (await h.issue(client, base, person.id, "director_post")).json()
    for token in (old["token"], new["token"]):
        jwks, status = await _files(client, tmp_path, token, suffix=new["serial"][-4:] + token[-4:])
        result = _offline(token, jwks, status)
        assert result.exit_code == 0, result.output


async def test_verification_against_a_registry_url(
    client, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, _, _, cert = await h.certified(client, factory)
    token = cert["token"]
    served = {"/.well-known/jwks.json": (await client.get("/.well-known/jwks.json")).text}
    for path, _ in h.status_paths(token).values():
        served[path] = (await client.get(path)).text
    requested: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requested.append(request.url.path)
        body = served.get(request.url.path)
        return httpx.Response(200 if body else 404, text=body or "")

    monkeypatch.setattr(
        cert_cli,
        "_http_client",
        lambda base_url: httpx.Client(base_url=base_url, transport=httpx.MockTransport(handler)),
    )
    result = _verify(token, "--url", "https://registry.example.cn")
    assert result.exit_code == 0, result.output
    assert sorted(requested) == sorted(served)
    assert _verify(token, "--url", "https://registry.example.cn", "--jwks", "x").exit_code == 2

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    monkeypatch.setattr(
        cert_cli,
        "_http_client",
        lambda base_url: httpx.Client(base_url=base_url, transport=httpx.MockTransport(down)),
    )
    unreachable = _verify(token, "--url", "https://registry.example.cn")
    assert unreachable.exit_code == 1 and "cannot fetch" in unreachable.output
