"""The fast path of ``workforce ledger verify``: whole chunks of the ledger checked at once.

``cli.verify_connection`` checks the ledger one row at a time and names the first bad row. This
module makes every one of the same checks, but a chunk of ``CHUNK`` = 2**``K`` entries at a time,
with the per-row Python work replaced by passes over the chunk that run in C (``map``, ``zip``,
list and tuple comparison, ``operator.itemgetter``):

- entries ``[a, a + CHUNK)`` are read with one range query (``ENTRIES_SQL``); a full range
  (primary keys are unique) means no entry is missing; each leaf is hashed once and compared with
  its stored ``leaf_hash``; ``fastcheck.check_run`` accepts the bytes (canonical schema-v1 bans
  with the expected seqs) exactly when ``check_leaf`` accepts each of them (the compiled scan of
  ``_leafcheck`` first, when built); the ``prev`` chain and ``created_at = ts`` are compared for
  the whole chunk at once;
- the chunk's Merkle levels are computed level by level (``NODE`` over pairs; the leaf and node
  hashes in C by ``_merklehash`` when built, else ``hashlib``), and its stored subtrees are
  compared with them in storage order: level, index and hash of every row, against a layout
  computed once (every chunk aligned on ``CHUNK`` stores its subtrees in the same order). On
  SQLite (``read_subtrees``) the rows of the layout are checked in SQL against a TEMP table of it
  and come back as one blob of hashes; elsewhere they are read with one range query of ``node``
  (``SUBTREES_SQL``) and compared as three tuples;
- each checkpoint inside the chunk is opened once (signature, origin, size), its root compared
  with the root of the tree at its size (from the stack of earlier chunks' peaks and the chunk's
  levels), its ``prev_size`` and ``created_at`` checked as the slow path does.

Memory stays O(log n) plus one chunk. It does not name problems: on the first disagreement of any
kind it raises :class:`Fallback`, and the caller re-runs the row-by-row verification on the same
snapshot, which names the first bad row. So the fast path only ever *accepts* ledgers the slow
path accepts, and returns the same report.

``workforce.ledger.parallel`` runs the per-chunk part of these checks in worker processes and the
joining part (peaks, merges, checkpoint roots and order) in the parent, with the same pieces.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import sqlite3
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from itertools import repeat
from operator import add, itemgetter, rshift
from typing import Any, Final, NamedTuple

from workforce.ledger.checkpoint import open_checkpoint
from workforce.ledger.entry import GENESIS_PREV, parse_entry
from workforce.ledger.errors import LedgerError
from workforce.ledger.fastcheck import check_leaf, check_run
from workforce.ledger.merkle import NODE_PREFIX, empty_root, stored_hash_count
from workforce.ledger.note import Verifier

__all__ = [
    "CHECKPOINTS_SQL",
    "CHUNK",
    "ENTRIES_SQL",
    "OWN_SUBTREES_SQL",
    "SUBTREES_SQL",
    "Fallback",
    "FastVerifier",
    "K",
    "OwnSubtrees",
    "as_utc",
    "own_subtrees",
    "paused_gc",
    "read_subtrees",
    "verify_async",
    "verify_sync",
]

K: Final = 12
CHUNK: Final = 1 << K

ENTRIES_SQL: Final = (
    "SELECT seq, leaf, leaf_hash, created_at FROM ledger_entries "
    "WHERE seq >= :start AND seq < :end ORDER BY seq"
)
"""One chunk of entries (``:start`` is a multiple of ``CHUNK``)."""
SUBTREES_SQL: Final = (
    "SELECT level, idx, hash FROM ledger_subtrees WHERE node >= :lo AND node < :hi ORDER BY node"
)
"""The subtrees a chunk completes, as stored (no arithmetic in SQL: SQLite would read a blob or
text ``idx`` as a number, which the row-by-row pass does not)."""
CHECKPOINT_PAGE: Final = 1024
CHECKPOINTS_SQL: Final = (
    "SELECT size, prev_size, root_hash, note, created_at FROM ledger_checkpoints "  # noqa: S608 - a constant
    f"WHERE size >= :start ORDER BY size LIMIT {CHECKPOINT_PAGE}"
)
MAX_KEY: Final = (1 << 63) - 1

_sha256 = hashlib.sha256
_LEAF = b"\x00"


def _leaf_hashes(leaves: Sequence[bytes]) -> list[bytes]:
    """The leaf hash of each leaf."""
    return [_sha256(_LEAF + leaf).digest() for leaf in leaves]


def _merkle_levels(digests: list[bytes]) -> list[list[bytes]]:
    """``digests`` and the Merkle levels above it, each the node hashes of the pairs of the level
    below (an unpaired last node left out), up to a level of one node."""
    levels = [digests]
    while len(levels[-1]) > 1:
        below = iter(levels[-1])
        levels.append(
            [_sha256(NODE_PREFIX + lf + rt).digest() for lf, rt in zip(below, below, strict=False)]
        )
    return levels


try:  # the same hashes with OpenSSL's SHA-256 called from C (setup.py), when built
    from workforce.ledger._merklehash import leaf_hashes
    from workforce.ledger._merklehash import levels as merkle_levels
except ImportError:  # pragma: no cover - built without a compiler or libcrypto
    leaf_hashes, merkle_levels = _leaf_hashes, _merkle_levels


class Fallback(Exception):
    """The fast path saw something it does not accept: re-verify row by row to name it."""


def prefix_peaks(levels: Sequence[Sequence[bytes]], k: int, offset: int) -> list[bytes]:
    """The perfect subtrees over the first ``offset`` leaves of a chunk, largest first (their
    right fold is the root of those leaves), picked from the chunk's Merkle ``levels``."""
    pieces, done = [], 0
    for level in range(k, -1, -1):
        if offset >> level & 1:
            pieces.append(levels[level][done >> level])
            done += 1 << level
    return pieces


