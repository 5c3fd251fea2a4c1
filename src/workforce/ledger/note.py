"""Signed notes with Ed25519 keys, per C2SP signed-note (https://c2sp.org/signed-note).

A note is UTF-8 text ending in a newline, then a blank line, then one or more signature lines
``— <key name> <base64(key ID[4] || signature)>`` (an em dash U+2014 and a space). The text
is separated from the signatures by the *last* blank line, and signatures cover the text
including its final newline. A note contains no ASCII control character other than newline.

Only signature type ``0x01`` (Ed25519) is implemented. Its key ID is the first four bytes,
big-endian, of ``SHA-256(key name || 0x0A || 0x01 || public key[32])`` and its verifier key
("vkey") is ``<name>+<hex key ID>+<base64(0x01 || public key)>``.

Opening follows the spec's rules: signatures from unknown keys (name and key ID not both
matching a verifier) are ignored; a signature from a known key must verify or the whole note
is rejected; a note that no known key verifies is rejected. Base64 is strict and canonical
(RFC 4648 §4, no line breaks, zero padding bits) so that every note has one encoding.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, NewType

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from workforce.ledger.errors import NoteError

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = [
    "ED25519_TYPE",
    "MAX_NOTE_BYTES",
    "MAX_SIGNATURES",
    "SIGNATURE_PREFIX",
    "KeyId",
    "NoteError",
    "Signer",
    "Verifier",
    "check_key_name",
    "key_id",
    "open_note",
    "sign_note",
]

KeyId = NewType("KeyId", int)
"""A 32-bit key ID (the big-endian first four bytes of the key hash)."""

ED25519_TYPE: Final = 0x01
"""Signature type identifier byte of Ed25519 (C2SP signed-note, "Signature types")."""
SIGNATURE_PREFIX: Final = "\u2014 "
"""Start of a signature line: em dash (U+2014) and a space."""
ED25519_SIGNATURE_SIZE: Final = 64
MAX_SIGNATURES: Final = 100
"""Signature lines accepted per note (the spec requires at least 16; Go's note package: 100)."""
MAX_NOTE_BYTES: Final = 1 << 20
"""Longest note accepted, in UTF-8 bytes."""

_KEY_ID_BYTES: Final = 4
_VKEY_PARTS: Final = 3
_VKEY_KEY_BYTES: Final = 33
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
_HEX_KEY_ID = re.compile(r"[0-9a-f]{8}")


def key_id(name: str, public_key: bytes) -> KeyId:
    """Compute the key ID of an Ed25519 key.

    Args:
        name: The key name.
        public_key: The 32-byte Ed25519 public key.

    Returns:
        ``SHA-256(name || 0x0A || 0x01 || public_key)[:4]`` as a big-endian integer.
    """
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([ED25519_TYPE]) + public_key).digest()
    return KeyId(int.from_bytes(digest[:_KEY_ID_BYTES], "big"))


def check_key_name(name: str) -> None:
    """Check a key name: non-empty, without Unicode spaces, '+' or control characters.

    Args:
        name: The key name.

    Raises:
        NoteError: The name is not allowed.
    """
    if not name:
        msg = "key name is empty"
        raise NoteError(msg)
    # name.split() == [name]: no character str.isspace() calls a space (one C loop)
    if "+" in name or name.split() != [name] or _CONTROL.search(name):
        msg = f"key name {name[:64]!r} contains a space, '+' or control character"
        raise NoteError(msg)
    _utf8(name, "key name")


def _utf8(text: str, what: str) -> bytes:
    try:
        return text.encode()
    except UnicodeEncodeError:
        msg = f"{what} is not valid UTF-8 (lone surrogate)"
        raise NoteError(msg) from None


def _b64decode(value: str, what: str) -> bytes:
    """Decode strict, canonical standard base64 (RFC 4648 §4)."""
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        msg = f"{what} is not valid base64"
        raise NoteError(msg) from None
    if base64.b64encode(raw).decode() != value:
        msg = f"{what} is not canonical base64"
        raise NoteError(msg)
    return raw


