"""Transparency-log checkpoints, per C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint).

A checkpoint is a C2SP signed note (see ``workforce.ledger.note``) whose text is exactly three
lines, each ending in a newline (U+000A)::

    <origin>
    <tree size, ASCII decimal, no leading zeros>
    <root hash, standard base64 of 32 bytes>

Parsing is strict: the origin is non-empty without Unicode spaces, '+' or control characters
(the spec's recommendation, made a rule here); the size has no sign, no leading zeros and fits
in 64 bits; the root hash is canonical base64 of exactly 32 bytes. This log never writes
extension lines, so a body with a fourth line is rejected. A checkpoint may carry several
signatures (key rotation, witnesses); the caller's verifier keys decide which ones count.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import TYPE_CHECKING, Final

import msgspec

from workforce.ledger.errors import CheckpointError
from workforce.ledger.merkle import HASH_SIZE
from workforce.ledger.note import open_note, sign_note

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from workforce.ledger.note import Signer, Verifier

__all__ = [
    "MAX_TREE_SIZE",
    "Checkpoint",
    "CheckpointError",
    "open_checkpoint",
    "sign_checkpoint",
]

MAX_TREE_SIZE: Final = (1 << 64) - 1
"""Largest tree size a checkpoint may state (uint64, as every other implementation)."""

_BODY_LINES: Final = 3
_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")
_CONTROL = re.compile(r"[\x00-\x1f]")


def _check_origin(origin: str) -> None:
    if not origin:
        msg = "checkpoint origin is empty"
        raise CheckpointError(msg)
    # origin.split() == [origin]: no character str.isspace() calls a space (one C loop)
    if "+" in origin or origin.split() != [origin] or _CONTROL.search(origin):
        msg = f"checkpoint origin {origin[:64]!r} contains a space, '+' or control character"
        raise CheckpointError(msg)


class Checkpoint(msgspec.Struct, frozen=True):
    """A signed tree head: the log's origin, its tree size and the tree's root hash."""

    origin: str
    size: int
    root_hash: bytes

    def __post_init__(self) -> None:
        """Reject values that have no checkpoint text.

        Raises:
            CheckpointError: The origin, size or root hash is not allowed.
        """
        _check_origin(self.origin)
        if not isinstance(self.size, int) or isinstance(self.size, bool):
            msg = "checkpoint tree size must be an integer"
            raise CheckpointError(msg)
        if not 0 <= self.size <= MAX_TREE_SIZE:
            msg = f"checkpoint tree size {self.size} is outside 0..2**64-1"
            raise CheckpointError(msg)
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != HASH_SIZE:
            msg = f"checkpoint root hash must be {HASH_SIZE} bytes"
            raise CheckpointError(msg)

    def render(self) -> str:
        """Return the note text: origin, size and base64 root hash, each ending in a newline."""
        root = base64.b64encode(self.root_hash).decode()
        return f"{self.origin}\n{self.size}\n{root}\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse a checkpoint body strictly; ``parse(cp.render()) == cp``.

        Args:
            text: The note text (three lines, each ending in a newline).

        Returns:
            The checkpoint.

        Raises:
            CheckpointError: The text is not exactly a checkpoint body.
        """
        if not text.endswith("\n"):
            msg = "checkpoint text must end with a newline"
            raise CheckpointError(msg)
        lines = text[:-1].split("\n")
        if len(lines) != _BODY_LINES:
            msg = f"checkpoint text has {len(lines)} lines, expected {_BODY_LINES}"
            raise CheckpointError(msg)
        origin, size, root = lines
        _check_origin(origin)
        if not _SIZE.fullmatch(size):
            msg = f"checkpoint tree size {size[:32]!r} is not a decimal without leading zeros"
            raise CheckpointError(msg)
        return cls(origin, int(size), _decode_root(root))


def _decode_root(value: str) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        msg = "checkpoint root hash is not valid base64"
        raise CheckpointError(msg) from None
    if len(raw) != HASH_SIZE:
        msg = f"checkpoint root hash is {len(raw)} bytes, expected {HASH_SIZE}"
        raise CheckpointError(msg)
    if base64.b64encode(raw).decode() != value:
        msg = "checkpoint root hash is not canonical base64"
        raise CheckpointError(msg)
    return raw


def sign_checkpoint(checkpoint: Checkpoint, signers: Sequence[Signer]) -> str:
    """Render and sign a checkpoint.

    Args:
        checkpoint: The tree head to sign.
        signers: The log's signing keys (several during a key rotation).

    Returns:
        The signed note.

    Raises:
        NoteError: There are no signers.
    """
    return sign_note(checkpoint.render(), signers)


def open_checkpoint(
    note: str, verifiers: Iterable[Verifier], origin: str | None = None
) -> Checkpoint:
    """Verify a signed checkpoint and parse it.

    Args:
        note: The signed note.
        verifiers: The trusted verifier keys (old ones stay valid after a rotation).
        origin: When given, the origin the checkpoint must name.

    Returns:
        The checkpoint.

    Raises:
        NoteError: The note is malformed or not signed by a known key.
        CheckpointError: The text is not a checkpoint or names another origin.
    """
    text, _ = open_note(note, verifiers)
    checkpoint = Checkpoint.parse(text)
    if origin is not None and checkpoint.origin != origin:
        msg = f"checkpoint origin {checkpoint.origin[:64]!r} is not the expected {origin!r}"
        raise CheckpointError(msg)
    return checkpoint