@functools.cache
def _layout(k: int) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], itemgetter[Any]]:
    """Level, relative index and position in the flattened levels of each subtree an aligned
    chunk of 2**k entries completes, in storage order (those above level ``k`` excepted), and
    an ``itemgetter`` picking them all from the flattened levels."""
    chunk = 1 << k
    offsets = [0]
    for level in range(k):
        offsets.append(offsets[-1] + (chunk >> level))
    levels: list[int] = []
    rel: list[int] = []
    pos: list[int] = []
    for j in range(chunk):
        level, i = 0, j
        while True:
            levels.append(level)
            rel.append(i)
            pos.append(offsets[level] + i)
            if not i & 1 or level == k:
                break
            level, i = level + 1, i >> 1
    return tuple(levels), tuple(rel), tuple(pos), itemgetter(*pos)


def _own_hashes(k: int, levels: list[list[bytes]], base: int) -> tuple[bytes, ...]:
    """The hashes of the first ``base`` subtrees of a chunk's layout, from its ``levels``."""
    chunk = 1 << k
    _, _, layout_pos, pick = _layout(k)
    flat: list[Any] = []
    for level, hashes in enumerate(levels):
        flat.extend(hashes)
        flat.extend(repeat(None, (chunk >> level) - len(hashes)))
    if base == len(layout_pos):
        return pick(flat) if base > 1 else (flat[0],)
    return tuple(flat[p] for p in layout_pos[:base])


class OwnSubtrees(NamedTuple):
    """A chunk's stored subtrees as ``read_subtrees`` reads them on SQLite."""

    matched: int
    """How many rows of the chunk's own layout have the level and index the layout wants, and
    a 32-byte blob for hash."""
    hashes: bytes
    """Those rows' hashes, concatenated in storage order."""
    above: list[Any]
    """The rows after the chunk's own (merges with earlier chunks), as ``SUBTREES_SQL`` reads."""


def own_subtrees(
    k: int, start: int, levels: list[list[bytes]], rows: Sequence[Any] | OwnSubtrees, nodes: int
) -> list[tuple[int, int, bytes]]:
    """Compare the ``nodes`` stored subtrees of the chunk from entry ``start`` up to its own root
    with its ``levels``; the rows after them ``(level, index relative to the chunk, hash)``,
    which need the earlier chunks' peaks. ``rows``: as ``SUBTREES_SQL`` or ``read_subtrees``
    reads them."""
    layout_levels, layout_rel, layout_pos, _ = _layout(k)
    base = min(nodes, len(layout_pos))
    expected = _own_hashes(k, levels, base)
    if isinstance(rows, OwnSubtrees):
        if rows.matched != base or rows.hashes != b"".join(expected):
            raise Fallback
        after: Sequence[Any] = rows.above
    else:
        own, after = rows[:base], rows[base:]
        stored_levels, stored_idx, stored_hashes = zip(*own, strict=True) if own else ((), (), ())
        wanted_levels = layout_levels[:base]
        wanted_idx = tuple(map(add, layout_rel[:base], map(rshift, repeat(start), wanted_levels)))
        if stored_levels != wanted_levels or stored_idx != wanted_idx or stored_hashes != expected:
            raise Fallback
    if base + len(after) != nodes:
        raise Fallback
    return [_relative(start, level, idx, value) for level, idx, value in after]


