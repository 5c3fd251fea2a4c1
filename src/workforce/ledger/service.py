"""The ban ledger service: one serialized write path, proofs, bans, corrections and checks.

Writes go through :func:`append` only. It takes the ledger's write lock (SQLite ``BEGIN
IMMEDIATE`` through :func:`workforce.db.begin_write`; PostgreSQL a transaction-scoped advisory
lock), reads the tree head (latest checkpoint and the O(log n) peak hashes), builds each entry
with its ``seq`` and ``prev`` (the hash chain), stores the entry, the perfect subtrees it
completes and a newly signed checkpoint, all in the caller's transaction. Several processes
appending at once therefore queue on the lock; the primary keys on ``seq``, ``node`` and the
checkpoint ``size`` refuse a fork even if the lock were bypassed.

Privacy (ledger.md §3): entries carry salted commitments only. The salts, and the values
encrypted with a key derived from the ledger subject key, live in private tables; a keyed
index ``HMAC(ledger subject key, normalized ID number)`` finds a person's entries.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import hmac
import secrets
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from workforce import hooks, regions
from workforce.audit.service import record_access
from workforce.certificates.credential import sign_jws
from workforce.context import AppContext
from workforce.db import begin_write, utcnow
from workforce.errors import (
    OUT_OF_JURISDICTION,
    BadRequest,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    Reason,
    RuleRefused,
)
from workforce.ledger import store
from workforce.ledger.checkpoint import Checkpoint, sign_checkpoint
from workforce.ledger.entry import (
    GENESIS_PREV,
    MAX_SAFE_INTEGER,
    NOT_BANNED,
    Corrects,
    Entry,
    EntryError,
    Issuer,
    SubjectStatus,
    commit,
    encode_entry,
    fold_status,
    new_salt,
    normalize_value,
    parse_entry,
)
from workforce.ledger.merkle import (
    HashPlan,
    StreamingRoot,
    consistency_plan,
    empty_root,
    inclusion_plan,
    leaf_hash,
    root_plan,
    subtrees_completed_by_append,
)
from workforce.ledger.note import Signer, Verifier
from workforce.ledger.schemas import (
    BanCheckReceipt,
    BanCheckResult,
    BanCorrected,
    BanCorrectionCreate,
    BanCreate,
    BanRecorded,
    BanStatus,
    ReceiptEntry,
    RecordedEntry,
)
from workforce.ledger.store import (
    LedgerCase,
    LedgerCheckpoint,
    LedgerEntry,
    LedgerSubject,
    LedgerSubtree,
    node_index,
)
from workforce.practitioners.models import Practitioner
from workforce.practitioners.service import id_number_of, normalize_id_number
from workforce.security import idnumber
from workforce.security.principal import Principal

ADVISORY_LOCK_KEY: Final = 0x574B_4C45_4447_4552 & ((1 << 63) - 1)
"""``pg_advisory_xact_lock`` key of the ledger's write path (``"WKLEDGER"``)."""
RECEIPT_TYP: Final = "ban-check+jwt"
"""JOSE ``typ`` of a ban-check statement."""
RECEIPT_VERSION: Final = 1
MAX_ENTRIES_PAGE: Final = 1000
"""Most entries one ``GET /ledger/entries`` returns."""

_SUBJECT_INDEX_DOMAIN: Final = b"workforce/ledger/subject-index/v1\x00"
_CASE_INDEX_DOMAIN: Final = b"workforce/ledger/case-index/v1\x00"
_OPENING_KDF_INFO: Final = b"workforce/ledger/openings/aes-256-gcm/v1"
_OPENING_AAD: Final = b"workforce/ledger/opening/v1\x00"
_NONCE: Final = 12

# Reason codes (stable, machine-readable).
INDEX_OUT_OF_RANGE: Final = "index_out_of_range"
SIZE_BEYOND_TREE: Final = "size_beyond_tree"
INVALID_RANGE: Final = "invalid_range"
ENTRY_NOT_FOUND: Final = "entry_not_found"
CHECKPOINT_NOT_FOUND: Final = "checkpoint_not_found"
NOT_A_BAN: Final = "correction_of_correction"
ALREADY_QUASHED: Final = "ban_already_quashed"
UNTIL_REQUIRED: Final = "until_required"
UNTIL_NOT_ALLOWED: Final = "until_not_allowed"
UNTIL_IN_PAST: Final = "until_in_past"
KIND_REQUIRED: Final = "kind_required"
KIND_NOT_ALLOWED: Final = "kind_not_allowed"
DUPLICATE_SUBJECT: Final = "duplicate_subject"
INVALID_REFERENCE: Final = "invalid_reference"


# --- keys --------------------------------------------------------------------------------


def subject_index(ctx: AppContext, number: str) -> bytes:
    """The keyed index of a (validated, normalized) ID number in ``ledger_subjects``."""
    return hmac.new(
        ctx.secrets.ledger_subject_key, _SUBJECT_INDEX_DOMAIN + number.encode(), hashlib.sha256
    ).digest()


