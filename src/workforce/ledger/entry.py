"""Ledger entries: canonical JSON bytes, schema v1, commitments and the status fold.

Canonical JSON follows RFC 8785 (JSON Canonicalization Scheme) for the subset entries use:
objects, strings, integers and ``null`` only (no floats, booleans or arrays); object keys are
lowercase ASCII identifiers, sorted (for ASCII, code-point order is RFC 8785's UTF-16 order);
no whitespace; strings in UTF-8 with only the escapes RFC 8785 §3.2.2.2 prescribes; integers
within the I-JSON safe range ``±(2**53 - 1)`` (RFC 7493 §2.2). Decoding re-encodes and rejects
input whose bytes differ, so every entry has exactly one byte string and one leaf hash.

Entry schema v1 (``Entry``); every hash and commitment is 64 lowercase hex digits:

- ``prev`` is the hex leaf hash of entry ``seq - 1`` (the hash chain); entry 0 has
  ``GENESIS_PREV``, 64 zeros.
- ``ts`` is UTC with whole seconds, written ``YYYY-MM-DDTHH:MM:SSZ``.
- A ``ban`` has ``kind`` ``lifetime`` (``until`` null) or ``fixed_term`` (``until`` a date).
- A ``correction`` names the corrected ban in ``corrects`` (``seq`` and hex ``leaf_hash``) and
  its ``effect``: ``quashed`` (``kind`` and ``until`` null) or ``amended`` (the new ``kind``
  and ``until``, as for a ban).
- ``subject``, ``decision`` and ``case`` are salted commitments (``commit``), never plain values.

Status fold (``fold_status``), as of a given day: a lifetime ban never expires; a fixed-term ban
is in force through its ``until`` date inclusive; a ban quashed by a correction dated D is not
in force from D on; an amendment replaces the ban's kind and until; a quashed ban is final.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Final, Literal

import msgspec

from workforce.ledger.errors import EntryError
from workforce.ledger.merkle import HASH_SIZE, LeafHash, leaf_hash

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "COMMITMENT_DOMAINS",
    "ENTRY_VERSION",
    "GENESIS_PREV",
    "MAX_SAFE_INTEGER",
    "NOT_BANNED",
    "SALT_SIZE",
    "BanKind",
    "Corrects",
    "Effect",
    "Entry",
    "EntryError",
    "EntryType",
    "Issuer",
    "SubjectStatus",
    "commit",
    "decode_entry",
    "encode_entry",
    "entry_leaf_hash",
    "fold_status",
    "new_salt",
    "normalize_value",
    "open_commitment",
    "parse_entry",
]

ENTRY_VERSION: Final = 1
GENESIS_PREV: Final = "0" * 64
"""The ``prev`` of entry 0: the hex encoding of 32 zero bytes."""
MAX_SAFE_INTEGER: Final = (1 << 53) - 1
"""Largest integer magnitude in an entry (I-JSON, RFC 7493 §2.2)."""
SALT_SIZE: Final = 32
COMMITMENT_DOMAINS: Final = frozenset({"subject", "decision", "case"})
MAX_DEPTH: Final = 8

# Formats are checked in ``__post_init__`` (construction and decoding alike); only the cheap
# length and range bounds are left to msgspec. ``bytes.fromhex`` checks hex far faster than a
# regular expression, which matters to ``ledger verify``.
Hex32 = Annotated[str, msgspec.Meta(min_length=64, max_length=64)]
Seq = Annotated[int, msgspec.Meta(ge=0, le=MAX_SAFE_INTEGER)]
EntryType = Literal["ban", "correction"]
BanKind = Literal["lifetime", "fixed_term"]
Effect = Literal["quashed", "amended"]

_ZERO: Final = timedelta(0)
_KEY = re.compile(r"[a-z][a-z0-9_]{0,63}")
_REASON_CODE = _KEY
_ORG_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_REGION = re.compile(r"[0-9]{6}")


def _is_hex(value: str, size: int) -> bool:
    try:
        return value == value.lower() and len(bytes.fromhex(value)) == size
    except (ValueError, TypeError, AttributeError):
        return False


def _check_hex(*fields: tuple[str, str]) -> None:
    """Require each value to be 64 lowercase hex digits (a SHA-256 hash), in one pass."""
    if _is_hex("".join(value for _, value in fields), HASH_SIZE * len(fields)):
        return
    for field, value in fields:
        if not _is_hex(value, HASH_SIZE):
            msg = f"{field} must be 64 lowercase hex digits"
            raise EntryError(msg)
    msg = "hex fields must be 64 lowercase hex digits each"
    raise EntryError(msg)


def _check_format(field: str, value: str, pattern: re.Pattern[str]) -> None:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        msg = f"{field} does not match {pattern.pattern}"  # the value may be personal data
        raise EntryError(msg)


class Issuer(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The regulator that recorded the entry."""

    org: str
    """Organisation ID of the issuing regulator."""
    region: str
    """Six-digit administrative division code (GB/T 2260) of its jurisdiction."""

    def __post_init__(self) -> None:
        """Check the formats.

        Raises:
            EntryError: The org ID or region code is malformed.
        """
        _check_format("issuer.org", self.org, _ORG_ID)
        _check_format("issuer.region", self.region, _REGION)


