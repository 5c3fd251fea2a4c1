"""EdDSA access tokens: minted here, verified by the ``kid`` in their header.

Litestar's ``JWTAuth`` verifies with one fixed secret; :class:`KidToken` overrides the documented
``decode_payload`` hook to pick the Ed25519 public key named by ``kid`` and to accept EdDSA only,
which also shuts out ``alg: none`` and HS256 tokens forged with a public key (algorithm confusion).

A client sends the same token with every request until it expires, so verified tokens are kept
in a small LRU (:class:`VerifiedTokens`): a repeat skips the signature check, while ``exp`` and
the presence of the signing key in the keyring are checked again on every request.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import jwt
from litestar.security.jwt import Token

from workforce.security.keys import Keyring
from workforce.security.principal import Principal


def mint_access_token(keyring: Keyring, principal: Principal, issuer: str, ttl_seconds: int) -> str:
    """Sign an access token for ``principal`` with the keyring's current key."""
    key = keyring.current
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": principal.client_id,
        "org": str(principal.org_id),
        "role": principal.role,
        "region": principal.region,
        "iat": now,
        "exp": now + timedelta(seconds=ttl_seconds),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, key.private, algorithm="EdDSA", headers={"kid": key.kid})


@dataclasses.dataclass
class KidToken(Token):
    """A token whose verification key is chosen by its ``kid`` header."""

    keyring: ClassVar[Keyring | None] = None

    @classmethod
    def decode_payload(
        cls,
        encoded_token: str,
        secret: str,
        algorithms: list[str],
        issuer: str | Sequence[str] | None = None,
        audience: str | Sequence[str] | None = None,
        options: Any = None,
    ) -> Any:
        """Verify the signature with the key named by ``kid``; EdDSA only (repeats: cached)."""
        if cls.keyring is None:
            msg = "unsupported token"
            raise jwt.InvalidTokenError(msg)
        key = (encoded_token, _frozen(issuer), _frozen(audience), _frozen(options))
        payload = VERIFIED.get(key, cls.keyring)
        if payload is None:
            verified = cls._verify(encoded_token, issuer, audience, options)
            VERIFIED.put(key, verified)
            payload = _public(verified)
        return payload  # a fresh dict: Litestar's Token.decode rearranges the one it gets

    @classmethod
    def _verify(
        cls,
        encoded_token: str,
        issuer: str | Sequence[str] | None,
        audience: str | Sequence[str] | None,
        options: Any,
    ) -> dict[str, Any]:
        header = jwt.get_unverified_header(encoded_token)
        kid = header.get("kid")
        if header.get("alg") != "EdDSA" or not isinstance(kid, str) or cls.keyring is None:
            msg = "unsupported token"
            raise jwt.InvalidTokenError(msg)
        key = cls.keyring.public_key(kid)
        if key is None:
            msg = "unknown kid"
            raise jwt.InvalidTokenError(msg)
        payload: dict[str, Any] = jwt.decode(
            encoded_token,
            key=key,
            algorithms=["EdDSA"],
            issuer=issuer,
            audience=audience,
            options={"require": ["exp", "iat", "sub", "iss"], **(options or {})},  # type: ignore[arg-type]
        )
        payload["_kid"] = kid
        return payload


def _frozen(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    return value


class VerifiedTokens:
    """An LRU of verified token payloads, keyed by the token and the verification arguments.

    A hit is returned only while the token is unexpired (``exp`` is checked again, as PyJWT
    does, with no leeway) and its signing key is still in the keyring (a retired key stops its
    tokens at once).  Tokens with ``nbf`` are not kept: PyJWT already refused them before their
    time, and afterwards they stay valid, but keeping the rule simple costs nothing here.
    """

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._items: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()

    def get(self, key: tuple[Any, ...], keyring: Keyring) -> dict[str, Any] | None:
        """The payload of a token verified before and still acceptable, else None."""
        payload = self._items.get(key)
        if payload is None:
            return None
        if not time.time() < payload["exp"] or keyring.public_key(payload["_kid"]) is None:
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return _public(payload)

    def put(self, key: tuple[Any, ...], payload: dict[str, Any]) -> None:
        """Remember a verified payload."""
        if "nbf" in payload or not isinstance(payload.get("exp"), int | float):
            return
        self._items[key] = payload
        if len(self._items) > self._size:
            self._items.popitem(last=False)

    def clear(self) -> None:
        """Forget every token (tests; key rotation needs no call: keys are checked per hit)."""
        self._items.clear()


def _public(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k != "_kid"}


VERIFIED = VerifiedTokens()
"""The process-wide cache of verified access tokens."""