def _case_index(ctx: AppContext, normalized_case: str) -> bytes:
    return hmac.new(
        ctx.secrets.ledger_subject_key,
        _CASE_INDEX_DOMAIN + normalized_case.encode(),
        hashlib.sha256,
    ).digest()


@functools.lru_cache(maxsize=8)
def _aead(key: bytes) -> AESGCM:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_OPENING_KDF_INFO)
    return AESGCM(derived.derive(key))


def _aad(seq: int, field: str) -> bytes:
    return _OPENING_AAD + seq.to_bytes(8, "big") + field.encode()


def _seal(ctx: AppContext, seq: int, field: str, value: str) -> bytes:
    nonce = secrets.token_bytes(_NONCE)
    sealed = _aead(ctx.secrets.ledger_subject_key).encrypt(nonce, value.encode(), _aad(seq, field))
    return nonce + sealed


def _unseal(ctx: AppContext, seq: int, field: str, blob: bytes) -> str:
    try:
        plain = _aead(ctx.secrets.ledger_subject_key).decrypt(
            blob[:_NONCE], blob[_NONCE:], _aad(seq, field)
        )
    except InvalidTag:
        msg = f"the private opening of entry {seq} does not decrypt"
        raise RuntimeError(msg) from None
    return plain.decode()


_SIGNERS: dict[tuple[str, str], Signer] = {}


def signers(ctx: AppContext) -> list[Signer]:
    """The checkpoint signers: the two newest keys, each named by the log's origin.

    A :class:`Signer` derives its key ID from the public key; it is made once per key.
    """
    origin = ctx.settings.ledger_origin
    found = []
    for key in ctx.keyring.checkpoint_signers():
        signer = _SIGNERS.get((origin, key.kid))
        if signer is None:
            signer = _SIGNERS[(origin, key.kid)] = Signer(origin, key.private)
        found.append(signer)
    return found


def verifiers(ctx: AppContext) -> list[Verifier]:
    """A verifier for every key of the keyring (old keys keep old checkpoints verifiable)."""
    origin = ctx.settings.ledger_origin
    return [Verifier.from_public_key(origin, key.public) for key in ctx.keyring.keys]


def vkeys(ctx: AppContext) -> list[str]:
    """The C2SP verifier-key strings of every key, oldest first."""
    return [verifier.vkey for verifier in verifiers(ctx)]


def b64(data: bytes) -> str:
    """Standard base64."""
    return base64.b64encode(data).decode("ascii")


# --- the write path ------------------------------------------------------------------------


async def lock_ledger(session: AsyncSession) -> None:
    """Take the ledger's write lock for the rest of the caller's transaction.

    SQLite: the transaction starts with ``BEGIN IMMEDIATE`` (a no-op if the caller's unit of
    work already started as a writer). PostgreSQL: ``pg_advisory_xact_lock``.
    """
    await begin_write(session)
    await lock_connection(await session.connection())


async def lock_connection(conn: AsyncConnection) -> None:
    """The ledger's write lock on a connection whose transaction began as a writer.

    PostgreSQL: ``pg_advisory_xact_lock`` until the transaction ends. SQLite: nothing more,
    its ``BEGIN IMMEDIATE`` already holds the database's write lock.
    """
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})


@dataclasses.dataclass(frozen=True)
class Draft:
    """An entry waiting for its place in the log.

    Attributes:
        build: ``(seq, prev hex, ts) -> Entry``; called under the write lock.
        subject_key: The keyed subject index to file the entry under (with its ``subject``
            opening).
        openings: ``(field, salt, plain value)`` of the entry's commitments, kept privately.
    """

    build: Callable[[int, str, datetime], Entry]
    subject_key: bytes | None = None
    openings: tuple[tuple[str, bytes, str | None], ...] = ()


@dataclasses.dataclass(frozen=True)
class Appended:
    """What one append wrote."""

    entries: list[tuple[int, bytes, bytes, Entry]]
    """``(seq, leaf bytes, leaf hash, entry)`` per appended entry."""
    size: int
    root_hash: bytes
    note: str


def _now() -> datetime:
    return utcnow().astimezone(UTC).replace(microsecond=0)


def _head_keys(head: tuple[int, bytes] | None) -> list[tuple[int, int]]:
    """The subtrees an append reads: the peaks of the current tree and its last leaf."""
    size = head[0] if head is not None else 0
    return [*root_plan(size).parts[0], (0, size - 1)] if size else []


@dataclasses.dataclass(frozen=True)
class Frontier:
    """What an append needs of the tree: its head and the hashes of :func:`_head_keys`."""

    head: tuple[int, bytes] | None
    hashes: dict[tuple[int, int], bytes]


_FRONTIERS: dict[tuple[int, bytes], Frontier] = {}
"""The frontiers of the trees this process last appended to, by ``(size, root hash)``.

A frontier is a function of the tree, and ``(size, root hash)`` names one tree, so an append
whose head is found here needs no read of the stored subtrees, whichever database, connection or
transaction made it: a rolled-back append leaves a frontier no head will name again unless the
same entries are appended.
"""
_MAX_FRONTIERS: Final = 16


