"""The cache of verified access tokens never accepts what a fresh verification would refuse."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import jwt
import pytest
from litestar.exceptions import NotAuthorizedException

from workforce.security.keys import Keyring
from workforce.security.principal import Principal
from workforce.security.tokens import VERIFIED, KidToken, mint_access_token

ISSUER = "https://registry.test"


@pytest.fixture
def keyring(tmp_path: Path) -> Keyring:
    ring = Keyring.open(tmp_path / "keys")
    KidToken.keyring = ring
    VERIFIED.clear()
    return ring


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times a signature is verified (one element per call of ``decode_payload``)."""
    calls: list[int] = []
    real = KidToken.decode_payload

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(KidToken, "decode_payload", counting)
    return calls


def _principal() -> Principal:
    return Principal(client_id="c1", org_id=uuid.uuid4(), role="institution", region="320102")


def _decode(token: str) -> KidToken:
    return KidToken.decode(token, "unused", "EdDSA", issuer=[ISSUER])


def test_a_repeat_is_served_from_the_cache_with_the_same_claims(
    keyring: Keyring, verifications: list[int]
) -> None:
    token = mint_access_token(keyring, _principal(), ISSUER, 600)
    first = _decode(token)
    again = _decode(token)
    assert len(verifications) == 1
    assert again == first
    assert again.extras["role"] == "institution"


def test_expiry_is_checked_on_every_hit(keyring: Keyring) -> None:
    token = mint_access_token(keyring, _principal(), ISSUER, 2)  # exp: whole seconds
    expires = _decode(token).exp.timestamp()  # verified and kept
    time.sleep(max(0.0, expires - time.time()) + 0.1)
    with pytest.raises(NotAuthorizedException):
        _decode(token)


def test_a_retired_key_stops_its_cached_tokens(keyring: Keyring) -> None:
    token = mint_access_token(keyring, _principal(), ISSUER, 600)
    _decode(token)
    old = sorted((keyring.directory / "signing").glob("*.pem"))
    keyring.rotate()
    for path in old:
        path.unlink()
    keyring.reload()
    with pytest.raises(NotAuthorizedException):
        _decode(token)


def test_a_tampered_token_is_not_a_hit(keyring: Keyring) -> None:
    token = mint_access_token(keyring, _principal(), ISSUER, 600)
    _decode(token)
    head, payload, sig = token.split(".")
    with pytest.raises(NotAuthorizedException):
        flipped = "B" if sig[10] == "A" else "A"  # a signature byte that certainly changes
        _decode(f"{head}.{payload}.{sig[:10]}{flipped}{sig[11:]}")
    # Another issuer list is another key: verified afresh (and refused).
    with pytest.raises(NotAuthorizedException):
        KidToken.decode(token, "unused", "EdDSA", issuer=["https://elsewhere.test"])


def test_tokens_with_nbf_are_not_kept(keyring: Keyring, verifications: list[int]) -> None:
    key = keyring.current
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": "c1", "iat": now, "exp": now + 600, "nbf": now - 1}
    token = jwt.encode(claims, key.private, algorithm="EdDSA", headers={"kid": key.kid})
    _decode(token)
    _decode(token)
    assert len(verifications) == 2  # verified again
