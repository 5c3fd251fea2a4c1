"""The Ed25519 signing keyring and the symmetric secrets that protect ID numbers.

Signing keys live as PKCS#8 PEM files (mode 0600) in ``<keys_dir>/signing/``; the newest signs,
all of them stay published in the JWKS and as ledger verifier keys, so tokens, certificates and
checkpoints signed before a rotation keep verifying.  A key's ``kid`` is its RFC 7638 JWK
thumbprint.  The symmetric secrets (ID-number index key, ID-number encryption key, ledger subject
key) live in ``<keys_dir>/secrets.json`` (mode 0600), outside the database.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

_SECRET_NAMES = ("pii_index_key", "pii_enc_key", "ledger_subject_key", "webhook_key")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def raw_public_bytes(key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of an Ed25519 public key."""
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def jwk_thumbprint(key: Ed25519PublicKey) -> str:
    """RFC 7638 thumbprint of an OKP key: SHA-256 over the canonical required members."""
    x = _b64url(raw_public_bytes(key))
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"))
    return _b64url(hashlib.sha256(canonical.encode()).digest())


def public_jwk(key: Ed25519PublicKey, kid: str) -> dict[str, str]:
    """The public JWK of a signing key."""
    x = _b64url(raw_public_bytes(key))
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": "EdDSA", "use": "sig"}


@dataclasses.dataclass(frozen=True)
class SigningKey:
    """One Ed25519 key pair of the keyring."""

    kid: str
    created: float
    private: Ed25519PrivateKey = dataclasses.field(repr=False)

    @property
    def public(self) -> Ed25519PublicKey:
        """Its public half."""
        return self.private.public_key()


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Hold an exclusive lock on the key directory (several workers may start at once)."""
    with (directory / ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


class Keyring:
    """The signing keys of the deployment, read from a directory and refreshed on change."""

    REFRESH_SECONDS = 5.0

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._keys: list[SigningKey] = []
        self._stamp: float = -1.0
        self._checked: float = 0.0

    @classmethod
    def open(cls, directory: Path) -> Keyring:
        """Open the keyring in ``directory``, creating the directory and a first key if needed."""
        signing = directory / "signing"
        signing.mkdir(parents=True, exist_ok=True, mode=0o700)
        with _locked(directory):
            if not any(signing.glob("*.pem")):
                cls._generate(signing)
        ring = cls(directory)
        ring.reload()
        return ring

    @staticmethod
    def _generate(signing: Path) -> SigningKey:
        private = Ed25519PrivateKey.generate()
        kid = jwk_thumbprint(private.public_key())
        created = time.time()
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _write_private(signing / f"{int(created * 1000):015d}-{kid}.pem", pem)
        return SigningKey(kid=kid, created=created, private=private)

    def rotate(self) -> SigningKey:
        """Generate a new signing key; it signs from now on, the old ones stay published."""
        with _locked(self.directory):
            key = self._generate(self.directory / "signing")
        self.reload()
        return key

    def reload(self) -> None:
        """Read every key file of the directory."""
        signing = self.directory / "signing"
        keys: list[SigningKey] = []
        for path in sorted(signing.glob("*.pem")):
            stamp, _, _ = path.stem.partition("-")
            private = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(private, Ed25519PrivateKey):
                msg = f"{path.name} is not an Ed25519 private key"
                raise TypeError(msg)
            keys.append(
                SigningKey(jwk_thumbprint(private.public_key()), int(stamp) / 1000, private)
            )
        if not keys:
            msg = f"no signing key in {signing}"
            raise FileNotFoundError(msg)
        self._keys = keys
        self._stamp = signing.stat().st_mtime
        self._checked = time.monotonic()

    def _maybe_refresh(self) -> None:
        now = time.monotonic()
        if now - self._checked < self.REFRESH_SECONDS:
            return
        self._checked = now
        if (self.directory / "signing").stat().st_mtime != self._stamp:
            self.reload()

    @property
    def current(self) -> SigningKey:
        """The key that signs new tokens, credentials and receipts (the newest)."""
        self._maybe_refresh()
        return self._keys[-1]

    @property
    def keys(self) -> list[SigningKey]:
        """All keys, oldest first."""
        self._maybe_refresh()
        return list(self._keys)

    def checkpoint_signers(self) -> list[SigningKey]:
        """Keys that sign ledger checkpoints: the newest two, so verifiers can follow a rotation."""
        return self.keys[-2:]

    def public_key(self, kid: str) -> Ed25519PublicKey | None:
        """The public key with this ``kid``, if the keyring has it."""
        for key in self.keys:
            if key.kid == kid:
                return key.public
        return None

    def jwks(self) -> dict[str, Any]:
        """The JSON Web Key Set of every key (newest first)."""
        return {"keys": [public_jwk(k.public, k.kid) for k in reversed(self.keys)]}


@dataclasses.dataclass(frozen=True)
class Secrets:
    """Symmetric secrets kept outside the database."""

    pii_index_key: bytes = dataclasses.field(repr=False)
    pii_enc_key: bytes = dataclasses.field(repr=False)
    ledger_subject_key: bytes = dataclasses.field(repr=False)
    webhook_key: bytes = dataclasses.field(repr=False)

    @classmethod
    def open(cls, directory: Path) -> Secrets:
        """Read ``secrets.json`` (or ``WORKFORCE_SECRETS_JSON``), creating it on first use."""
        env = os.environ.get("WORKFORCE_SECRETS_JSON")
        if env:
            return cls._from_json(env)
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = directory / "secrets.json"
        with _locked(directory):
            if not path.exists():
                fresh = {
                    name: base64.b64encode(secrets.token_bytes(32)).decode()
                    for name in _SECRET_NAMES
                }
                _write_private(path, json.dumps(fresh, indent=2).encode())
        return cls._from_json(path.read_text())

    @classmethod
    def _from_json(cls, text: str) -> Secrets:
        data = json.loads(text)
        missing = [name for name in _SECRET_NAMES if name not in data]
        if missing:
            msg = f"secrets are missing {', '.join(missing)}"
            raise ValueError(msg)
        values = {name: base64.b64decode(data[name]) for name in _SECRET_NAMES}
        short = [name for name, value in values.items() if len(value) < 32]
        if short:
            msg = f"secrets shorter than 32 bytes: {', '.join(short)}"
            raise ValueError(msg)
        return cls(**values)