def _frontier(head: tuple[int, bytes] | None) -> Frontier | None:
    return _FRONTIERS.get(head) if head is not None else None


_FRONTIERS_LOCK = threading.Lock()
"""Appends on SQLite run on aiosqlite's threads (one per connection)."""


def _remember(frontier: Frontier) -> None:
    if frontier.head is None:
        return
    with _FRONTIERS_LOCK:
        if len(_FRONTIERS) >= _MAX_FRONTIERS:
            del _FRONTIERS[next(iter(_FRONTIERS))]
        _FRONTIERS[frontier.head] = frontier


@dataclasses.dataclass(frozen=True)
class _Batch:
    appended: Appended
    rows: list[tuple[type[Any], list[dict[str, Any]]]]
    frontier: Frontier


def _build(
    ctx: AppContext,
    frontier: Frontier,
    drafts: Sequence[Draft],
    ts: datetime,
    *,
    trusted: bool = False,
) -> _Batch:
    """Give each draft its place (seq, prev) and compute every row the append writes.

    Unless the frontier is ``trusted`` (one this process built), its peaks must hash to the
    head's root first.

    Raises:
        RuntimeError: The stored peaks do not hash to the latest checkpoint's root.
        EntryError: A built entry breaks the entry schema.
    """
    head, cache = frontier.head, dict(frontier.hashes)
    size = head[0] if head is not None else 0
    peaks = [cache.get(key) for key in root_plan(size).parts[0]]
    found = [peak for peak in peaks if peak is not None]
    stream = StreamingRoot.resume(size, found) if len(found) == len(peaks) else None
    if stream is None or (head is not None and not trusted and stream.root() != head[1]):
        msg = f"the stored subtrees do not match checkpoint {size}; run `workforce ledger verify`"
        raise RuntimeError(msg)
    prev = cache[(0, size - 1)].hex() if size else GENESIS_PREV

    def get_subtree(level: int, idx: int) -> bytes:
        return cache[(level, idx)]

    appended: list[tuple[int, bytes, bytes, Entry]] = []
    entry_rows: list[dict[str, Any]] = []
    subtree_rows: list[dict[str, Any]] = []
    private_rows: list[dict[str, Any]] = []
    for offset, draft in enumerate(drafts):
        seq = size + offset
        entry = draft.build(seq, prev, ts)
        leaf = encode_entry(entry)
        digest = leaf_hash(leaf)
        for level, idx, value in subtrees_completed_by_append(seq, digest, get_subtree):
            cache[(level, idx)] = value
            subtree_rows.append(
                {"node": node_index(level, idx), "level": level, "idx": idx, "hash": value}
            )
        stream.push(digest)
        prev = digest.hex()
        appended.append((seq, leaf, digest, entry))
        entry_rows.append({"seq": seq, "leaf": leaf, "leaf_hash": digest, "created_at": ts})
        for field, salt, plain in draft.openings:
            private_rows.append(
                {
                    "seq": seq,
                    "field": field,
                    "salt": salt,
                    "value_cipher": _seal(ctx, seq, field, plain) if plain is not None else None,
                    "subject_key": draft.subject_key if field == "subject" else None,
                }
            )
    new_size = size + len(drafts)
    root = stream.root()
    note = sign_checkpoint(Checkpoint(ctx.settings.ledger_origin, new_size, root), signers(ctx))
    checkpoint_row = {
        "size": new_size,
        "prev_size": head[0] if head is not None else None,
        "root_hash": root,
        "note": note,
        "created_at": ts,
    }
    new_head = (new_size, root)
    return _Batch(
        appended=Appended(entries=appended, size=new_size, root_hash=root, note=note),
        rows=[
            (LedgerEntry, entry_rows),
            (LedgerSubtree, subtree_rows),
            (LedgerCheckpoint, [checkpoint_row]),
            (LedgerSubject, private_rows),
        ],
        frontier=Frontier(new_head, {key: cache[key] for key in _head_keys(new_head)}),
    )


def append_sync(ledger: store.SyncLedger, ctx: AppContext, drafts: Sequence[Draft]) -> Appended:
    """:func:`append` on a DB-API connection, in its open write transaction (SQLite).

    The entries' ``ts`` is read here, after the caller took the write lock, so that ``ts``
    never decreases along the log.
    """
    head = ledger.head()
    known = _frontier(head)
    frontier = known or Frontier(head, ledger.subtree_hashes(_head_keys(head)))
    batch = _build(ctx, frontier, drafts, _now(), trusted=known is not None)
    for model, rows in batch.rows:
        ledger.insert(model, rows)
    _remember(batch.frontier)
    return batch.appended


async def append_on(conn: AsyncConnection, ctx: AppContext, drafts: Sequence[Draft]) -> Appended:
    """:func:`append_sync` on an async connection holding the write lock."""
    worker = store.sqlite_worker(conn)
    if worker is not None:
        return await worker.run_here(lambda ledger: append_sync(ledger, ctx, drafts))
    head = await store.head(conn)
    known = _frontier(head)
    frontier = known or Frontier(head, await store.subtree_hashes(conn, _head_keys(head)))
    batch = _build(ctx, frontier, drafts, _now(), trusted=known is not None)
    for model, rows in batch.rows:
        await store.insert_rows(conn, model, rows)
    _remember(batch.frontier)
    return batch.appended


