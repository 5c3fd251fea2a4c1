"""The fast pass of ``workforce ledger verify`` spread over processes (SQLite).

An aligned chunk of ``2**k`` entries ``[a, a + 2**k)`` is a complete subtree of the ledger's
tree, so it can be checked apart from the others. Worker processes (``jobs`` of them, each with
its own read-only ``sqlite3`` connection) take one chunk at a time and make, inside it, every
check of :mod:`workforce.ledger.fastverify`:

- its entries (``fastcheck.check_run``: canonical schema-v1 bytes, ``seq``, leaf hash, the
  ``prev`` chain inside the chunk, ``created_at = ts``); the first entry's ``prev`` is compared
  with the *stored* leaf hash of entry ``a - 1``, which the parent then compares with the leaf
  hash the previous chunk's worker computed (so the chain across chunks rests on no stored hash);
- the chunk's Merkle levels and the stored subtrees it completes up to its own root (level,
  index, hash of each row); the rows above it (the merges with earlier chunks) are returned;
- each checkpoint of a size inside the chunk: signature(s), origin, size, stored root equal to
  the signed one, ``created_at``; returned with the perfect subtrees of the chunk's prefix of
  that size, from which the parent forms the tree's root at that size.

The parent (:func:`verify_parallel`) receives the chunk summaries in order, a bounded window of
chunks in flight (memory O(log n) + O(jobs) chunks), and joins them: the chain link between
chunks, the tree's peaks and the stored subtrees above the chunks, every checkpoint's root and
``prev_size`` chain, the rows outside the ranges read, the count of each table. Checkpoint
signatures are verified once each, by the worker that holds the checkpoint.

Consistency. The parent fixes the tree size ``N`` (``max(seq) + 1``) in its own read
transaction, and every worker reads only keys below it: ``seq < N``, subtree nodes below
``2N - popcount(N)``, checkpoint sizes up to ``N``. The ledger tables are insert-only (triggers
refuse ``UPDATE`` and ``DELETE``) and appends only add keys above those, so every later snapshot
a worker sees holds exactly the rows of the parent's snapshot below those bounds: all read the
same tree. If the triggers were dropped and rows rewritten during the run, each chunk is still
read in one transaction and what is accepted is still a complete ledger whose every chunk,
link, subtree and signed checkpoint verifies, made of rows that were committed during the run.

Failure. On any disagreement in any chunk the pass stops (no further chunks are sent) and
raises :class:`fastverify.Fallback`; the caller then verifies row by row on the parent's
snapshot, which names the first bad row exactly as the single-process pass does. A worker that
cannot work (no such file, a broken pool) raises :class:`Unavailable`: the caller runs the
single-process fast pass instead.
"""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Final, NamedTuple

from workforce.ledger import fastverify
from workforce.ledger.fastverify import (
    ENTRIES_SQL,
    Fallback,
    FastVerifier,
    paused_gc,
    prefix_peaks,
)
from workforce.ledger.merkle import NODE_PREFIX, empty_root, stored_hash_count
from workforce.ledger.note import Verifier

__all__ = ["ChunkSummary", "Unavailable", "check_chunk", "default_jobs", "verify_parallel"]

PREV_HASH_SQL: Final = "SELECT leaf_hash FROM ledger_entries WHERE seq = :seq"
CHUNK_CHECKPOINTS_SQL: Final = (
    "SELECT size, prev_size, root_hash, note, created_at FROM ledger_checkpoints "
    "WHERE size > :start AND size <= :end ORDER BY size"
)
EARLY_CHECKPOINTS_SQL: Final = (
    "SELECT size, prev_size, root_hash, note, created_at FROM ledger_checkpoints "
    "WHERE size <= 0 ORDER BY size"
)
SIZE_SQL: Final = "SELECT max(seq) FROM ledger_entries"
WINDOW_PER_JOB: Final = 2
"""Chunks in flight per worker: enough to keep each busy while the parent joins."""

_sha256 = fastverify._sha256


class Unavailable(Exception):
    """The worker processes could not run (not a verdict on the ledger)."""


