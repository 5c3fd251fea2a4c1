"""EdDSA access tokens: minted here, verified by the ``kid`` in their header.

Litestar's ``JWTAuth`` verifies with one fixed secret; :class:`KidToken` overrides the documented
``decode_payload`` hook to pick the Ed25519 public key named by ``kid`` and to accept EdDSA only,
which also shuts out ``alg: none`` and HS256 tokens forged with a public key (algorithm confusion).
"""

from __future__ import annotations

import dataclasses
import uuid
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