async def append(session: AsyncSession, ctx: AppContext, *drafts: Draft) -> Appended:
    """Append entries and one checkpoint covering them, in the caller's transaction.

    Under the write lock: read the head (latest checkpoint, peaks, last leaf hash), build each
    entry with its ``seq`` and ``prev``, and insert the entries, the subtrees they complete, the
    private openings and a newly signed checkpoint. Many drafts in one call is the bulk path:
    one lock, one head read, one checkpoint. On SQLite the reads and inserts run as one call, on
    the event loop's thread between the session's statements. (Appends that need no other row
    in the same transaction can use :class:`workforce.ledger.writer.LedgerWriter`, which groups
    concurrent ones.)

    Raises:
        ValueError: No drafts.
        EntryError: A built entry breaks the entry schema.
    """
    if not drafts:
        msg = "append needs at least one entry"
        raise ValueError(msg)
    await lock_ledger(session)
    return await append_on(await session.connection(), ctx, drafts)


# --- proofs ------------------------------------------------------------------------------


def _beyond(size: int, tree: int) -> BadRequest:
    return BadRequest(
        f"size {size} is beyond the tree size {tree}",
        code=SIZE_BEYOND_TREE,
        title="Size beyond the tree",
    )


async def _resolve(
    session: AsyncSession, plans: Sequence[HashPlan], size: int
) -> list[list[bytes]]:
    """Assemble plans over the tree of ``size`` leaves from one query of their subtree hashes.

    The query also asks for the last leaf of that tree: if it is not stored, ``size`` is beyond
    the tree (entries, subtrees and checkpoints are written in one transaction).

    Raises:
        BadRequest: ``size_beyond_tree``.
    """
    conn = await session.connection()
    if size > MAX_SAFE_INTEGER:
        raise _beyond(size, await store.tree_size(conn))
    keys = {key for plan in plans for key in plan.keys}
    if size:
        keys.add((0, size - 1))
    hashes = await store.subtree_hashes(conn, keys)
    if size and (0, size - 1) not in hashes:
        raise _beyond(size, await store.tree_size(conn))
    return [plan.assemble(hashes) for plan in plans]


async def inclusion_proof(session: AsyncSession, index: int, size: int) -> list[bytes]:
    """The RFC 9162 audit path of leaf ``index`` in the tree of ``size`` leaves (one query).

    Raises:
        BadRequest: ``index_out_of_range`` or ``size_beyond_tree``.
    """
    if not 0 <= index < size:
        raise BadRequest(
            f"index {index} is not below size {size}",
            code=INDEX_OUT_OF_RANGE,
            title="Index out of range",
        )
    return (await _resolve(session, [inclusion_plan(index, size)], size))[0]


async def inclusion_proofs(
    session: AsyncSession, indices: Sequence[int], size: int
) -> list[list[bytes]]:
    """Audit paths of several leaves in one tree (one query)."""
    return await _resolve(session, [inclusion_plan(index, size) for index in indices], size)


async def consistency_proof(session: AsyncSession, first: int, second: int) -> list[bytes]:
    """The RFC 9162 consistency proof from tree size ``first`` to ``second`` (one query).

    Raises:
        BadRequest: ``invalid_range`` (``first`` = 0 or ``first`` > ``second``) or
            ``size_beyond_tree``.
    """
    if first <= 0 or first > second:
        raise BadRequest(
            "from must be at least 1 and at most to",
            code=INVALID_RANGE,
            title="Invalid range",
        )
    return (await _resolve(session, [consistency_plan(first, second)], second))[0]


async def root_at(session: AsyncSession, size: int) -> bytes:
    """The root hash of the first ``size`` leaves, from stored subtrees."""
    return (await _resolve(session, [root_plan(size)], size))[0][0]


# --- checkpoints -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CheckpointView:
    """A checkpoint: size, root hash and the signed note (None only for an unsigned empty tree)."""

    size: int
    root_hash: bytes
    note: str | None
    origin: str | None

    def claims(self) -> dict[str, Any]:
        """The checkpoint as JSON claims (origin, size, base64 root)."""
        return {"origin": self.origin, "size": self.size, "root_hash": b64(self.root_hash)}


def empty_checkpoint(ctx: AppContext | None) -> CheckpointView:
    """The empty tree's checkpoint, signed on demand (Ed25519 is deterministic: same note)."""
    root = bytes(empty_root())
    if ctx is None:
        return CheckpointView(size=0, root_hash=root, note=None, origin=None)
    origin = ctx.settings.ledger_origin
    note = sign_checkpoint(Checkpoint(origin, 0, root), signers(ctx))
    return CheckpointView(size=0, root_hash=root, note=note, origin=origin)


def _view(row: LedgerCheckpoint) -> CheckpointView:
    return CheckpointView(
        size=row.size,
        root_hash=bytes(row.root_hash),
        note=row.note,
        origin=row.note.split("\n", 1)[0],
    )


