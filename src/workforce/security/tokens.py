"""EdDSA access tokens: minted here, verified by the ``kid`` in their header.

Litestar's ``JWTAuth`` verifies with one fixed secret; :class:`KidToken` overrides the documented
``decode_payload`` hook to pick the Ed25519 public key named by ``kid`` and to accept EdDSA only,
which also shuts out ``alg: none`` and HS256 tokens forged with a public key (algorithm confusion).

A client sends the same token with every request until it expires, so decoded tokens are kept
in a small LRU (:class:`VerifiedTokens`): a repeat skips the signature check and the decoding,
while ``exp`` and the presence of the signing key in the keyring are checked on every request.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Self

import jwt
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AuthenticationResult
from litestar.security.jwt import JWTAuthenticationMiddleware, Token

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
    def decode(
        cls,
        encoded_token: str,
        secret: str,
        algorithm: str,
        audience: str | Sequence[str] | None = None,
        issuer: str | Sequence[str] | None = None,
        require_claims: Sequence[str] | None = None,
        verify_exp: bool = True,
        verify_nbf: bool = True,
        strict_audience: bool = False,
    ) -> Self:
        """Litestar's ``Token.decode``, served from :data:`VERIFIED` for a token seen before."""
        arguments = (
            secret,
            algorithm,
            audience,
            issuer,
            require_claims,
            verify_exp,
            verify_nbf,
            strict_audience,
        )
        key = (encoded_token, repr(arguments))
        known = VERIFIED.get(key, cls.keyring)
        if isinstance(known, cls):
            return known  # shared, read-only: nothing writes to a decoded token
        token = super().decode(encoded_token, secret, algorithm, *arguments[2:])
        if verify_exp and "nbf" not in token.extras:
            kid = jwt.get_unverified_header(encoded_token)["kid"]
            VERIFIED.put(key, token, kid, token.exp.timestamp())
        return token

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
        """Verify the signature with the key named by ``kid``; EdDSA only."""
        header = jwt.get_unverified_header(encoded_token)
        kid = header.get("kid")
        if header.get("alg") != "EdDSA" or not isinstance(kid, str) or cls.keyring is None:
            msg = "unsupported token"
            raise jwt.InvalidTokenError(msg)
        key = cls.keyring.public_key(kid)
        if key is None:
            msg = "unknown kid"
            raise jwt.InvalidTokenError(msg)
        return jwt.decode(
            encoded_token,
            key=key,
            algorithms=["EdDSA"],
            issuer=issuer,
            audience=audience,
            options={"require": ["exp", "iat", "sub", "iss"], **(options or {})},  # type: ignore[arg-type]
        )


class VerifiedTokens:
    """An LRU of decoded tokens, keyed by the encoded token and the verification arguments.

    A hit is returned only while the token is unexpired (``exp`` checked again as PyJWT does,
    with no leeway) and its signing key is still in the keyring (a retired key stops its tokens
    at once).  Tokens with ``nbf`` are not kept, nor those decoded without checking ``exp``.
    """

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._items: OrderedDict[tuple[str, str], tuple[object, str, float]] = OrderedDict()

    def get(self, key: tuple[str, str], keyring: Keyring | None) -> object | None:
        """The token decoded before and still acceptable, else None."""
        item = self._items.get(key)
        if item is None:
            return None
        token, kid, expires = item
        if not time.time() < expires or keyring is None or keyring.public_key(kid) is None:
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return token

    def put(self, key: tuple[str, str], token: object, kid: str, expires: float) -> None:
        """Remember a verified token, its signing key and its expiry (a POSIX timestamp)."""
        self._items[key] = (token, kid, expires)
        if len(self._items) > self._size:
            self._items.popitem(last=False)

    def clear(self) -> None:
        """Forget every token (tests; key rotation needs no call: keys are checked per hit)."""
        self._items.clear()


VERIFIED = VerifiedTokens()
"""The process-wide cache of verified access tokens."""


class TokenMiddleware(JWTAuthenticationMiddleware):
    """Litestar's JWT middleware, reading the ``Authorization`` header straight from the scope.

    The stock middleware builds a ``Headers`` object of every header of every request just to
    read this one; the scope's raw list gives the same first value for a fraction of the cost.
    """

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        """The principal of the bearer token (401 without a token or with a bad one)."""
        name = self.auth_header.lower().encode("latin-1")
        auth_header = ""
        for key, value in connection.scope["headers"]:
            if key.lower() == name:
                auth_header = value.decode("latin-1")
                break
        if not auth_header:
            msg = "No JWT token found in request header"
            raise NotAuthorizedException(msg)
        encoded_token = auth_header.partition(" ")[-1]
        return await self.authenticate_token(encoded_token=encoded_token, connection=connection)