def _raw_public_key(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True, slots=True)
class Verifier:
    """An Ed25519 verifier key: a key name, its key ID and the public key."""

    name: str
    key_id: KeyId
    public_key: Ed25519PublicKey

    @classmethod
    def from_public_key(cls, name: str, public_key: Ed25519PublicKey) -> Verifier:
        """Build a verifier, computing the key ID.

        Args:
            name: The key name.
            public_key: The Ed25519 public key.

        Returns:
            The verifier.

        Raises:
            NoteError: The key name is not allowed.
        """
        check_key_name(name)
        return cls(name, key_id(name, _raw_public_key(public_key)), public_key)

    @classmethod
    def from_vkey(cls, vkey: str) -> Verifier:
        """Parse a verifier key ``<name>+<hex key ID>+<base64(0x01 || public key)>``.

        Args:
            vkey: The verifier key string.

        Returns:
            The verifier.

        Raises:
            NoteError: The string is malformed, not an Ed25519 key, or its key ID is wrong.
        """
        parts = vkey.split("+", 2)  # the base64 key may itself contain "+"
        if len(parts) != _VKEY_PARTS:
            msg = "verifier key must have the form <name>+<hex key ID>+<base64 key>"
            raise NoteError(msg)
        name, hex_id, b64 = parts
        check_key_name(name)
        if not _HEX_KEY_ID.fullmatch(hex_id):
            msg = f"verifier key {name!r}: key ID must be 8 lowercase hex digits"
            raise NoteError(msg)
        raw = _b64decode(b64, f"verifier key {name!r}")
        if len(raw) != _VKEY_KEY_BYTES or raw[0] != ED25519_TYPE:
            msg = f"verifier key {name!r} is not an Ed25519 key (0x01 followed by 32 bytes)"
            raise NoteError(msg)
        if key_id(name, raw[1:]) != int(hex_id, 16):
            msg = f"verifier key {name!r}: key ID {hex_id} does not match the key"
            raise NoteError(msg)
        return cls(name, KeyId(int(hex_id, 16)), Ed25519PublicKey.from_public_bytes(raw[1:]))

    @property
    def vkey(self) -> str:
        """The verifier key string ``<name>+<hex key ID>+<base64(0x01 || public key)>``."""
        raw = bytes([ED25519_TYPE]) + _raw_public_key(self.public_key)
        return f"{self.name}+{self.key_id:08x}+{base64.b64encode(raw).decode()}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Return whether ``signature`` is this key's Ed25519 signature of ``message``."""
        try:
            self.public_key.verify(signature, message)
        except InvalidSignature:
            return False
        return True


class Signer:
    """An Ed25519 signing key with its key name."""

    __slots__ = ("_private_key", "key_id", "name", "verifier")

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        """Bind a key name to an Ed25519 private key.

        Args:
            name: The key name (for a log, its origin).
            private_key: The Ed25519 private key.

        Raises:
            NoteError: The key name is not allowed.
        """
        self.verifier = Verifier.from_public_key(name, private_key.public_key())
        self.name = name
        self.key_id = self.verifier.key_id
        self._private_key = private_key

    @classmethod
    def generate(cls, name: str) -> Signer:
        """Create a signer with a fresh random key."""
        return cls(name, Ed25519PrivateKey.generate())

    @property
    def vkey(self) -> str:
        """The verifier key string to publish for this signer."""
        return self.verifier.vkey

    def sign(self, message: bytes) -> bytes:
        """Return ``key ID[4] || Ed25519 signature`` of ``message``."""
        return self.key_id.to_bytes(_KEY_ID_BYTES, "big") + self._private_key.sign(message)

    def __repr__(self) -> str:
        """Show the key name and ID, never the key."""
        return f"Signer(name={self.name!r}, key_id={self.key_id:08x})"


def _check_text(text: str, what: str = "note text") -> bytes:
    if not text.endswith("\n"):
        msg = f"{what} must be non-empty and end with a newline"
        raise NoteError(msg)
    if _CONTROL.search(text):
        msg = f"{what} contains an ASCII control character other than newline"
        raise NoteError(msg)
    return _utf8(text, what)