async def latest_checkpoint(session: AsyncSession, ctx: AppContext | None = None) -> CheckpointView:
    """The latest signed checkpoint (``.size``, ``.root_hash`` bytes, ``.note`` signed text).

    Before the first entry: the empty tree (size 0, root ``SHA-256("")``), signed on demand
    when ``ctx`` is given (``note`` is None otherwise).
    """
    row = await store.latest_checkpoint_row(session)
    return _view(row) if row is not None else empty_checkpoint(ctx)


async def checkpoint_at(session: AsyncSession, ctx: AppContext, size: int) -> CheckpointView:
    """The checkpoint signed at exactly ``size`` (404 ``checkpoint_not_found`` if none)."""
    if size == 0:
        return empty_checkpoint(ctx)
    row = await store.checkpoint_row(session, size) if 0 < size <= MAX_SAFE_INTEGER else None
    if row is None:
        raise NotFound(f"no checkpoint was signed at size {size}", code=CHECKPOINT_NOT_FOUND)
    return _view(row)


async def public_entries(
    session: AsyncSession, start: int, end: int | None
) -> tuple[int, list[LedgerEntry]]:
    """Entries ``start..end`` (inclusive, at most 1000) and the tree size.

    Raises:
        BadRequest: ``invalid_range`` (negative start or end before start) or
            ``index_out_of_range`` (start at or beyond the tree size).
    """
    tree = await store.tree_size(await session.connection())
    last = start + MAX_ENTRIES_PAGE - 1 if end is None else end
    if start < 0 or last < start:
        raise BadRequest("start must be at least 0 and at most end", code=INVALID_RANGE)
    if start >= tree:
        raise BadRequest(
            f"start {start} is not below the tree size {tree}", code=INDEX_OUT_OF_RANGE
        )
    last = min(last, start + MAX_ENTRIES_PAGE - 1, tree - 1)
    return tree, await store.entries_between(session, start, last + 1)


# --- reading a person's entries --------------------------------------------------------------


async def _subject_entries(session: AsyncSession, key: bytes) -> list[tuple[LedgerEntry, Entry]]:
    rows = await store.entries_at(session, await store.subject_seqs(session, key))
    return [(row, parse_entry(row.leaf)) for row in rows]


def _today(today: date | None) -> date:
    return today if today is not None else idnumber.today_in_china()


async def subject_status(
    session: AsyncSession, ctx: AppContext, id_number: str, today: date | None = None
) -> SubjectStatus:
    """A person's ban status on ``today`` (default: today in China): the fold of their entries.

    Returns a ``SubjectStatus`` with ``.banned``, ``.kind``, ``.since``, ``.until``.

    Raises:
        Invalid: ``invalid_id_number``.
    """
    number = normalize_id_number(id_number)
    entries = await _subject_entries(session, subject_index(ctx, number))
    if not entries:
        return NOT_BANNED
    return fold_status([entry for _, entry in entries], _today(today))


async def practitioner_banned(
    session: AsyncSession, ctx: AppContext, person: Practitioner, today: date | None = None
) -> bool:
    """Whether a ban is in force against a registered practitioner."""
    number = id_number_of(ctx, person)
    return (await subject_status(session, ctx, number, today)).banned


async def _practitioner_of(
    session: AsyncSession, ctx: AppContext, number: str
) -> Practitioner | None:
    key = ctx.vault.subject_key(number)
    found: Practitioner | None = await session.scalar(
        select(Practitioner).where(Practitioner.subject_key == key)
    )
    return found


# --- recording bans ------------------------------------------------------------------------


def _check_terms(kind: str, until: date | None, today: date) -> None:
    if kind == "fixed_term" and until is None:
        raise Invalid("a fixed_term ban needs until (its last day)", code=UNTIL_REQUIRED)
    if kind == "lifetime" and until is not None:
        raise Invalid("a lifetime ban has no until", code=UNTIL_NOT_ALLOWED)
    if until is not None and until < today:
        raise Invalid("until lies in the past", code=UNTIL_IN_PAST)


def _reference(value: str, field: str) -> str:
    try:
        return normalize_value(value)
    except EntryError:
        raise Invalid(f"{field} is blank", code=INVALID_REFERENCE) from None


def _issuer(actor: Principal) -> Issuer:
    return Issuer(org=str(actor.org_id), region=actor.region or regions.NATIONAL)


def _covers(actor: Principal, region: str) -> bool:
    try:
        return regions.covers(actor.region or "", region)
    except regions.InvalidRegion:
        return False


@dataclasses.dataclass(frozen=True)
class _Person:
    number: str
    reason_code: str
    role: str
    practitioner: Practitioner | None


async def _case(session: AsyncSession, ctx: AppContext, normalized_case: str) -> tuple[str, bytes]:
    """The commitment and salt of a case (created on first use; under the write lock)."""
    key = _case_index(ctx, normalized_case)
    found = await store.case_by_key(session, key)
    if found is not None:
        return found.commitment, bytes(found.salt)
    salt = new_salt()
    commitment = commit("case", salt, normalized_case)
    cipher = _seal(ctx, 0, "case:" + commitment, normalized_case)
    await store.insert_rows(
        await session.connection(),
        LedgerCase,
        [{"case_key": key, "commitment": commitment, "salt": salt, "value_cipher": cipher}],
    )
    return commitment, salt