def _relative(start: int, level: Any, idx: Any, value: Any) -> tuple[int, int, bytes]:
    """A stored subtree with its index relative to the chunk from entry ``start``."""
    if type(level) is not int or type(idx) is not int:  # as stored: no bool, blob or text
        raise Fallback
    return level, idx - (start >> level), value


_LAYOUT_TABLE: Final = "workforce_verify_layout_{k}"
OWN_SUBTREES_SQL: Final = (
    "SELECT count(*), CAST(group_concat(hash, '') AS BLOB) FROM ("
    "SELECT s.hash FROM ledger_subtrees AS s JOIN temp.{table} AS l ON l.off = s.node - :lo "
    "WHERE s.node >= :lo AND s.node < :hi AND s.level = l.level "
    "AND s.idx = l.rel + (:start >> l.level) AND length(s.hash) = 32 AND s.hash >= x'' "
    "ORDER BY s.node)"
)
"""The stored subtrees of a chunk's own layout that are what it wants (nodes ``[lo, hi)``; a
TEMP table of the layout holds, per offset from ``lo``, its level and relative index): how many,
and their hashes concatenated in node order. Only comparisons of the columns as stored: a text
or blob ``level`` or ``idx`` never equals an integer, and ``hash >= x''`` holds for blobs only
(in SQLite's order every text sorts before every blob)."""


def _layout_table(db: Any, k: int) -> str | None:
    """The TEMP table of the layout of a chunk of 2**k entries on ``db``, made at first use
    (only this connection sees it; it goes with the connection); None if it cannot be made."""
    table = _LAYOUT_TABLE.format(k=k)
    known = "SELECT count(*) FROM temp.sqlite_master WHERE type = 'table' AND name = ?"
    try:
        if not db.execute(known, (table,)).fetchone()[0]:
            layout_levels, layout_rel, _, _ = _layout(k)
            db.execute(
                f"CREATE TEMP TABLE {table} "
                "(off INTEGER PRIMARY KEY, level INTEGER NOT NULL, rel INTEGER NOT NULL)"
            )
            db.executemany(
                f"INSERT INTO temp.{table} VALUES (?, ?, ?)",  # noqa: S608 - a constant name
                zip(range(len(layout_levels)), layout_levels, layout_rel, strict=True),
            )
    except sqlite3.Error:  # e.g. PRAGMA query_only: read the rows instead
        return None
    return table


def read_subtrees(db: Any, k: int, start: int, lo: int, nodes: int) -> Sequence[Any] | OwnSubtrees:
    """A chunk's ``nodes`` stored subtrees from node ``lo`` on a ``sqlite3`` connection: those of
    its own layout checked by level and index in SQL and returned as one blob, the rest as rows
    (all as rows where the layout table cannot be made).

    Reading two rows per entry into Python tuples was the largest cost of the fast pass after
    the entries themselves; this reads each row in SQLite's own loop instead.
    """
    table = _layout_table(db, k)
    if table is None:
        rows = db.execute(SUBTREES_SQL, {"lo": lo, "hi": lo + nodes})
        return rows.fetchall()  # type: ignore[no-any-return]
    base = min(nodes, len(_layout(k)[0]))
    sql = OWN_SUBTREES_SQL.format(table=table)
    matched, hashes = db.execute(sql, {"start": start, "lo": lo, "hi": lo + base}).fetchone()
    above = db.execute(SUBTREES_SQL, {"lo": lo + base, "hi": lo + nodes})
    return OwnSubtrees(matched, hashes or b"", above.fetchall())


def _fold(peaks: Sequence[bytes]) -> bytes:
    if not peaks:
        return bytes(empty_root())
    node = peaks[-1]
    for left in reversed(peaks[:-1]):
        node = _sha256(NODE_PREFIX + left + node).digest()
    return node