def default_jobs() -> int:
    """One worker per CPU this process may use."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class CheckpointSummary(NamedTuple):
    """A checkpoint inside a chunk, opened and checked on its own by the worker."""

    size: int
    prev_size: int | None
    signed_root: bytes
    pieces: list[bytes]
    """The perfect subtrees of the chunk's first ``size - start`` leaves, largest first."""


class ChunkSummary(NamedTuple):
    """What a worker returns for a chunk that verified on its own."""

    start: int
    length: int
    assumed_prev: str
    """The ``prev`` the first entry carries (the stored leaf hash of ``start - 1``)."""
    last_leaf: bytes
    """The computed leaf hash of the chunk's last entry."""
    peaks: list[bytes]
    """The chunk's perfect subtrees, largest first (one, its root, for a full chunk)."""
    above: list[tuple[int, int, bytes]]
    """Stored subtrees after the chunk's own: ``(level, relative index, hash)``."""
    checkpoints: list[CheckpointSummary]
    nodes: int


# --- the worker side --------------------------------------------------------------------------


def check_chunk(
    db: sqlite3.Connection,
    verifiers: Sequence[Verifier],
    origin: str,
    k: int,
    start: int,
    count: int,
) -> ChunkSummary:
    """Every check of entries ``[start, start + count)`` that needs no other chunk.

    Raises:
        Fallback: Something in the chunk does not verify.
    """
    check = FastVerifier(verifiers, origin, k)
    db.execute("BEGIN")
    try:
        rows = db.execute(ENTRIES_SQL, {"start": start, "end": start + count}).fetchall()
        if len(rows) != count:
            raise Fallback
        if start:
            stored = db.execute(PREV_HASH_SQL, {"seq": start - 1}).fetchone()
            if stored is None or not isinstance(stored[0], bytes):
                raise Fallback
            check.prev = stored[0].hex()
        check.size = start
        check.nodes = stored_hash_count(start)
        assumed_prev = check.prev
        levels, created, nodes = check.entries(rows)
        checkpoints = []
        for row in db.execute(CHUNK_CHECKPOINTS_SQL, {"start": start, "end": start + count}):
            offset = row[0] - start
            size, prev_size, signed = check.opened(row, created[offset - 1])
            checkpoints.append(
                CheckpointSummary(size, prev_size, signed, prefix_peaks(levels, k, offset))
            )
        subtrees = fastverify.read_subtrees(db, k, start, check.nodes, nodes)
        above = fastverify.own_subtrees(k, start, levels, subtrees, nodes)
    finally:
        db.execute("COMMIT")
    return ChunkSummary(
        start=start,
        length=count,
        assumed_prev=assumed_prev,
        last_leaf=levels[0][-1],
        peaks=prefix_peaks(levels, k, count),
        above=above,
        checkpoints=checkpoints,
        nodes=nodes,
    )


_opened: dict[tuple[str, tuple[str, ...], str], tuple[sqlite3.Connection, list[Verifier]]] = {}
"""A worker's read-only connection and verifiers, per database (opened at its first chunk)."""


def _run_chunk(
    path: str, vkeys: tuple[str, ...], origin: str, k: int, start: int, count: int
) -> ChunkSummary | None:
    """A chunk in a worker: its summary, or None when it does not verify."""
    key = (path, vkeys, origin)
    if key not in _opened:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
        db.execute("PRAGMA busy_timeout=30000")
        _opened[key] = db, [Verifier.from_vkey(v) for v in vkeys]
    db, verifiers = _opened[key]
    try:
        with paused_gc():
            return check_chunk(db, verifiers, origin, k, start, count)
    except (Fallback, *fastverify._ODD_DATA, sqlite3.OperationalError):  # e.g. TEXT not UTF-8
        return None


def _ready() -> None:
    """Nothing: submitted once per worker so that each starts at once."""


def start_pool(jobs: int) -> ProcessPoolExecutor:
    """``jobs`` worker processes, started now.

    With the ``fork`` start method (Linux; a worker starts in milliseconds with nothing to
    import) the workers copy this process's memory, SQLite's bookkeeping of open files included.
    SQLite must not see in a child a connection opened before the fork (its POSIX locks are not
    inherited), so ``verify_database`` starts the pool *before* it connects; each worker opens
    its own read-only connection at its first chunk.
    """
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    try:
        pool = ProcessPoolExecutor(jobs, context)
        for future in [pool.submit(_ready) for _ in range(jobs)]:
            future.result()
    except (OSError, ValueError, BrokenProcessPool) as exc:
        raise Unavailable from exc
    return pool