def ban_draft(
    ctx: AppContext,
    number: str,
    *,
    kind: str,
    until: date | None,
    reason_code: str,
    issuer: Issuer,
    decision: tuple[str, bytes, str],
    case: tuple[str, bytes, str],
) -> Draft:
    """A ban entry for the (validated, normalized) ID number ``number``, waiting for its seq.

    ``decision`` and ``case`` are ``(commitment, salt, normalized value)``; the subject gets a
    fresh salt. Also the bulk path's building block (``append(session, ctx, *drafts)``).
    """
    subject_salt = new_salt()
    subject = commit("subject", subject_salt, number)

    def build(seq: int, prev: str, ts: datetime) -> Entry:
        return Entry(
            v=1,
            type="ban",
            seq=seq,
            prev=prev,
            ts=ts,
            subject=subject,
            kind=kind,  # type: ignore[arg-type]
            until=until,
            reason_code=reason_code,
            issuer=issuer,
            decision=decision[0],
            case=case[0],
        )

    return Draft(
        build=build,
        subject_key=subject_index(ctx, number),
        openings=(
            ("subject", subject_salt, number),
            ("decision", decision[1], decision[2]),
            ("case", case[1], case[2]),
        ),
    )


def commitment(domain: str, value: str) -> tuple[str, bytes, str]:
    """A fresh ``(commitment, salt, normalized value)`` for ``decision`` or ``case``."""
    normalized = normalize_value(value)
    salt = new_salt()
    return commit(domain, salt, normalized), salt, normalized


async def _proven(
    session: AsyncSession, result: Appended
) -> tuple[list[list[bytes]], list[tuple[int, bytes, bytes, Entry]]]:
    proofs = await inclusion_proofs(session, [seq for seq, *_ in result.entries], result.size)
    return proofs, result.entries


async def record_bans(
    session: AsyncSession, ctx: AppContext, actor: Principal, cmd: BanCreate
) -> BanRecorded:
    """Record a ban, and in the same append those of the managers answerable for the case.

    Each person must lie in the regulator's jurisdiction (a registered practitioner's region,
    otherwise the regulator's own). Emits ``ban_recorded`` once per person.

    Raises:
        Invalid: ``invalid_id_number``, ``until_required``, ``until_not_allowed``,
            ``until_in_past``, ``duplicate_subject``, ``invalid_reference``.
        Forbidden: ``out_of_jurisdiction``.
    """
    today = idnumber.today_in_china()
    _check_terms(cmd.kind, cmd.until, today)
    wanted = [(cmd.id_number, cmd.reason_code, "subject")] + [
        (m.id_number, m.reason_code, "manager") for m in cmd.managers
    ]
    numbers = [normalize_id_number(raw) for raw, _, _ in wanted]
    if len(set(numbers)) != len(numbers):
        raise Invalid("the same person is named twice in one request", code=DUPLICATE_SUBJECT)
    decision_ref = _reference(cmd.decision_ref, "decision_ref")
    case_ref = _reference(cmd.related_case, "related_case")
    await lock_ledger(session)
    people: list[_Person] = []
    for number, (_, reason, role) in zip(numbers, wanted, strict=True):
        registered = await _practitioner_of(session, ctx, number)
        region = registered.region_code if registered else (actor.region or regions.NATIONAL)
        if not _covers(actor, region):
            raise Forbidden(
                "a person named is registered outside your jurisdiction",
                code=OUT_OF_JURISDICTION,
            )
        people.append(_Person(number, reason, role, registered))
    case_commitment, case_salt = await _case(session, ctx, case_ref)
    decision_salt = new_salt()
    decision = (commit("decision", decision_salt, decision_ref), decision_salt, decision_ref)
    issuer = _issuer(actor)
    drafts = [
        ban_draft(
            ctx,
            person.number,
            kind=cmd.kind,
            until=cmd.until,
            reason_code=person.reason_code,
            issuer=issuer,
            decision=decision,
            case=(case_commitment, case_salt, case_ref),
        )
        for person in people
    ]
    result = await append(session, ctx, *drafts)
    proofs, entries = await _proven(session, result)
    recorded = []
    for person, proof, (seq, _, digest, _) in zip(people, proofs, entries, strict=True):
        pid = person.practitioner.id if person.practitioner is not None else None
        await hooks.emit(
            "ban_recorded",
            session,
            ctx,
            id_number=person.number,
            practitioner_id=pid,
            kind=cmd.kind,
            until=cmd.until,
            seq=seq,
        )
        recorded.append(
            RecordedEntry(
                seq=seq,
                leaf_hash=b64(digest),
                inclusion_proof=[b64(h) for h in proof],
                role=person.role,  # type: ignore[arg-type]
                reason_code=person.reason_code,
                id_number_masked=idnumber.mask(person.number),
                practitioner_id=pid,
            )
        )
    await session.flush()
    first = recorded[0]
    return BanRecorded(
        seq=first.seq,
        leaf_hash=first.leaf_hash,
        inclusion_proof=first.inclusion_proof,
        checkpoint=result.note,
        tree_size=result.size,
        entries=recorded,
    )


