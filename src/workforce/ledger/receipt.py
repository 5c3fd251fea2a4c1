"""Offline verification of ban-check receipts (ledger.md §8).

A receipt (``POST /api/v1/bans/check`` → ``receipt``) holds:

- ``checkpoint``: a signed C2SP tlog-checkpoint note of the ban ledger;
- ``statement``: a compact JWS (EdDSA, ``typ`` ``ban-check+jwt``, ``kid`` in the service's
  JWKS) with the verdict (``banned``, ``kind``, ``since``, ``until``), the day it was evaluated
  (``checked_on``), the checkpoint (origin, size, root) and a salted commitment to the ID
  number checked (``subject_commitment``), plus the seqs of the evidence entries;
- ``salt``: opens that commitment against the ID number the holder submitted;
- ``entries`` (a hit): each entry's exact canonical bytes, its inclusion proof in the
  checkpoint's tree and the salt opening its own subject commitment.

:func:`verify_ban_receipt` checks all of it with no network and no database: the checkpoint
signature against the ledger's verifier keys, the statement signature against the JWKS, that
both name the same tree, that the receipt is about the ID number given, that every entry is in
the tree and about that person, and that folding the entries on ``checked_on`` gives the stated
verdict. (A miss proves what the service signed, not absence: proofs of absence need a
verifiable map, the next step.)

Pure module: standard library, ``cryptography``, ``msgspec``, PyJWT and the ledger core only.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, Final

import jwt
import msgspec

from workforce.ledger.checkpoint import Checkpoint, open_checkpoint
from workforce.ledger.entry import Entry, fold_status, open_commitment, parse_entry
from workforce.ledger.errors import LedgerError
from workforce.ledger.merkle import leaf_hash, verify_inclusion
from workforce.ledger.note import Verifier

RECEIPT_TYP: Final = "ban-check+jwt"
SUPPORTED_VERSION: Final = 1


class _Entry(msgspec.Struct):
    seq: int
    leaf: str
    inclusion_proof: list[str]
    subject_salt: str


class _Receipt(msgspec.Struct):
    version: int
    statement: str
    salt: str
    checkpoint: str
    entries: list[_Entry] = []


class ReceiptVerdict(msgspec.Struct, kw_only=True):
    """The outcome of verifying a receipt.

    ``valid`` is True only when every check passed; then the other fields are what the receipt
    proves. Otherwise ``reason`` is a stable code and ``detail`` says what failed.
    """

    valid: bool
    reason: str | None = None
    detail: str | None = None
    banned: bool | None = None
    kind: str | None = None
    since: date | None = None
    until: date | None = None
    checked_at: str | None = None
    checked_on: date | None = None
    checkpoint_size: int | None = None
    entries: list[int] = []


class _Fail(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _b64(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise _Fail("malformed", f"{what} is not valid base64") from None


def _decode(receipt: Any) -> _Receipt:
    try:
        if isinstance(receipt, str | bytes):
            return msgspec.json.decode(receipt, type=_Receipt)
        if isinstance(receipt, msgspec.Struct):
            receipt = msgspec.to_builtins(receipt)
        return msgspec.convert(receipt, _Receipt)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise _Fail("malformed", f"not a ban-check receipt: {exc}") from None


def _statement(token: str, jwks: Mapping[str, Any] | str) -> dict[str, Any]:
    keys = json.loads(jwks) if isinstance(jwks, str) else jwks
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise _Fail("statement_signature", "the statement is not a compact JWS") from None
    if header.get("typ") != RECEIPT_TYP or header.get("alg") != "EdDSA":
        raise _Fail("statement_signature", "the statement is not an EdDSA ban-check+jwt")
    kid = header.get("kid")
    found = [k for k in keys.get("keys", []) if isinstance(k, Mapping) and k.get("kid") == kid]
    if not found:
        raise _Fail("statement_signature", "the statement's key is not in the JWKS")
    try:
        key = jwt.PyJWK(dict(found[0]), algorithm="EdDSA").key
        claims: dict[str, Any] = jwt.decode(
            token,
            key=key,
            algorithms=["EdDSA"],
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
        )
    except jwt.PyJWTError as exc:
        raise _Fail("statement_signature", f"the statement does not verify ({exc})") from None
    return claims


def _date(value: Any, what: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise _Fail("malformed", f"{what} is not a date") from None


def _check_entries(entries: list[_Entry], checkpoint: Checkpoint, id_number: str) -> list[Entry]:
    parsed: list[Entry] = []
    for item in entries:
        leaf = _b64(item.leaf, f"entry {item.seq}")
        try:
            entry = parse_entry(leaf)
        except LedgerError as exc:
            raise _Fail("entry_invalid", f"entry {item.seq}: {exc}") from None
        if entry.seq != item.seq:
            raise _Fail("entry_invalid", f"entry {item.seq}: its bytes say seq {entry.seq}")
        proof = [_b64(h, f"entry {item.seq} proof") for h in item.inclusion_proof]
        try:
            verify_inclusion(
                leaf_hash(leaf), entry.seq, checkpoint.size, proof, checkpoint.root_hash
            )
        except LedgerError as exc:
            raise _Fail("inclusion_proof", f"entry {item.seq}: {exc}") from None
        try:
            opens = open_commitment(
                entry.subject, "subject", _b64(item.subject_salt, "salt"), id_number
            )
        except LedgerError as exc:
            raise _Fail("malformed", f"entry {item.seq}: {exc}") from None
        if not opens:
            raise _Fail("wrong_subject", f"entry {item.seq} is not about this ID number")
        parsed.append(entry)
    return parsed


def _verify(
    receipt: Any,
    id_number: str,
    vkeys: Iterable[str],
    jwks: Mapping[str, Any] | str,
    origin: str | None,
) -> ReceiptVerdict:
    data = _decode(receipt)
    if data.version != SUPPORTED_VERSION:
        raise _Fail("malformed", f"receipt version {data.version} is not supported")
    try:
        verifiers = [Verifier.from_vkey(v) for v in vkeys]
        checkpoint = open_checkpoint(data.checkpoint, verifiers, origin)
    except LedgerError as exc:
        raise _Fail("checkpoint_signature", f"the checkpoint does not verify ({exc})") from None
    claims = _statement(data.statement, jwks)
    named = claims.get("checkpoint")
    if not isinstance(named, Mapping) or (
        named.get("size") != checkpoint.size
        or named.get("root_hash") != base64.b64encode(checkpoint.root_hash).decode()
        or named.get("origin") != checkpoint.origin
    ):
        raise _Fail("checkpoint_mismatch", "the statement names another checkpoint")
    commitment = claims.get("subject_commitment")
    try:
        opens = isinstance(commitment, str) and open_commitment(
            commitment, "subject", _b64(data.salt, "salt"), id_number
        )
    except LedgerError as exc:
        raise _Fail("malformed", f"the statement's commitment cannot be opened ({exc})") from None
    if not opens:
        raise _Fail("wrong_subject", "the receipt is not about this ID number")
    entries = _check_entries(data.entries, checkpoint, id_number)
    seqs = [entry.seq for entry in entries]
    if claims.get("entries", []) != seqs:
        raise _Fail("entries_mismatch", "the statement names other entries than the receipt holds")
    checked_on = _date(claims.get("checked_on"), "checked_on")
    if checked_on is None:
        raise _Fail("malformed", "the statement has no checked_on")
    stated = (
        claims.get("banned"),
        claims.get("kind"),
        _date(claims.get("since"), "since"),
        _date(claims.get("until"), "until"),
    )
    if stated[0] is True:
        try:
            status = fold_status(entries, checked_on)
        except LedgerError as exc:
            raise _Fail("verdict_mismatch", f"the entries do not fold ({exc})") from None
        if (status.banned, status.kind, status.since, status.until) != stated:
            raise _Fail("verdict_mismatch", "the entries do not give the stated verdict")
    elif stated[0] is not False or entries or any(v is not None for v in stated[1:]):
        raise _Fail("verdict_mismatch", "a miss carries no entries and no ban terms")
    return ReceiptVerdict(
        valid=True,
        banned=bool(stated[0]),
        kind=stated[1],
        since=stated[2],
        until=stated[3],
        checked_at=claims.get("checked_at"),
        checked_on=checked_on,
        checkpoint_size=checkpoint.size,
        entries=seqs,
    )


def verify_ban_receipt(
    receipt: Any,
    id_number: str,
    vkeys: Iterable[str],
    jwks: Mapping[str, Any] | str,
    *,
    origin: str | None = None,
) -> ReceiptVerdict:
    """Verify a ban-check receipt offline.

    Args:
        receipt: The receipt: decoded JSON (a mapping), JSON text, or the response Struct.
        id_number: The ID number the check was made for (normalised before comparing).
        vkeys: The ledger's verifier keys (``GET /ledger/vkey``, one string each).
        jwks: The service's JSON Web Key Set (``GET /.well-known/jwks.json``).
        origin: When given, the checkpoint must name this log origin.

    Returns:
        A verdict; ``valid`` is False with a ``reason`` code (``malformed``,
        ``checkpoint_signature``, ``statement_signature``, ``checkpoint_mismatch``,
        ``wrong_subject``, ``entry_invalid``, ``inclusion_proof``, ``entries_mismatch``,
        ``verdict_mismatch``) when any check fails. Never raises on hostile input.
    """
    try:
        return _verify(receipt, id_number, vkeys, jwks, origin)
    except _Fail as failure:
        return ReceiptVerdict(valid=False, reason=failure.reason, detail=failure.detail)
