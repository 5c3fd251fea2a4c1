"""Protection of citizen ID numbers at rest: a keyed index and authenticated encryption.

Two independent keys, both supplied by the caller (settings load them from ``./var/keys/``
or the environment):

* ``index_key`` -- the *subject key* used to find a person without storing the number::

      subject_key = HMAC-SHA256(index_key, b"workforce/id/v1" || normalized id number)

  It is deterministic, so it cannot be rotated without re-keying every row; keep it stable.

* ``enc_key`` -- AES-256-GCM (NIST SP 800-38D) for the copy a regulator may ask to see.  The
  AES key is ``HKDF-SHA256(enc_key, info=b"workforce/pii/aes-256-gcm/v1")`` (RFC 5869), so any
  key material of at least 32 bytes works.  A blob is::

      version (1 byte) || nonce (12 random bytes) || ciphertext || tag (16 bytes)

  and is authenticated together with ``b"workforce/pii/v1" || version || aad``: bind ``aad``
  to the row (e.g. the practitioner's id) so that a blob cannot be moved to another row.  The
  version byte names the key, so keys rotate: construct the vault with the new key and the
  retired ones, decrypt old blobs, re-encrypt with :meth:`PiiVault.reencrypt`.

Pure module: standard library and ``cryptography`` only.  Nothing here logs or formats a
number or a key.
"""

from __future__ import annotations

import hmac
import secrets
from typing import TYPE_CHECKING, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from workforce.security.idnumber import normalize

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "MIN_KEY_BYTES",
    "NONCE_BYTES",
    "SUBJECT_KEY_DOMAIN",
    "PiiError",
    "PiiVault",
    "commitment_salt",
]

SUBJECT_KEY_DOMAIN: Final = b"workforce/id/v1"
"""Domain-separation prefix of the subject key's HMAC input."""
ENCRYPTION_AAD_DOMAIN: Final = b"workforce/pii/v1"
"""Domain-separation prefix of the associated data of every blob."""
HKDF_INFO: Final = b"workforce/pii/aes-256-gcm/v1"
"""HKDF ``info`` deriving the AES-256 key from ``enc_key``."""
MIN_KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12
TAG_BYTES: Final = 16
SALT_BYTES: Final = 32
_MIN_VERSION, _MAX_VERSION = 1, 255


class PiiError(Exception):
    """A blob could not be decrypted, or a key is unusable.  Never carries secret data."""


def commitment_salt() -> bytes:
    """Fresh random salt (32 bytes) for a hiding commitment to a subject."""
    return secrets.token_bytes(SALT_BYTES)


class PiiVault:
    """Keyed hashing and encryption of ID numbers.

    Args:
        index_key: HMAC key of :meth:`subject_key` (at least 32 bytes).
        enc_key: Key material of the current encryption key (at least 32 bytes).
        key_version: Version byte (1-255) of ``enc_key``, written in front of every blob.
        retired_enc_keys: Earlier encryption keys by version, for decryption only.

    Raises:
        PiiError: A key is shorter than 32 bytes, the index and encryption keys are the same,
            or a version is out of range or given twice.
    """

    __slots__ = ("_aeads", "_index_key", "_key_version")

    def __init__(
        self,
        index_key: bytes,
        enc_key: bytes,
        *,
        key_version: int = 1,
        retired_enc_keys: Mapping[int, bytes] | None = None,
    ) -> None:
        retired = dict(retired_enc_keys or {})
        if len(index_key) < MIN_KEY_BYTES:
            raise PiiError(f"the index key must have at least {MIN_KEY_BYTES} bytes")
        if key_version in retired:
            raise PiiError(f"encryption key version {key_version} is given twice")
        self._index_key = bytes(index_key)
        self._key_version = key_version
        self._aeads: dict[int, AESGCM] = {}
        for version, material in {**retired, key_version: enc_key}.items():
            if not _MIN_VERSION <= version <= _MAX_VERSION:
                raise PiiError(f"an encryption key version is 1-255, not {version}")
            if len(material) < MIN_KEY_BYTES:
                raise PiiError(
                    f"encryption key version {version} must have at least {MIN_KEY_BYTES} bytes"
                )
            if hmac.compare_digest(material, index_key):
                raise PiiError("the index key and an encryption key must differ")
            self._aeads[version] = AESGCM(_derive_aes_key(material))

    def __repr__(self) -> str:
        return f"PiiVault(key_version={self._key_version}, known_versions={sorted(self._aeads)})"

    @property
    def key_version(self) -> int:
        """Version byte of the key that :meth:`encrypt` uses."""
        return self._key_version

    def subject_key(self, id_number: str) -> bytes:
        """The 32-byte keyed index of a person: HMAC-SHA256 over the normalized number.

        The number is normalized (spaces, full width, lower-case ``x``) but not validated:
        validate it first with :func:`workforce.security.idnumber.validate`.
        """
        message = SUBJECT_KEY_DOMAIN + normalize(id_number).encode()
        return hmac.digest(self._index_key, message, "sha256")

    def encrypt(self, id_number: str, aad: bytes) -> bytes:
        """Encrypt the normalized number with the current key and a fresh random nonce.

        Args:
            id_number: The number (normalized here, not validated).
            aad: Associated data bound to the blob, e.g. the owning row's id.

        Returns:
            ``version || nonce || ciphertext || tag``.
        """
        version = self._key_version
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._aeads[version].encrypt(
            nonce, normalize(id_number).encode(), _associated_data(version, aad)
        )
        return bytes([version]) + nonce + sealed

    def decrypt(self, blob: bytes, aad: bytes) -> str:
        """Decrypt a blob made by :meth:`encrypt` with the same ``aad``.

        Raises:
            PiiError: The blob is truncated, names an unknown key version, was tampered with,
                or ``aad`` differs from the one it was sealed with.
        """
        if len(blob) < 1 + NONCE_BYTES + TAG_BYTES:
            raise PiiError("encrypted ID number is truncated")
        version = blob[0]
        aead = self._aeads.get(version)
        if aead is None:
            raise PiiError(f"encrypted ID number uses unknown key version {version}")
        nonce, sealed = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
        try:
            plain = aead.decrypt(nonce, sealed, _associated_data(version, aad))
        except InvalidTag:
            raise PiiError(
                "encrypted ID number failed authentication (wrong key, wrong associated data "
                "or tampered)"
            ) from None
        return plain.decode("ascii")

    def needs_reencryption(self, blob: bytes) -> bool:
        """Whether ``blob`` was sealed with a key other than the current one."""
        return not blob or blob[0] != self._key_version

    def reencrypt(self, blob: bytes, aad: bytes) -> bytes:
        """Decrypt ``blob`` and seal it again under the current key (key rotation)."""
        return self.encrypt(self.decrypt(blob, aad), aad)

    # A vault carries keys: keep it out of pickles and copies made by accident.
    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("PiiVault holds keys and cannot be pickled")

    commitment_salt = staticmethod(commitment_salt)


def _derive_aes_key(material: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(material)


def _associated_data(version: int, aad: bytes) -> bytes:
    return ENCRYPTION_AAD_DOMAIN + bytes([version]) + aad