class Corrects(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The ban a correction refers to."""

    seq: Seq
    """Sequence number of the corrected ban."""
    leaf_hash: Hex32
    """Hex leaf hash of the corrected ban."""

    def __post_init__(self) -> None:
        """Check the format.

        Raises:
            EntryError: The leaf hash is not 64 lowercase hex digits.
        """
        _check_hex(("corrects.leaf_hash", self.leaf_hash))


class Entry(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """A ledger entry, schema v1.

    Construction checks formats and cross-field rules; ``encode_entry`` and ``parse_entry``
    also check the types and literal values (msgspec validates those only when decoding).
    """

    v: Literal[1]
    """Schema version."""
    type: EntryType
    seq: Seq
    """Position in the log (the leaf index)."""
    prev: Hex32
    """Hex leaf hash of entry ``seq - 1``; ``GENESIS_PREV`` for entry 0."""
    ts: datetime
    """When the entry was recorded (UTC, whole seconds)."""
    subject: Hex32
    """Commitment to the subject's normalised ID number."""
    kind: BanKind | None
    until: date | None
    """Last day of a fixed-term ban (inclusive)."""
    reason_code: str
    issuer: Issuer
    decision: Hex32
    """Commitment to the decision reference."""
    case: Hex32
    """Commitment to the case number."""
    corrects: Corrects | None = None
    effect: Effect | None = None

    def __post_init__(self) -> None:
        """Check the rules that span fields.

        Raises:
            EntryError: The fields contradict each other.
        """
        _check_ts(self.ts)
        _check_hex(
            ("prev", self.prev),
            ("subject", self.subject),
            ("decision", self.decision),
            ("case", self.case),
        )
        _check_format("reason_code", self.reason_code, _REASON_CODE)
        if (self.seq == 0) != (self.prev == GENESIS_PREV):
            msg = f"entry {self.seq}: prev must be GENESIS_PREV exactly for entry 0"
            raise EntryError(msg)
        if self.type == "ban":
            if self.corrects is not None or self.effect is not None:
                msg = f"entry {self.seq}: a ban has no corrects or effect"
                raise EntryError(msg)
            _check_terms(self.seq, self.kind, self.until)
        else:
            self._check_correction()

    def _check_correction(self) -> None:
        if self.corrects is None or self.effect is None:
            msg = f"entry {self.seq}: a correction needs corrects and effect"
            raise EntryError(msg)
        if self.corrects.seq >= self.seq:
            msg = f"entry {self.seq}: a correction must follow the ban it corrects"
            raise EntryError(msg)
        if self.effect == "amended":
            _check_terms(self.seq, self.kind, self.until)
        elif self.kind is not None or self.until is not None:
            msg = f"entry {self.seq}: a quashing correction has null kind and until"
            raise EntryError(msg)


def _check_ts(ts: datetime) -> None:
    if ts.microsecond or (ts.tzinfo is not UTC and ts.utcoffset() != _ZERO):
        msg = "entry ts must be UTC with whole seconds"
        raise EntryError(msg)


def _check_terms(seq: int, kind: str | None, until: date | None) -> None:
    if kind is None:
        msg = f"entry {seq}: kind is required"
        raise EntryError(msg)
    if (kind == "fixed_term") != (until is not None):
        msg = f"entry {seq}: until is required for a fixed_term ban and only for it"
        raise EntryError(msg)


# --- canonical JSON -------------------------------------------------------------------------


def _canonical(value: object, path: str, depth: int) -> object:
    """Check a value against the canonical subset; return it with every mapping as a dict."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        msg = f"{path}: booleans are not allowed in an entry"
        raise EntryError(msg)
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            msg = f"{path}: integer outside ±(2**53 - 1)"
            raise EntryError(msg)
        return value
    if isinstance(value, Mapping):
        if depth >= MAX_DEPTH:
            msg = f"{path}: objects nested deeper than {MAX_DEPTH}"
            raise EntryError(msg)
        checked: dict[str, object] = {}
        for key, item in value.items():
            if not isinstance(key, str) or not _KEY.fullmatch(key):
                msg = f"{path}: key {key!r} is not a lowercase ASCII identifier"
                raise EntryError(msg)
            checked[key] = _canonical(item, f"{path}.{key}", depth + 1)
        return checked
    msg = f"{path}: {type(value).__name__} values are not allowed in an entry"
    raise EntryError(msg)


def _encode_checked(value: object) -> bytes:
    try:
        return msgspec.json.encode(value, order="sorted")
    except UnicodeEncodeError:
        msg = "entry contains a string that is not valid Unicode (lone surrogate)"
        raise EntryError(msg) from None


def encode_entry(entry: Entry | Mapping[str, object]) -> bytes:
    """Return the canonical JSON bytes of an entry.

    Args:
        entry: A schema-v1 ``Entry`` (validated in full), or any mapping in the canonical subset.

    Returns:
        The canonical UTF-8 bytes (the leaf data).

    Raises:
        EntryError: The value is outside the canonical subset or breaks the schema.
    """
    if isinstance(entry, Entry):
        data = _encode_checked(entry)
        parse_entry(data)  # enforces the field formats a constructor does not check
        return data
    return _encode_checked(_canonical(entry, "$", 0))


def _decode(data: bytes, type_: type[object]) -> object:
    try:
        return msgspec.json.decode(data, type=type_, strict=True)
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError) as exc:
        msg = f"entry is not valid: {exc}"
        raise EntryError(msg) from None


def _require_canonical(data: bytes, value: object) -> None:
    if _encode_checked(value) != data:
        msg = "entry bytes are not canonical JSON (key order, whitespace, escapes or numbers)"
        raise EntryError(msg)


def decode_entry(data: bytes) -> dict[str, object]:
    """Decode canonical entry bytes into plain Python values, without the schema.

    Args:
        data: The entry bytes.

    Returns:
        The decoded object.

    Raises:
        EntryError: The bytes are not a JSON object in the canonical subset, or not canonical.
    """
    value = _decode(data, object)
    if not isinstance(value, dict):
        msg = "entry must be a JSON object"
        raise EntryError(msg)
    _canonical(value, "$", 0)
    _require_canonical(data, value)
    return value


def parse_entry(data: bytes) -> Entry:
    """Decode and validate canonical schema-v1 entry bytes.

    Args:
        data: The entry bytes.

    Returns:
        The entry.

    Raises:
        EntryError: The bytes break the schema or are not canonical.
    """
    entry = _decode(data, Entry)
    if not isinstance(entry, Entry):  # pragma: no cover - msgspec returns the requested type
        msg = "entry did not decode to an Entry"
        raise EntryError(msg)
    _require_canonical(data, entry)
    return entry


def entry_leaf_hash(entry: Entry) -> LeafHash:
    """Return ``LEAF(encode_entry(entry))``, the entry's leaf hash."""
    return leaf_hash(encode_entry(entry))


# --- commitments ----------------------------------------------------------------------------


def new_salt() -> bytes:
    """Return a fresh random 32-byte salt."""
    return secrets.token_bytes(SALT_SIZE)


def _normalize(value: str) -> str:
    normalized = "".join(unicodedata.normalize("NFKC", value).split()).upper()
    try:
        normalized.encode()
    except UnicodeEncodeError:
        msg = "committed value is not valid Unicode (lone surrogate)"
        raise EntryError(msg) from None
    return normalized


def normalize_value(value: str) -> str:
    """Normalise a committed value: NFKC, all whitespace removed, upper case.

    This makes full-width digits and brackets, spaces and a lower-case ``x`` check digit
    irrelevant, for ID numbers as for decision references and case numbers.

    Args:
        value: The plain value.

    Returns:
        The normalised value.

    Raises:
        EntryError: Nothing is left after normalisation, or the value has a lone surrogate.
    """
    normalized = _normalize(value)
    if not normalized:
        msg = "committed value is empty"
        raise EntryError(msg)
    return normalized


def _commitment_prefix(domain: str, salt: bytes) -> bytes:
    if domain not in COMMITMENT_DOMAINS:
        msg = f"unknown commitment domain {domain!r}"
        raise EntryError(msg)
    if len(salt) != SALT_SIZE:
        msg = f"commitment salt must be {SALT_SIZE} bytes, got {len(salt)}"
        raise EntryError(msg)
    return f"workforce/{domain}/v1".encode() + salt


def commit(domain: str, salt: bytes, value: str) -> str:
    """Return the commitment ``SHA-256("workforce/<domain>/v1" || salt || normalized value)``.

    Args:
        domain: ``subject``, ``decision`` or ``case``.
        salt: 32 random bytes, kept private.
        value: The plain value (normalised with ``normalize_value``).

    Returns:
        The commitment, 64 lowercase hex digits.

    Raises:
        EntryError: Unknown domain, salt not 32 bytes, or empty value.
    """
    prefix = _commitment_prefix(domain, salt)
    return hashlib.sha256(prefix + normalize_value(value).encode()).hexdigest()


def open_commitment(commitment: str, domain: str, salt: bytes, value: str) -> bool:
    """Return whether ``commitment`` commits to ``value`` with ``salt`` in ``domain``.

    Args:
        commitment: The hex commitment from an entry.
        domain: ``subject``, ``decision`` or ``case``.
        salt: The 32-byte salt.
        value: The claimed plain value.

    Returns:
        ``True`` when it opens; ``False`` otherwise, including for a value that normalises to
        nothing.

    Raises:
        EntryError: Unknown domain, salt not 32 bytes, or a value with a lone surrogate.
    """
    prefix = _commitment_prefix(domain, salt)
    normalized = _normalize(value)
    if not normalized:
        return False
    expected = hashlib.sha256(prefix + normalized.encode()).hexdigest()
    return hmac.compare_digest(expected.encode(), commitment.encode(errors="surrogatepass"))


# --- status fold ----------------------------------------------------------------------------


class SubjectStatus(msgspec.Struct, frozen=True):
    """Whether a subject is banned on a given day, and by which entry."""

    banned: bool
    kind: BanKind | None = None
    since: date | None = None
    """Day the ban in force was recorded (UTC)."""
    until: date | None = None
    """Last day of a fixed-term ban in force."""
    active_entry_seq: int | None = None
    """Sequence number of the ban entry in force."""


NOT_BANNED: Final = SubjectStatus(banned=False)


class _Ban:
    """Running state of one ban during the fold."""

    __slots__ = ("entry", "kind", "quashed", "until")

    def __init__(self, entry: Entry) -> None:
        self.entry = entry
        self.kind = entry.kind
        self.until = entry.until
        self.quashed: date | None = None

    def in_force(self, today: date) -> bool:
        if self.quashed is not None and today >= self.quashed:
            return False
        return self.kind == "lifetime" or (self.until is not None and today <= self.until)

    def strength(self) -> tuple[int, date, int]:
        """Sort key: lifetime first, then the latest until, then the earliest entry."""
        if self.kind == "lifetime":
            return (1, date.max, -self.entry.seq)
        return (0, self.until or date.min, -self.entry.seq)


def _apply_correction(bans: dict[int, _Ban], correction: Entry) -> None:
    target = correction.corrects
    if target is None:  # pragma: no cover - guaranteed by Entry validation
        return
    ban = bans.get(target.seq)
    if ban is None:
        msg = f"correction {correction.seq} refers to {target.seq}, not a ban of this subject"
        raise EntryError(msg)
    if entry_leaf_hash(ban.entry).hex() != target.leaf_hash:
        msg = f"correction {correction.seq} names the wrong leaf hash for ban {target.seq}"
        raise EntryError(msg)
    if ban.quashed is not None:
        msg = f"correction {correction.seq} refers to ban {target.seq}, already quashed"
        raise EntryError(msg)
    if correction.effect == "quashed":
        ban.quashed = correction.ts.date()
    else:
        ban.kind, ban.until = correction.kind, correction.until


def fold_status(entries: Iterable[Entry], today: date) -> SubjectStatus:
    """Fold one subject's entries into its status on ``today``.

    Entries recorded after ``today`` (UTC date of ``ts``) are ignored, so the fold answers
    "as of" any day. Corrections apply in ``seq`` order.

    Args:
        entries: The subject's bans and corrections, in any order.
        today: The day to evaluate.

    Returns:
        The strongest ban in force (lifetime, else the latest ``until``, else the earliest
        entry), or ``NOT_BANNED``.

    Raises:
        EntryError: Duplicate sequence numbers, or a correction that refers to no ban of these
            entries, names the wrong leaf hash, or follows a quashing.
    """
    bans: dict[int, _Ban] = {}
    seen: set[int] = set()
    for entry in sorted(entries, key=lambda item: item.seq):
        if entry.seq in seen:
            msg = f"entry {entry.seq} appears twice"
            raise EntryError(msg)
        seen.add(entry.seq)
        if entry.ts.date() > today:
            continue
        if entry.type == "ban":
            bans[entry.seq] = _Ban(entry)
        else:
            _apply_correction(bans, entry)
    in_force = [ban for ban in bans.values() if ban.in_force(today)]
    if not in_force:
        return NOT_BANNED
    ban = max(in_force, key=_Ban.strength)
    return SubjectStatus(
        banned=True,
        kind=ban.kind,
        since=ban.entry.ts.date(),
        until=ban.until,
        active_entry_seq=ban.entry.seq,
    )