def as_utc(value: Any) -> datetime:
    """A stored time (a datetime, or ISO text as SQLite keeps it) as an aware UTC datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
    return value.astimezone(UTC)  # type: ignore[no-any-return]


def _same_time(stored: Any, other: Any) -> bool:
    try:
        return as_utc(stored) == as_utc(other)
    except (TypeError, ValueError, AttributeError):
        return False


def _created_ok(created: Sequence[Any], stamps: Sequence[Any]) -> bool:
    """``created_at`` of each entry equals its ``ts`` (as text when SQLite stores it so)."""
    try:  # SQLAlchemy stores a DateTime on SQLite as 'YYYY-MM-DD HH:MM:SS.ffffff'
        if set(map(len, created)) == {26} and "".join(created) == "".join(stamps).replace(
            "T", " "
        ).replace("Z", ".000000"):
            return True
    except TypeError:
        pass
    return all(map(_same_time, created, stamps))


def _one_by_one(leaves: Sequence[bytes], start: int, prev: str, digests: list[bytes]) -> list[Any]:
    """The per-leaf check of ``ledger verify`` (``check_leaf``, else ``parse_entry``) and the
    chain, for a chunk ``check_run`` did not accept; the ``ts`` of each entry."""
    stamps: list[Any] = []
    for offset, leaf in enumerate(leaves):
        fast = check_leaf(leaf)
        if fast is None:
            try:
                entry = parse_entry(leaf)
            except LedgerError:
                raise Fallback from None
            fast = (entry.seq, entry.prev, entry.ts)
        seq, claimed, ts = fast
        if seq != start + offset or claimed != prev:
            raise Fallback
        stamps.append(ts)
        prev = digests[offset].hex()
    return stamps


class FastVerifier:
    """The state of one fast pass: the peaks of the tree so far, the chain, the checkpoints."""

    def __init__(self, verifiers: Sequence[Verifier], origin: str, k: int = K) -> None:
        """Verify with these keys and this origin, in chunks of 2**k entries."""
        self.k = k
        self.chunk = 1 << k
        self.verifiers = verifiers
        self.origin = origin
        self.size = 0
        self.nodes = 0
        self.peaks: list[bytes] = []
        self.prev = GENESIS_PREV
        self.checkpoints = 0
        self.last_size: int | None = None

    # --- entries and subtrees --------------------------------------------------------------

    def entries(self, rows: Sequence[Any]) -> tuple[list[list[bytes]], Sequence[Any], int]:
        """Check a chunk of entry rows; return its levels, its ``created_at`` and the node count."""
        start, count = self.size, len(rows)
        if start % self.chunk or count > self.chunk:
            raise Fallback
        seqs, leaves, stored, created = zip(*rows, strict=True)
        if seqs != tuple(range(start, start + count)):
            raise Fallback
        digests = leaf_hashes(leaves)
        if digests != list(stored):  # bytes from both drivers; anything else: the slow path
            raise Fallback
        stamps: Sequence[Any] | None = check_run(leaves, start, self.prev, digests)
        if stamps is None:  # e.g. a correction in the chunk: one leaf at a time
            stamps = _one_by_one(leaves, start, self.prev, digests)
        if not _created_ok(created, stamps):
            raise Fallback
        self.prev = digests[-1].hex()
        levels = merkle_levels(digests)
        nodes = stored_hash_count(start + count) - self.nodes
        return levels, created, nodes

    def subtrees(
        self, levels: list[list[bytes]], rows: Sequence[Any] | OwnSubtrees, count: int
    ) -> None:
        """Compare the stored subtrees of a chunk (level, relative index, hash) with ``levels``:
        ``rows`` as ``SUBTREES_SQL`` gives them, or as ``read_subtrees`` does."""
        start, k = self.size, self.k
        above = own_subtrees(k, start, levels, rows, count)
        expected: list[tuple[int, int, bytes]] = []
        if len(levels[0]) == self.chunk:  # the root merges with earlier peaks: one per 1-bit
            node = levels[k][0]
            chunk_index = start >> k
            peaks = self.peaks
            while chunk_index & 1:
                node = _sha256(NODE_PREFIX + peaks.pop() + node).digest()
                expected.append((k + len(expected) + 1, 0, node))
                chunk_index >>= 1
            peaks.append(node)
        else:
            self.peaks.extend(prefix_peaks(levels, k, len(levels[0])))
        if above != expected:
            raise Fallback
        self.nodes += count
        self.size += len(levels[0])

    # --- checkpoints ------------------------------------------------------------------------

    def opened(self, row: Any, last_created: Any) -> tuple[int, int | None, bytes]:
        """The checks of one checkpoint row on its own: signature, origin, size, stored root,
        ``created_at``; its ``(size, prev_size, signed root)``."""
        size, prev_size, root_hash, note, created_at = row
        try:
            cp = open_checkpoint(note, self.verifiers, self.origin)
        except LedgerError:
            raise Fallback from None
        if (
            cp.size != size
            or bytes(root_hash) != cp.root_hash
            or (size and not (created_at == last_created or _same_time(created_at, last_created)))
        ):
            raise Fallback
        return size, prev_size, cp.root_hash

    def follows(self, size: int, prev_size: int | None, signed: bytes, root: bytes) -> None:
        """The checks of an opened checkpoint in order: its root is ``root`` (the tree's at its
        size) and its ``prev_size`` names the checkpoint before it."""
        if signed != root or prev_size != self.last_size:
            raise Fallback
        self.last_size = size
        self.checkpoints += 1

    def checkpoint(self, row: Any, root: bytes, last_created: Any) -> None:
        """Check one checkpoint of the tree at its size, whose root is ``root``."""
        self.follows(*self.opened(row, last_created), root)

    def checkpoints_within(
        self, rows: Sequence[Any], levels: list[list[bytes]], created: Sequence[Any]
    ) -> None:
        """Check the checkpoints of sizes inside the chunk just read (before ``subtrees``)."""
        start = self.size
        for row in rows:
            offset = row[0] - start
            if not 0 < offset <= len(levels[0]):
                raise Fallback
            pieces = prefix_peaks(levels, self.k, offset)
            self.checkpoint(row, _fold(self.peaks + pieces), created[offset - 1])

    def report_fields(self) -> tuple[int, int, int, bytes]:
        """``(entries, subtrees, checkpoints, root)`` once every row was read."""
        if self.size and self.last_size != self.size:
            raise Fallback
        return self.size, self.nodes, self.checkpoints, _fold(self.peaks)


class _Checkpoints:
    """The checkpoint rows in size order, fetched ``CHECKPOINT_PAGE`` at a time."""

    def __init__(self) -> None:
        self.buffer: deque[Any] = deque()
        self.next = 0
        self.exhausted = False

    def want(self) -> int | None:
        """The ``:start`` of the next page to fetch, or None when no fetch is needed."""
        return None if self.buffer or self.exhausted else self.next

    def add(self, rows: Sequence[Any]) -> None:
        self.buffer.extend(rows)
        self.exhausted = len(rows) < CHECKPOINT_PAGE
        if rows:
            self.next = rows[-1][0] + 1

    def take(self, upto: int) -> Any:
        """The next row if its size is ≤ ``upto``; None otherwise (or ``_MORE``: fetch first)."""
        if not self.buffer:
            return None if self.exhausted else _MORE
        if self.buffer[0][0] > upto:
            return None
        return self.buffer.popleft()


_MORE: Final = object()


def _sync_checkpoints(
    stream: _Checkpoints, upto: int, query: Callable[..., list[Any]]
) -> list[Any]:
    taken = []
    while (row := stream.take(upto)) is not None:
        if row is _MORE:
            stream.add(query(CHECKPOINTS_SQL, start=stream.next))
        else:
            taken.append(row)
    return taken


_ODD_DATA: Final = (TypeError, ValueError, AttributeError, IndexError, KeyError)
"""What unexpected column types or values may raise: left to the slow path to name."""


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector (reference counting still frees everything).

    A chunk's rows and hashes are tens of thousands of young container objects that live until
    the next chunk: each pass of the collector would walk them again, and the ones it promotes
    trigger full collections of the whole heap. None of them forms a cycle, so there is nothing
    for the collector to find; memory stays bounded by the chunk. The peer in
    ``bench/ledger.py`` reads under the same pause.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def verify_sync(
    db: Any, verifiers: Sequence[Verifier], origin: str, k: int = K
) -> tuple[int, int, int, bytes]:
    """The fast pass on a DB-API (sqlite3) connection, inside the caller's read transaction.

    Raises:
        Fallback: Something does not verify (or is not covered): verify row by row instead.
    """
    try:
        with paused_gc():
            return _verify_sync(db, verifiers, origin, k)
    except (*_ODD_DATA, sqlite3.OperationalError):  # e.g. a TEXT value that is not UTF-8
        raise Fallback from None


def _verify_sync(
    db: Any, verifiers: Sequence[Verifier], origin: str, k: int
) -> tuple[int, int, int, bytes]:

    def query(sql: str, **params: int) -> list[Any]:
        return db.execute(sql, params).fetchall()  # type: ignore[no-any-return]

    check = FastVerifier(verifiers, origin, k)
    stream = _Checkpoints()
    for row in _sync_checkpoints(stream, 0, query):
        check.checkpoint(row, bytes(empty_root()), None)
    while True:
        start = check.size
        rows = query(ENTRIES_SQL, start=start, end=start + check.chunk)
        if not rows:
            break
        levels, created, nodes = check.entries(rows)
        within = _sync_checkpoints(stream, start + len(rows), query)
        check.checkpoints_within(within, levels, created)
        check.subtrees(levels, read_subtrees(db, k, start, check.nodes, nodes), nodes)
        if len(rows) < check.chunk:
            break
    if _sync_checkpoints(stream, MAX_KEY, query):
        raise Fallback
    for sql, end in _outside(check):
        if query(sql, end=end)[0][0]:
            raise Fallback
    return check.report_fields()


def _outside(check: FastVerifier) -> list[tuple[str, int]]:
    """Queries counting rows outside the ranges read (none may exist)."""
    return [
        ("SELECT count(*) FROM ledger_entries WHERE seq < 0 OR seq >= :end", check.size),
        ("SELECT count(*) FROM ledger_subtrees WHERE node < 0 OR node >= :end", check.nodes),
        ("SELECT count(*) FROM ledger_checkpoints WHERE size < 0 OR size > :end", check.size),
    ]


async def verify_async(
    conn: Any, verifiers: Sequence[Verifier], origin: str, k: int = K
) -> tuple[int, int, int, bytes]:
    """The fast pass through an SQLAlchemy async connection (PostgreSQL, or SQLite without
    access to the driver's thread).

    Raises:
        Fallback: Something does not verify (or is not covered): verify row by row instead.
    """
    from sqlalchemy.exc import OperationalError  # noqa: PLC0415 - the pure parts need no database

    try:
        with paused_gc():
            return await _verify_async(conn, verifiers, origin, k)
    except _ODD_DATA:
        raise Fallback from None
    except OperationalError as exc:  # e.g. an SQLite TEXT value that is not UTF-8
        if isinstance(exc.orig, sqlite3.OperationalError):
            raise Fallback from None
        raise


async def _verify_async(
    conn: Any, verifiers: Sequence[Verifier], origin: str, k: int
) -> tuple[int, int, int, bytes]:
    from sqlalchemy import text  # noqa: PLC0415 - the pure parts need no database

    async def query(sql: str, **params: int) -> list[Any]:
        return list((await conn.execute(text(sql), params)).tuples())

    async def checkpoints(upto: int) -> list[Any]:
        taken = []
        while (row := stream.take(upto)) is not None:
            if row is _MORE:
                stream.add(await query(CHECKPOINTS_SQL, start=stream.next))
            else:
                taken.append(row)
        return taken

    check = FastVerifier(verifiers, origin, k)
    stream = _Checkpoints()
    for row in await checkpoints(0):
        check.checkpoint(row, bytes(empty_root()), None)
    while True:
        start = check.size
        rows = await query(ENTRIES_SQL, start=start, end=start + check.chunk)
        if not rows:
            break
        levels, created, nodes = check.entries(rows)
        check.checkpoints_within(await checkpoints(start + len(rows)), levels, created)
        subtrees = await query(SUBTREES_SQL, lo=check.nodes, hi=check.nodes + nodes)
        check.subtrees(levels, subtrees, nodes)
        if len(rows) < check.chunk:
            break
    if await checkpoints(MAX_KEY):
        raise Fallback
    for sql, end in _outside(check):
        if (await query(sql, end=end))[0][0]:
            raise Fallback
    return check.report_fields()