def sign_note(text: str, signers: Sequence[Signer]) -> str:
    """Sign ``text`` with every signer.

    Args:
        text: The note text, ending in a newline.
        signers: At least one signer; several support key rotation and cosigning.

    Returns:
        The signed note: text, a blank line and one signature line per signer.

    Raises:
        NoteError: The text is malformed, or there are no (or too many) signers.
    """
    message = _check_text(text)
    if not signers or len(signers) > MAX_SIGNATURES:
        msg = f"a note needs between 1 and {MAX_SIGNATURES} signers, got {len(signers)}"
        raise NoteError(msg)
    lines = [
        f"{SIGNATURE_PREFIX}{signer.name} {base64.b64encode(signer.sign(message)).decode()}\n"
        for signer in signers
    ]
    return text + "\n" + "".join(lines)


def _split_note(note: str) -> tuple[str, list[str]]:
    """Split a note into its text and signature lines (without newlines)."""
    if len(note.encode(errors="surrogatepass")) > MAX_NOTE_BYTES:
        msg = f"note is longer than {MAX_NOTE_BYTES} bytes"
        raise NoteError(msg)
    _check_text(note, "note")
    blank = note.rfind("\n\n")
    if blank < 0:
        msg = "note has no blank line between its text and its signatures"
        raise NoteError(msg)
    text, block = note[: blank + 1], note[blank + 2 :]
    if not block:
        msg = "note has no signature lines"
        raise NoteError(msg)
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        msg = f"note has {len(lines)} signature lines, more than {MAX_SIGNATURES}"
        raise NoteError(msg)
    return text, lines


def _parse_signature_line(line: str, number: int) -> tuple[str, KeyId, bytes]:
    if not line.startswith(SIGNATURE_PREFIX):
        msg = f"signature line {number} does not start with an em dash and a space"
        raise NoteError(msg)
    name, space, b64 = line[len(SIGNATURE_PREFIX) :].partition(" ")
    if not space:
        msg = f"signature line {number} has no space between key name and signature"
        raise NoteError(msg)
    check_key_name(name)
    raw = _b64decode(b64, f"signature line {number}")
    if len(raw) <= _KEY_ID_BYTES:
        msg = f"signature line {number} holds {len(raw)} bytes, not a key ID and a signature"
        raise NoteError(msg)
    return name, KeyId(int.from_bytes(raw[:_KEY_ID_BYTES], "big")), raw[_KEY_ID_BYTES:]


def _index_verifiers(verifiers: Iterable[Verifier]) -> dict[tuple[str, int], Verifier]:
    known: dict[tuple[str, int], Verifier] = {}
    for verifier in verifiers:
        other = known.setdefault((verifier.name, verifier.key_id), verifier)
        if _raw_public_key(other.public_key) != _raw_public_key(verifier.public_key):
            msg = f"two verifier keys share name {verifier.name!r} and key ID"
            raise NoteError(msg)
    return known


def open_note(note: str, verifiers: Iterable[Verifier]) -> tuple[str, list[str]]:
    """Verify a signed note and return its text.

    Args:
        note: The signed note.
        verifiers: The trusted verifier keys.

    Returns:
        The note text (with its final newline) and the names of the known keys whose
        signatures verified, in order of appearance, each once.

    Raises:
        NoteError: The note is malformed, a known key's signature fails, or no known key
            signed it.
    """
    text, lines = _split_note(note)
    known = _index_verifiers(verifiers)
    message = text.encode()
    verified: dict[str, None] = {}
    for number, line in enumerate(lines, start=1):
        name, kid, signature = _parse_signature_line(line, number)
        verifier = known.get((name, kid))
        if verifier is None:
            continue
        if len(signature) != ED25519_SIGNATURE_SIZE or not verifier.verify(message, signature):
            msg = f"signature line {number} by known key {name!r} does not verify"
            raise NoteError(msg)
        verified[name] = None
    if not verified:
        msg = "note carries no signature from a known key"
        raise NoteError(msg)
    return text, list(verified)
