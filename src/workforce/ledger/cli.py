"""``workforce ledger verify``: re-verify the whole ban ledger, locally or as an outside monitor.

Local (``workforce ledger verify``): streams every row of the public ledger tables in order and
checks, naming the first bad row:

- each entry: ``seq`` without gaps, canonical schema-v1 bytes (decoded and re-encoded), the
  ``seq`` and ``prev`` inside it (the hash chain), its stored leaf hash, ``created_at = ts``;
- each stored subtree hash, recomputed from the entries with the streaming stack (O(log n)
  memory), in storage order, none missing and none extra;
- each stored checkpoint: its signature(s) by a known verifier key, origin, size, root equal to
  the recomputed root of the tree at that size (so every checkpoint is consistent with every
  earlier one), ``prev_size`` naming the checkpoint before it; the latest one covers every entry.

The same checks run first chunk by chunk (``fastverify``); on SQLite the chunks are spread over
``--jobs`` worker processes (default one per CPU) and joined in order by this process
(``parallel``). Only when that fast pass refuses something does the row-by-row pass run, on the
same snapshot, to name the first bad row.

Monitor (``workforce ledger verify --url URL``): fetches the public endpoints as anyone could,
verifies the latest checkpoint's signature with the verifier keys it trusts (pinned with
``--vkey``, else trusted on first use and followed through key rotations), checks with a
consistency proof that it extends the checkpoint remembered in the state file (a fork or a
rollback fails), then streams every entry as above and recomputes the root.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from workforce.ledger import fastverify
from workforce.ledger.checkpoint import Checkpoint, open_checkpoint
from workforce.ledger.entry import GENESIS_PREV, Entry, parse_entry
from workforce.ledger.errors import LedgerError
from workforce.ledger.fastcheck import Chain, check_leaf
from workforce.ledger.merkle import (
    NODE_PREFIX,
    ProofError,
    empty_root,
    verify_consistency,
    verify_inclusion,
)
from workforce.ledger.note import Verifier

CHUNK = 5000
PAGE = 1000
_sha256 = hashlib.sha256


class LedgerMismatch(Exception):
    """The ledger does not verify; the message names the first bad row."""

    def __init__(self, message: str, seq: float = float("inf")) -> None:
        """``seq``: the position in the entry stream where it was found (to order findings)."""
        super().__init__(message)
        self.seq = seq


@dataclasses.dataclass
class VerifyReport:
    """What a successful verification covered."""

    entries: int
    checkpoints: int
    size: int
    root_hash: bytes
    subtrees: int = 0

    def summary(self) -> str:
        """One line for the terminal."""
        root = base64.b64encode(self.root_hash).decode()
        return (
            f"ok: {self.entries} entries, {self.subtrees} subtree hashes, "
            f"{self.checkpoints} checkpoints; tree size {self.size}, root {root}"
        )


class _Tree:
    """The streaming stack of ledger.md, reporting the subtrees each append completes."""

    __slots__ = ("size", "stack")

    def __init__(self) -> None:
        self.stack: list[bytes] = []
        self.size = 0

    def push(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        i = self.size
        node = leaf
        completed = [(0, i, leaf)]
        level = 0
        while i & 1:
            node = _sha256(NODE_PREFIX + self.stack.pop() + node).digest()
            i >>= 1
            level += 1
            completed.append((level, i, node))
        self.stack.append(node)
        self.size += 1
        return completed

    def root(self) -> bytes:
        if not self.stack:
            return bytes(empty_root())
        node = self.stack[-1]
        for left in reversed(self.stack[:-1]):
            node = _sha256(NODE_PREFIX + left + node).digest()
        return node


def _check_entry(leaf: bytes, seq: int, prev: str) -> Chain:
    """Decode, re-encode canonically and check the chain fields of entry ``seq``."""
    fast = check_leaf(leaf)
    if fast is None:
        entry = _slow_entry(leaf, seq)
        if isinstance(entry, LedgerMismatch):
            raise LedgerMismatch(str(entry)) from None
        fast = (entry.seq, entry.prev, entry.ts)
    if fast[0] != seq:
        msg = f"entry {seq}: its bytes say seq {fast[0]}"
        raise LedgerMismatch(msg)
    if fast[1] != prev:
        msg = f"entry {seq}: prev does not match the leaf hash of entry {seq - 1}"
        raise LedgerMismatch(msg)
    return fast


def _open(note: str, verifiers: Sequence[Verifier], origin: str | None, what: str) -> Checkpoint:
    try:
        return open_checkpoint(note, verifiers, origin)
    except LedgerError as exc:
        msg = f"{what}: signature or format does not verify ({exc})"
        raise LedgerMismatch(msg) from None


# --- local database --------------------------------------------------------------------------

_NEED: Any = object()
"""Returned by ``_Chunks.take`` when its buffer is empty and must be refilled."""


def _blob(value: Any) -> bytes | None:
    """A stored binary value as bytes; None for a value of any other type (a tampered row)."""
    return bytes(value) if isinstance(value, bytes | memoryview) else None


def _tolerant_text(value: bytes) -> str:
    """SQLite TEXT as str even when it is not UTF-8: the checks then name the row."""
    return value.decode("utf-8", "surrogateescape")


def _read_all(db: Any, sql: str, last: int) -> Sequence[Any]:
    """A chunk on the raw ``sqlite3`` connection, whatever bytes a TEXT value holds."""
    conn = db.db
    saved = conn.text_factory
    conn.text_factory = _tolerant_text
    try:
        return conn.execute(sql, (last,)).fetchall()  # type: ignore[no-any-return]
    finally:
        conn.text_factory = saved


class _Chunks:
    """The rows of one table in key order, fetched ``CHUNK`` at a time by keyset.

    On SQLite each chunk is one call on the driver's thread returning plain tuples.
    """

    def __init__(self, conn: Any, table: str, key: str, columns: str) -> None:
        self.conn = conn
        self.sql = f"SELECT {columns} FROM {table} WHERE {key} > ? ORDER BY {key} LIMIT {CHUNK}"  # noqa: S608 - fixed identifiers
        self.buf: Sequence[Any] = ()
        self.i = 0
        self.last = -(1 << 63)  # every key, negative ones too (a row no append writes)
        self.done = False

    async def fill(self) -> bool:
        """Fetch the next chunk; False when the table is exhausted."""
        if self.done:
            self.buf, self.i = (), 0
            return False
        from workforce.ledger import store  # noqa: PLC0415 - the monitor needs no database

        worker = store.sqlite_worker(self.conn)
        if worker is not None:
            sql, last = self.sql, self.last
            rows: Sequence[Any] = await worker.run(lambda db: _read_all(db, sql, last))
        else:
            from sqlalchemy import text  # noqa: PLC0415

            stmt = text(self.sql.replace("?", ":last"))
            rows = (await self.conn.execute(stmt, {"last": self.last})).all()
        self.buf, self.i = rows, 0
        self.done = len(rows) < CHUNK
        if rows:
            self.last = rows[-1][0]
        return bool(rows)

    def take(self) -> Any:
        """The next row, None at the end, or ``_NEED`` when ``fill`` must run first."""
        if self.i < len(self.buf):
            row = self.buf[self.i]
            self.i += 1
            return row
        return None if self.done else _NEED

    async def next(self) -> Any:
        """The next row, or None at the end."""
        row = self.take()
        if row is _NEED:
            await self.fill()
            row = self.take()
        return row


def _slow_entry(leaf: bytes, seq: int) -> Entry | LedgerMismatch:
    """Full schema validation (``parse_entry``), for a leaf the fast path did not accept."""
    try:
        return parse_entry(leaf)
    except LedgerError as exc:
        return LedgerMismatch(f"entry {seq}: not a canonical schema-v1 entry ({exc})", seq)


def parse_chunk(rows: Sequence[tuple[int, bytes, Any]]) -> tuple[list[str], LedgerMismatch | None]:
    """Check the bytes of a run of entries: canonical schema-v1, the ``seq`` inside, ``created_at``.

    Each leaf goes through ``fastcheck.check_leaf``; only a leaf it does not accept is validated
    by ``parse_entry`` (which accepts exactly the same valid entries, and names the problem).
    Returns each entry's ``prev`` (for the chain check) and the first problem found, if any.
    """
    prevs: list[str] = []
    append = prevs.append
    for seq, leaf, created_at in rows:
        fast = check_leaf(leaf)
        if fast is None:
            entry = _slow_entry(leaf, seq)
            if isinstance(entry, LedgerMismatch):
                return prevs, entry
            fast = (entry.seq, entry.prev, entry.ts)
        own_seq, prev, ts = fast
        if own_seq != seq:
            return prevs, LedgerMismatch(f"entry {seq}: its bytes say seq {own_seq}", seq)
        if fastverify.as_utc(created_at) != ts:
            return prevs, LedgerMismatch(f"entry {seq}: created_at differs from its ts", seq)
        append(prev)
    return prevs, None


class _LocalVerifier:
    """The hash-level checks of one pass (entry bytes are checked by ``parse_chunk``)."""

    def __init__(self, verifiers: Sequence[Verifier], origin: str) -> None:
        self.verifiers = verifiers
        self.origin = origin
        self.tree = _Tree()
        self.node = 0
        self.last_created: Any = None
        self.checkpoints = 0
        self.last_size: int | None = None

    def entry(self, row: Any) -> tuple[bytes, list[tuple[int, int, bytes]]]:
        seq, leaf, stored_hash, created_at = row
        if seq != self.tree.size:
            msg = f"entry {self.tree.size}: missing (the next stored entry is {seq})"
            raise LedgerMismatch(msg, self.tree.size)
        if _blob(leaf) is None:
            raise LedgerMismatch(f"entry {seq}: leaf is not stored as bytes", seq)
        digest = _sha256(b"\x00" + leaf).digest()
        if _blob(stored_hash) != digest:
            msg = f"entry {seq}: stored leaf_hash does not match its leaf"
            raise LedgerMismatch(msg, seq)
        self.last_created = created_at
        return digest, self.tree.push(digest)

    def subtree(self, stored: Any, level: int, idx: int, value: bytes) -> None:
        node = self.node
        if (
            stored is not None
            and stored[0] == node
            and stored[1] == level
            and stored[2] == idx
            and stored[3] == value
        ):  # the common case: no message built, no copy made
            self.node = node + 1
            return
        seq = self.tree.size - 1
        where = f"subtree level {level} index {idx} (node {node})"
        if stored is None or stored[0] != node:
            raise LedgerMismatch(f"{where}, completed by entry {seq}: missing", seq)
        if stored[1] != level or stored[2] != idx:
            msg = (
                f"subtree node {node}: labelled level {stored[1]} index {stored[2]}, "
                f"expected {level}/{idx}"
            )
            raise LedgerMismatch(msg, seq)
        if _blob(stored[3]) != value:
            if level == 0:
                msg = f"entry {seq} or subtree node {node}: leaf hash differs from the stored one"
            else:
                msg = f"{where}: hash does not match the entries"
            raise LedgerMismatch(msg, seq)
        self.node += 1

    def checkpoint(self, row: Any) -> None:
        size, prev_size, root_hash, note, created_at = row
        what, at = f"checkpoint {size}", size - 0.5
        if size != self.tree.size:
            raise LedgerMismatch(f"{what}: out of order", at)
        cp = _open(note, self.verifiers, self.origin, what)
        if cp.size != size:
            raise LedgerMismatch(f"{what}: its note says size {cp.size}", at)
        if _blob(root_hash) != cp.root_hash:
            raise LedgerMismatch(f"{what}: stored root_hash differs from the signed one", at)
        if cp.root_hash != self.tree.root():
            msg = f"{what}: signed root is not the root of the first {size} entries"
            raise LedgerMismatch(msg, at)
        if prev_size != self.last_size:
            if prev_size is not None and (self.last_size is None or prev_size > self.last_size):
                msg = f"checkpoint {prev_size}: missing ({what} names it as the one before)"
            else:
                msg = (
                    f"{what}: prev_size {prev_size} does not name the one before ({self.last_size})"
                )
            raise LedgerMismatch(msg, at)
        if size and fastverify.as_utc(created_at) != fastverify.as_utc(self.last_created):
            msg = f"{what}: created_at differs from the time of entry {size - 1}"
            raise LedgerMismatch(msg, at)
        self.last_size = size
        self.checkpoints += 1

    def finish(self, pending_checkpoint: Any, extra_subtree: Any) -> VerifyReport:
        size = self.tree.size
        if pending_checkpoint is not None:
            cp_size = pending_checkpoint[0]
            msg = f"entry {size}: missing (checkpoint {cp_size} covers {cp_size} entries)"
            raise LedgerMismatch(msg, size)
        if extra_subtree is not None:
            msg = f"subtree node {extra_subtree[0]}: beyond the {size} entries"
            raise LedgerMismatch(msg, size)
        if size and self.last_size != size:
            first = self.last_size or 0
            msg = (
                f"checkpoint {size}: missing (entries {first}..{size - 1} are covered by no "
                "signed checkpoint)"
            )
            raise LedgerMismatch(msg, size)
        return VerifyReport(
            entries=size,
            checkpoints=self.checkpoints,
            size=size,
            root_hash=self.tree.root(),
            subtrees=self.node,
        )


def _chain(
    rows: Sequence[Any], digests: list[bytes], prev: str, parsed: tuple[list[str], Any]
) -> str:
    """Check each entry's ``prev`` against the leaf hash before it; the chunk's last hash."""
    prevs, problem = parsed
    for (seq, *_), claimed, digest in zip(rows, prevs, digests, strict=False):
        if claimed != prev:
            msg = f"entry {seq}: prev does not match the leaf hash of entry {seq - 1}"
            raise LedgerMismatch(msg, seq)
        prev = digest.hex()
    if problem is not None:
        raise problem
    return prev


async def verify_connection(conn: Any, verifiers: Sequence[Verifier], origin: str) -> VerifyReport:
    """Verify every public ledger row readable on ``conn`` (an SQLAlchemy async connection).

    Three ordered streams are merged: entries by ``seq``, subtrees by ``node`` (the order appends
    complete them) and checkpoints by ``size``; memory stays O(log n) plus a chunk of each.

    Raises:
        LedgerMismatch: Naming the first bad entry, subtree or checkpoint.
    """
    check = _LocalVerifier(verifiers, origin)
    entries = _Chunks(conn, "ledger_entries", "seq", "seq, leaf, leaf_hash, created_at")
    subtrees = _Chunks(conn, "ledger_subtrees", "node", "node, level, idx, hash")
    checkpoints = _Chunks(
        conn, "ledger_checkpoints", "size", "size, prev_size, root_hash, note, created_at"
    )
    prev = GENESIS_PREV
    pending = await checkpoints.next()
    while await entries.fill():
        rows = entries.buf
        digests: list[bytes] = []
        try:
            for row in rows:
                while pending is not None and pending[0] <= check.tree.size:
                    check.checkpoint(pending)
                    pending = await checkpoints.next()
                digest, completed = check.entry(row)
                digests.append(digest)
                for level, idx, value in completed:
                    stored = subtrees.take()
                    if stored is _NEED:
                        await subtrees.fill()
                        stored = subtrees.take()
                    check.subtree(stored, level, idx, value)
        except LedgerMismatch as found:
            try:  # an earlier entry's bytes may be bad too: name the first
                _chain(rows, digests, prev, parse_chunk(_bytes_of(rows[: len(digests)])))
            except LedgerMismatch as earlier:
                if earlier.seq <= found.seq:
                    raise earlier from None
            raise
        prev = _chain(rows, digests, prev, parse_chunk(_bytes_of(rows)))
    while pending is not None and pending[0] <= check.tree.size:
        check.checkpoint(pending)
        pending = await checkpoints.next()
    return check.finish(pending, await subtrees.next())


def _bytes_of(rows: Sequence[Any]) -> list[tuple[int, bytes, Any]]:
    return [(seq, bytes(leaf), created_at) for seq, leaf, _, created_at in rows]


async def verify_fast(
    conn: Any,
    verifiers: Sequence[Verifier],
    origin: str,
    jobs: int | None = None,
    k: int | None = None,
    pool: Any = None,
) -> VerifyReport:
    """Verify the ledger on ``conn`` chunk by chunk (``fastverify``), row by row if that fails.

    On SQLite the fast pass runs on the driver's thread with the plain ``sqlite3`` connection:
    with ``jobs`` > 1 (default: one per CPU) its chunks are checked by that many worker
    processes and joined in order (``parallel``), with ``jobs=1`` in this process. Elsewhere
    (PostgreSQL) it reads the same chunks through SQLAlchemy in this process. Whatever the fast
    pass does not accept is verified again by :func:`verify_connection`, which names it. Chunks
    hold ``2**k`` entries; ``pool``: the ``jobs`` workers, started before ``conn`` was opened
    (``parallel.start_pool``; else started here).

    Raises:
        LedgerMismatch: Naming the first bad entry, subtree or checkpoint.
    """
    from workforce.ledger import parallel, store  # noqa: PLC0415 - the monitor needs no database

    jobs = parallel.default_jobs() if jobs is None else jobs
    k = fastverify.K if k is None else k

    def fast_sync(db: Any) -> tuple[int, int, int, bytes]:
        if jobs > 1:
            try:
                return parallel.verify_parallel(db, verifiers, origin, jobs, k, pool)
            except parallel.Unavailable:
                pass
        return fastverify.verify_sync(db, verifiers, origin, k)

    try:
        worker = store.sqlite_worker(conn)
        if worker is not None:
            fields = await worker.run(lambda ledger: fast_sync(ledger.db))
        else:
            fields = await fastverify.verify_async(conn, verifiers, origin, k)
    except fastverify.Fallback:
        return await verify_connection(conn, verifiers, origin)
    entries, subtrees, checkpoints, root = fields
    return VerifyReport(
        entries=entries, checkpoints=checkpoints, size=entries, root_hash=root, subtrees=subtrees
    )


async def verify_database(
    database_url: str,
    verifiers: Sequence[Verifier],
    origin: str,
    *,
    fast: bool = True,
    jobs: int | None = None,
) -> VerifyReport:
    """Verify the ledger tables of a database, in one read-only snapshot.

    ``fast=False`` skips the chunked fast pass and verifies row by row from the start (the
    result is the same; the tests run both). ``jobs``: worker processes of the fast pass on
    SQLite (default one per CPU; 1 checks every chunk in this process).

    Raises:
        LedgerMismatch: Naming the first bad entry, subtree or checkpoint.
    """
    from workforce.db import make_engine  # noqa: PLC0415
    from workforce.ledger import parallel  # noqa: PLC0415

    jobs = parallel.default_jobs() if jobs is None else jobs
    pool = None
    if fast and jobs > 1 and database_url.startswith("sqlite"):
        try:  # before any connection opens: see parallel.start_pool
            pool = parallel.start_pool(jobs)
        except parallel.Unavailable:
            jobs = 1
    engine = make_engine(database_url)
    try:
        options: dict[str, Any] = {}
        if engine.dialect.name == "postgresql":
            options = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        async with engine.connect() as raw:
            conn = await raw.execution_options(**options)
            async with conn.begin():
                if fast:
                    return await verify_fast(conn, verifiers, origin, jobs, pool=pool)
                return await verify_connection(conn, verifiers, origin)
    finally:
        await engine.dispose()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


# --- outside monitor ----------------------------------------------------------------------


def default_state_path(origin: str) -> Path:
    """``$XDG_STATE_HOME/workforce/monitor-<sha256(origin)[:16]>.json``."""
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    digest = hashlib.sha256(origin.encode()).hexdigest()[:16]
    return base / "workforce" / f"monitor-{digest}.json"


def _b64d(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        msg = f"{what}: not valid base64"
        raise LedgerMismatch(msg) from None


def _write_state(path: Path, state: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    os.replace(tmp, path)


def _trusted_verifiers(
    note: str, trusted: list[str], served: list[str]
) -> tuple[list[Verifier], list[str]]:
    """Verifiers to open ``note`` with, following a key rotation.

    With no trusted keys yet (first use) the served keys are trusted. Otherwise a served key
    becomes trusted only when the note also carries a valid signature by an already trusted key.
    """
    if not trusted:
        return [Verifier.from_vkey(v) for v in served], list(served)
    known = [Verifier.from_vkey(v) for v in trusted]
    _open(note, known, None, "latest checkpoint")
    adopted = list(trusted)
    for vkey in served:
        if vkey in adopted:
            continue
        try:
            open_checkpoint(note, [Verifier.from_vkey(vkey)])
        except LedgerError:
            continue
        adopted.append(vkey)
    return [Verifier.from_vkey(v) for v in adopted], adopted


def _pages(client: Any, size: int) -> Iterator[dict[str, Any]]:
    start = 0
    while start < size:
        end = min(start + PAGE, size) - 1
        response = client.get("/ledger/entries", params={"start": start, "end": end})
        response.raise_for_status()
        rows = response.json()["entries"]
        if not rows:
            msg = f"entry {start}: the server returned no entries"
            raise LedgerMismatch(msg)
        yield from rows
        start += len(rows)


def monitor(
    url: str,
    *,
    state_path: Path | None = None,
    pinned_vkeys: list[str] | None = None,
    client: Any = None,
) -> VerifyReport:
    """Verify a running server's ledger through its public endpoints and remember the head.

    Raises:
        LedgerMismatch: A bad signature, an inconsistent (forked) or rolled-back checkpoint,
            or the first bad entry.
    """
    import httpx  # noqa: PLC0415

    own = client is None
    http = client or httpx.Client(base_url=url.rstrip("/"), timeout=30.0)
    try:
        return _monitor(http, state_path, pinned_vkeys)
    except httpx.HTTPError as exc:
        msg = f"the server did not answer as a ledger should ({exc})"
        raise LedgerMismatch(msg) from None
    finally:
        if own:
            http.close()


def _get(http: Any, path: str, **params: Any) -> Any:
    response = http.get(path, params=params or None)
    response.raise_for_status()
    return response


def _check_extends(http: Any, state: dict[str, Any], size: int, root: bytes) -> None:
    """The new checkpoint extends the one remembered: no rollback, a valid consistency proof."""
    if "root_hash" not in state:
        return
    old_size, old_root = int(state["size"]), _b64d(state["root_hash"], "state file root")
    if size < old_size:
        msg = f"checkpoint {size}: the log shrank below the checkpoint {old_size} seen before"
        raise LedgerMismatch(msg)
    if not old_size:
        return
    hashes: list[bytes] = []
    if size != old_size:
        proof = _get(http, "/ledger/proof/consistency", **{"from": old_size, "to": size})
        hashes = [_b64d(h, "consistency proof") for h in proof.json()["hashes"]]
    try:
        verify_consistency(old_size, size, old_root, root, hashes)
    except ProofError as exc:
        msg = f"checkpoint {size}: not consistent with checkpoint {old_size} seen before ({exc})"
        raise LedgerMismatch(msg) from None


def _stream_published(http: Any, size: int, seen: tuple[int, bytes] | None) -> tuple[bytes, bytes]:
    """Check every published entry; return the recomputed root and the last leaf hash."""
    tree = _Tree()
    prev = GENESIS_PREV
    for row in _pages(http, size):
        seq = int(row["seq"])
        if seq != tree.size:
            msg = f"entry {tree.size}: missing (the server sent {seq})"
            raise LedgerMismatch(msg)
        leaf = _b64d(row["leaf"], f"entry {seq}")
        _check_entry(leaf, seq, prev)
        digest = _sha256(b"\x00" + leaf).digest()
        if _b64d(row["leaf_hash"], f"entry {seq}") != digest:
            msg = f"entry {seq}: published leaf_hash does not match its leaf"
            raise LedgerMismatch(msg)
        tree.push(digest)
        prev = digest.hex()
        if seen is not None and tree.size == seen[0] and tree.root() != seen[1]:
            msg = f"entry {seq}: the first {seen[0]} entries no longer hash to the root seen before"
            raise LedgerMismatch(msg)
    return tree.root(), bytes.fromhex(prev) if size else b""


def _check_served_proof(http: Any, size: int, last_leaf: bytes, root: bytes) -> None:
    """Spot-check the inclusion-proof endpoint with the last entry."""
    proof = _get(http, "/ledger/proof/inclusion", index=size - 1, size=size)
    try:
        hashes = [_b64d(h, "inclusion proof") for h in proof.json()["hashes"]]
        verify_inclusion(last_leaf, size - 1, size, hashes, root)
    except ProofError as exc:
        msg = f"entry {size - 1}: the served inclusion proof does not verify ({exc})"
        raise LedgerMismatch(msg) from None


def _monitor(http: Any, state_path: Path | None, pinned: list[str] | None) -> VerifyReport:
    note = _get(http, "/ledger/checkpoint").text
    path = state_path or default_state_path(note.split("\n", 1)[0])
    state: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    served = [line for line in _get(http, "/ledger/vkey").text.splitlines() if line]
    trusted = list(pinned) if pinned else list(state.get("vkeys", []))
    try:
        verifiers, adopted = _trusted_verifiers(note, trusted, served)
    except LedgerError as exc:
        msg = f"latest checkpoint: verifier keys are malformed ({exc})"
        raise LedgerMismatch(msg) from None
    checkpoint = _open(note, verifiers, state.get("origin"), "latest checkpoint")
    size, root = checkpoint.size, checkpoint.root_hash
    _check_extends(http, state, size, root)
    seen = (
        (int(state["size"]), _b64d(state["root_hash"], "state")) if "root_hash" in state else None
    )
    recomputed, last_leaf = _stream_published(http, size, seen)
    if recomputed != root:
        msg = f"checkpoint {size}: signed root is not the root of the {size} published entries"
        raise LedgerMismatch(msg)
    if size:
        _check_served_proof(http, size, last_leaf, root)
    _write_state(
        path,
        {
            "origin": checkpoint.origin,
            "size": size,
            "root_hash": base64.b64encode(root).decode(),
            "vkeys": adopted,
            "checked_at": datetime.now(UTC).isoformat(),
            "note": note,
        },
    )
    return VerifyReport(entries=size, checkpoints=1, size=size, root_hash=root)


# --- click ------------------------------------------------------------------------------


@click.group()
def ledger() -> None:
    """The ban ledger (从业禁止名单): verification and monitoring."""


@ledger.command("verify")
@click.option("--url", default=None, help="Verify a running server's public endpoints instead.")
@click.option(
    "--state",
    "state_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Monitor state file (default ~/.local/state/workforce/monitor-<origin hash>.json).",
)
@click.option(
    "--vkey",
    "vkey_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Trust only these verifier keys (C2SP vkey strings, one a line).",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes checking chunks of the ledger (SQLite; default one per CPU; "
    "1: all in this process).",
)
def verify(
    url: str | None, state_file: Path | None, vkey_file: Path | None, jobs: int | None
) -> None:
    """Re-verify the whole ban ledger; exit non-zero naming the first bad entry."""
    pinned = (
        [line.strip() for line in vkey_file.read_text().splitlines() if line.strip()]
        if vkey_file
        else None
    )
    try:
        if url:
            report = monitor(url, state_path=state_file, pinned_vkeys=pinned)
        else:
            report = _verify_local(pinned, jobs)
    except LedgerMismatch as exc:
        click.echo(f"FAIL: {exc}", err=True)
        sys.exit(1)
    click.echo(report.summary())


def _verify_local(pinned: list[str] | None, jobs: int | None = None) -> VerifyReport:
    from workforce.security.keys import Keyring  # noqa: PLC0415
    from workforce.settings import load_settings  # noqa: PLC0415

    settings = load_settings()
    origin = settings.ledger_origin
    if pinned:
        verifiers = [Verifier.from_vkey(v) for v in pinned]
    else:
        ring = Keyring.open(settings.effective_keys_dir)
        verifiers = [Verifier.from_public_key(origin, key.public) for key in ring.keys]
    return asyncio.run(
        verify_database(settings.effective_database_url, verifiers, origin, jobs=jobs)
    )
