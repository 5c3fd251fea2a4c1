"""Slow hashing of client secrets with scrypt (RFC 7914), parameters stored in the hash."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

_R, _P, _DKLEN = 8, 1, 32


def hash_secret(secret: str, log2_n: int = 15) -> str:
    """Hash a client secret: ``scrypt$<log2 N>$<r>$<p>$<salt>$<hash>`` (base64)."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(secret, salt, log2_n, _R, _P)
    return "$".join(
        [
            "scrypt",
            str(log2_n),
            str(_R),
            str(_P),
            base64.b64encode(salt).decode(),
            base64.b64encode(digest).decode(),
        ]
    )


def verify_secret(secret: str, encoded: str) -> bool:
    """Constant-time check of a secret against its stored hash; False for any malformed hash."""
    try:
        scheme, log2_n, r, p, salt, digest = encoded.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = _scrypt(secret, base64.b64decode(salt), int(log2_n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(expected, actual)


def _scrypt(secret: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    n = 1 << log2_n
    return hashlib.scrypt(
        secret.encode(), salt=salt, n=n, r=r, p=p, dklen=_DKLEN, maxmem=256 * n * r + 1024 * 1024
    )


def new_client_secret() -> str:
    """A fresh high-entropy client secret (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)
