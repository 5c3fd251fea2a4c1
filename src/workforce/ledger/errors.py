"""Typed errors of the pure ledger core.

Every malformed input raises exactly one of these, with a message that names what was wrong
(never an ID number or other personal data).
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base class of every error raised by the ledger core."""


class ProofError(LedgerError):
    """A Merkle proof, hash or tree size is malformed or does not verify (RFC 9162 §2.1)."""


class NoteError(LedgerError):
    """A signed note, key name, verifier key or signature is malformed or does not verify."""


class CheckpointError(LedgerError):
    """A checkpoint body is malformed or names an unexpected origin (C2SP tlog-checkpoint)."""


class EntryError(LedgerError):
    """A ledger entry is not canonical JSON, breaks the entry schema or cannot be folded."""