# --- the parent side --------------------------------------------------------------------------


def _join(check: FastVerifier, summary: ChunkSummary | None, start: int, count: int) -> None:
    """Add a chunk's summary to the tree, the chain and the checkpoints so far, in order."""
    if summary is None or summary.start != start or summary.length != count:
        raise Fallback
    if summary.assumed_prev != check.prev:
        raise Fallback
    for cp in summary.checkpoints:
        check.follows(
            cp.size, cp.prev_size, cp.signed_root, fastverify._fold(check.peaks + cp.pieces)
        )
    expected: list[tuple[int, int, bytes]] = []
    if count == check.chunk:
        (node,) = summary.peaks
        index = start >> check.k
        while index & 1:
            node = _sha256(NODE_PREFIX + check.peaks.pop() + node).digest()
            expected.append((check.k + len(expected) + 1, 0, node))
            index >>= 1
        check.peaks.append(node)
    else:
        check.peaks.extend(summary.peaks)
    if summary.above != expected:
        raise Fallback
    check.prev = summary.last_leaf.hex()
    check.size += count
    check.nodes += summary.nodes


def _database_path(db: sqlite3.Connection) -> str:
    for _, name, path in db.execute("PRAGMA database_list"):
        if name == "main" and path:
            return str(path)
    raise Unavailable


def verify_parallel(
    db: sqlite3.Connection,
    verifiers: Sequence[Verifier],
    origin: str,
    jobs: int,
    k: int = fastverify.K,
    pool: ProcessPoolExecutor | None = None,
) -> tuple[int, int, int, bytes]:
    """The fast pass with worker processes, from the parent's connection ``db`` (inside its read
    transaction, on the driver's thread); ``(entries, subtrees, checkpoints, root)``.

    ``pool``: ``jobs`` workers from :func:`start_pool` (left running); without it they are
    started here (after ``db`` was opened: tests) and stopped at the end.

    Raises:
        Fallback: Something does not verify: verify row by row on ``db``'s snapshot instead.
        Unavailable: The workers could not run: use the single-process pass.
    """
    try:
        with paused_gc():
            return _verify_parallel(db, verifiers, origin, jobs, k, pool)
    except fastverify._ODD_DATA:
        raise Fallback from None


def _verify_parallel(
    db: sqlite3.Connection,
    verifiers: Sequence[Verifier],
    origin: str,
    jobs: int,
    k: int,
    given: ProcessPoolExecutor | None,
) -> tuple[int, int, int, bytes]:
    check = FastVerifier(verifiers, origin, k)
    for row in db.execute(EARLY_CHECKPOINTS_SQL).fetchall():
        check.checkpoint(row, bytes(empty_root()), None)
    last = db.execute(SIZE_SQL).fetchone()[0]
    size = 0 if last is None or last < 0 else last + 1
    chunks = ((start, min(check.chunk, size - start)) for start in range(0, size, check.chunk))
    if size:
        task = (_database_path(db), tuple(v.vkey for v in verifiers), origin, k)
        pool = given or start_pool(jobs)
        window: deque[tuple[int, int, Future[ChunkSummary | None]]] = deque()
        try:
            for start, count in chunks:
                window.append((start, count, pool.submit(_run_chunk, *task, start, count)))
                if len(window) >= jobs * WINDOW_PER_JOB:
                    done_start, done_count, future = window.popleft()
                    _join(check, future.result(), done_start, done_count)
            while window:
                done_start, done_count, future = window.popleft()
                _join(check, future.result(), done_start, done_count)
        except (BrokenProcessPool, sqlite3.Error, OSError) as exc:
            raise Unavailable from exc
        finally:
            for _, _, future in window:
                future.cancel()
            if pool is not given:
                pool.shutdown(wait=True, cancel_futures=True)
    for sql, end in fastverify._outside(check):
        if db.execute(sql, {"end": end}).fetchone()[0]:
            raise Fallback
    return check.report_fields()