def ban_fingerprint_body(ctx: AppContext, cmd: BanCreate) -> dict[str, Any]:
    """The request body with every ID number replaced by its keyed index (for Idempotency-Key)."""

    def key(raw: str) -> str:
        try:
            return subject_index(ctx, normalize_id_number(raw)).hex()
        except Invalid:
            return "invalid"

    return {
        "id_number": key(cmd.id_number),
        "kind": cmd.kind,
        "until": cmd.until.isoformat() if cmd.until else None,
        "reason_code": cmd.reason_code,
        "decision_ref": cmd.decision_ref,
        "related_case": cmd.related_case,
        "managers": [
            {"id_number": key(m.id_number), "reason_code": m.reason_code} for m in cmd.managers
        ],
    }


# --- corrections ---------------------------------------------------------------------------


def _check_correction(cmd: BanCorrectionCreate, today: date) -> None:
    if cmd.effect == "quashed":
        if cmd.kind is not None or cmd.until is not None:
            raise Invalid("a quashing correction takes no kind or until", code=KIND_NOT_ALLOWED)
        return
    if cmd.kind is None:
        raise Invalid("an amending correction needs the amended kind", code=KIND_REQUIRED)
    _check_terms(cmd.kind, cmd.until, today)


async def correct_ban(
    session: AsyncSession,
    ctx: AppContext,
    actor: Principal,
    seq: int,
    cmd: BanCorrectionCreate,
) -> BanCorrected:
    """Append a correction (quash or amend) of ban ``seq``; never an edit.

    Raises:
        NotFound: ``entry_not_found``.
        Forbidden: ``out_of_jurisdiction`` (the ban's issuer region is not covered).
        RuleRefused: ``correction_of_correction``.
        Conflict: ``ban_already_quashed``.
        Invalid: ``kind_required``, ``kind_not_allowed``, ``until_*``, ``invalid_reference``.
    """
    today = idnumber.today_in_china()
    _check_correction(cmd, today)
    decision_ref = _reference(cmd.decision_ref, "decision_ref")
    await lock_ledger(session)
    rows = await store.entries_at(session, [seq]) if 0 <= seq <= MAX_SAFE_INTEGER else []
    if not rows:
        raise NotFound(f"no ledger entry {seq}", code=ENTRY_NOT_FOUND)
    original = parse_entry(rows[0].leaf)
    if original.type != "ban":
        raise RuleRefused(
            "a correction corrects a ban, not another correction",
            code=NOT_A_BAN,
            reasons=[Reason(NOT_A_BAN, f"entry {seq} is a correction; correct the ban itself")],
        )
    if not _covers(actor, original.issuer.region):
        raise Forbidden("the ban was issued outside your jurisdiction", code=OUT_OF_JURISDICTION)
    opened = await store.openings(session, [seq], "subject")
    subject_opening = opened.get(seq)
    if subject_opening is None or subject_opening.value_cipher is None:
        raise Conflict(f"entry {seq} has been erased and cannot be corrected", code="erased")
    number = _unseal(ctx, seq, "subject", subject_opening.value_cipher)
    key = subject_index(ctx, number)
    history = [entry for _, entry in await _subject_entries(session, key)]
    for entry in history:
        corrects = entry.corrects
        if corrects is not None and corrects.seq == seq and entry.effect == "quashed":
            raise Conflict(f"ban {seq} was already quashed", code=ALREADY_QUASHED)
    case_openings = await store.openings(session, [seq], "case")
    case_opening = case_openings.get(seq)
    case_value = (
        _unseal(ctx, seq, "case", case_opening.value_cipher)
        if case_opening is not None and case_opening.value_cipher is not None
        else None
    )
    decision_salt = new_salt()
    decision = commit("decision", decision_salt, decision_ref)
    issuer = _issuer(actor)
    target = Corrects(seq=seq, leaf_hash=bytes(rows[0].leaf_hash).hex())

    def build(new_seq: int, prev: str, ts: datetime) -> Entry:
        return Entry(
            v=1,
            type="correction",
            seq=new_seq,
            prev=prev,
            ts=ts,
            subject=original.subject,
            kind=cmd.kind,
            until=cmd.until,
            reason_code=original.reason_code,
            issuer=issuer,
            decision=decision,
            case=original.case,
            corrects=target,
            effect=cmd.effect,
        )

    case_salt = bytes(case_opening.salt) if case_opening is not None else None
    extra: tuple[tuple[str, bytes, str | None], ...] = (
        (("case", case_salt, case_value),) if case_salt is not None else ()
    )
    draft = Draft(
        build=build,
        subject_key=key,
        openings=(
            ("subject", bytes(subject_opening.salt), number),
            ("decision", decision_salt, decision_ref),
            *extra,
        ),
    )
    result = await append(session, ctx, draft)
    proofs, entries = await _proven(session, result)
    new_seq, _, digest, entry = entries[0]
    status = fold_status([*history, entry], today)
    person = await _practitioner_of(session, ctx, number)
    pid = person.id if person is not None else None
    await hooks.emit(
        "ban_corrected",
        session,
        ctx,
        id_number=number,
        practitioner_id=pid,
        effect=cmd.effect,
        seq=new_seq,
    )
    await session.flush()
    proof = [b64(h) for h in proofs[0]]
    return BanCorrected(
        seq=new_seq,
        leaf_hash=b64(digest),
        inclusion_proof=proof,
        checkpoint=result.note,
        tree_size=result.size,
        entries=[
            RecordedEntry(
                seq=new_seq,
                leaf_hash=b64(digest),
                inclusion_proof=proof,
                role="correction",
                reason_code=original.reason_code,
                id_number_masked=idnumber.mask(number),
                practitioner_id=pid,
            )
        ],
        corrects=seq,
        effect=cmd.effect,
        status=BanStatus(
            banned=status.banned, kind=status.kind, since=status.since, until=status.until
        ),
    )


# --- checks and receipts -------------------------------------------------------------------


def _evidence(entries: Iterable[Entry], status: SubjectStatus) -> list[Entry]:
    """The ban in force and the corrections of it: enough to re-fold the verdict offline."""
    active = status.active_entry_seq
    return [
        entry
        for entry in entries
        if entry.seq == active or (entry.corrects is not None and entry.corrects.seq == active)
    ]


async def check_ban(
    session: AsyncSession,
    ctx: AppContext,
    actor: Principal,
    raw_id_number: str,
    route: str,
    today: date | None = None,
) -> BanCheckResult:
    """Whether a person is banned, with a receipt verifiable offline; every check is logged.

    A hit carries the entries that establish the ban, their inclusion proofs in the latest
    checkpoint and the salts that open their subject commitments; a miss a signed statement
    naming the checkpoint it was checked against. Regulators also get the seqs of every entry.
    """
    number = normalize_id_number(raw_id_number)
    day = _today(today)
    await begin_write(session)
    person = await _practitioner_of(session, ctx, number)
    checkpoint = await latest_checkpoint(session, ctx)
    rows = await _subject_entries(session, subject_index(ctx, number))
    visible = [(row, entry) for row, entry in rows if entry.seq < checkpoint.size]
    status = fold_status([entry for _, entry in visible], day) if visible else NOT_BANNED
    record_access(
        session,
        actor,
        action="ban_check",
        route=route,
        practitioner_id=person.id if person is not None else None,
        outcome="banned" if status.banned else "not_banned",
    )
    evidence = _evidence([entry for _, entry in visible], status) if status.banned else []
    by_seq = {row.seq: row for row, _ in visible}
    salts = await store.openings(session, [entry.seq for entry in evidence], "subject")
    proofs = await inclusion_proofs(session, [entry.seq for entry in evidence], checkpoint.size)
    receipt_entries = [
        ReceiptEntry(
            seq=entry.seq,
            leaf=b64(by_seq[entry.seq].leaf),
            inclusion_proof=[b64(h) for h in proof],
            subject_salt=b64(bytes(salts[entry.seq].salt)),
        )
        for entry, proof in zip(evidence, proofs, strict=True)
    ]
    salt = new_salt()
    checked_at = utcnow().astimezone(UTC).replace(microsecond=0)
    claims: dict[str, Any] = {
        "iss": ctx.settings.issuer,
        "jti": str(uuid.uuid4()),
        "iat": int(checked_at.timestamp()),
        "checked_at": checked_at.isoformat().replace("+00:00", "Z"),
        "checked_on": day.isoformat(),
        "banned": status.banned,
        "kind": status.kind,
        "since": status.since.isoformat() if status.since else None,
        "until": status.until.isoformat() if status.until else None,
        "checkpoint": checkpoint.claims(),
        "subject_commitment": commit("subject", salt, number),
        "entries": [entry.seq for entry in evidence],
    }
    key = ctx.keyring.current
    receipt = BanCheckReceipt(
        version=RECEIPT_VERSION,
        statement=sign_jws(claims, key.private, key.kid, RECEIPT_TYP),
        salt=b64(salt),
        checkpoint=checkpoint.note or "",
        entries=receipt_entries,
    )
    await session.flush()
    result = BanCheckResult(
        banned=status.banned,
        kind=status.kind,
        since=status.since,
        until=status.until,
        receipt=receipt,
    )
    if actor.role == "regulator":
        result.entries = [row.seq for row, _ in visible]
    return result


__all__ = [
    "ADVISORY_LOCK_KEY",
    "Appended",
    "CheckpointView",
    "Draft",
    "append",
    "check_ban",
    "checkpoint_at",
    "consistency_proof",
    "correct_ban",
    "inclusion_proof",
    "latest_checkpoint",
    "practitioner_banned",
    "record_bans",
    "subject_status",
    "vkeys",
]
