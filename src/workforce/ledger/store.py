"""Insert-only storage of the ban ledger, and its private side tables.

Public tables (readable by anyone through ``/ledger/…``; a database trigger refuses ``UPDATE``
and ``DELETE`` on each of them, see ``alembic/versions/*_0003_ledger.py``):

- ``ledger_entries``: one row per leaf, the exact canonical bytes and their leaf hash.
- ``ledger_subtrees``: the hash of every *complete perfect subtree* (about two per entry),
  keyed by its stored-hash index ``node`` (the order in which appends complete them, as in
  Go's ``golang.org/x/mod/sumdb/tlog``), so an append writes at the end of the index, a proof
  fetches its O(log n) keys with one ``IN`` query, and ``ledger verify`` reads the table in one
  ordered scan alongside the entries.
- ``ledger_checkpoints``: every signed checkpoint (C2SP tlog-checkpoint note), keyed by tree
  size (so two checkpoints of one size cannot both exist), chained by ``prev_size`` so that a
  deleted checkpoint row is noticed.

Private tables (never published; rows may be erased to forget a person without breaking the
tree, so no trigger):

- ``ledger_subjects``: per entry and committed field (``subject``, ``decision``, ``case``),
  the salt that opens the commitment and the value itself, AES-256-GCM encrypted (for the
  regulators and the ban-check receipts); on the ``subject`` row, the keyed index
  ``HMAC(ledger subject key, normalized ID number)`` that finds a person's entries.
- ``ledger_cases``: one salt and commitment per case, so every entry of a case carries the same
  case commitment (an auditor sees which bans belong together without learning the case).

This module exposes inserts and selects only.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    BigInteger,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    insert,
    select,
    text,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from workforce.db import Base
from workforce.ledger.merkle import stored_hash_count
from workforce.sqlitewrite import encode_rows

T = TypeVar("T")

# On SQLite only ``INTEGER PRIMARY KEY`` is an alias of the rowid (the clustered key).
Seq = BigInteger().with_variant(Integer(), "sqlite")


class LedgerEntry(Base):
    """One leaf of the ban ledger (public, insert-only)."""

    __tablename__ = "ledger_entries"

    seq: Mapped[int] = mapped_column(Seq, primary_key=True, autoincrement=False)
    """Leaf index, from 0, without gaps."""
    leaf: Mapped[bytes] = mapped_column(LargeBinary)
    """The entry's exact canonical JSON bytes (the hashed leaf data)."""
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    """``SHA-256(0x00 || leaf)`` (RFC 6962 §2.1)."""
    created_at: Mapped[datetime]
    """When the entry was appended; equal to the entry's ``ts``."""


class LedgerSubtree(Base):
    """The hash of one complete perfect subtree (public, insert-only)."""

    __tablename__ = "ledger_subtrees"

    node: Mapped[int] = mapped_column(Seq, primary_key=True, autoincrement=False)
    """Stored-hash index: position in the order appends complete subtrees (see ``node_index``)."""
    level: Mapped[int] = mapped_column(SmallInteger)
    """Height of the subtree: 0 for a leaf hash."""
    idx: Mapped[int] = mapped_column(BigInteger)
    """Index of the subtree at its level: it covers leaves ``[idx << level, (idx+1) << level)``."""
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    """``MTH`` of the leaves it covers."""


class LedgerCheckpoint(Base):
    """A signed checkpoint (public, insert-only); every one the log signed is kept."""

    __tablename__ = "ledger_checkpoints"

    size: Mapped[int] = mapped_column(Seq, primary_key=True, autoincrement=False)
    """Tree size (a log never signs two checkpoints of one size)."""
    prev_size: Mapped[int | None] = mapped_column(BigInteger)
    """Size of the checkpoint signed before this one (None for the first)."""
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    """Root hash of the tree of ``size`` leaves."""
    note: Mapped[str] = mapped_column(Text)
    """The signed note (C2SP tlog-checkpoint), every signature included."""
    created_at: Mapped[datetime]
    """When it was signed; equal to the ``ts`` of entry ``size - 1``."""


class LedgerSubject(Base):
    """Private: what opens one commitment of one entry, and whom the entry is about.

    On SQLite a ``WITHOUT ROWID`` table clustered on ``(seq, field)``: an append writes its
    three rows at the end of one B-tree, not into a table and a separate key index. The keyed
    index covers only the rows that carry a key (the ``subject`` rows), a third of them.
    """

    __tablename__ = "ledger_subjects"
    __table_args__ = (
        Index(
            "ix_ledger_subjects_subject_key",
            "subject_key",
            sqlite_where=text("subject_key IS NOT NULL"),
            postgresql_where=text("subject_key IS NOT NULL"),
        ),
        {"sqlite_with_rowid": False},
    )

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    """The entry."""
    field: Mapped[str] = mapped_column(String(16), primary_key=True)
    """The committed field: ``subject``, ``decision`` or ``case``."""
    salt: Mapped[bytes] = mapped_column(LargeBinary(32))
    """The commitment's 32-byte salt."""
    value_cipher: Mapped[bytes | None] = mapped_column(LargeBinary)
    """The normalized value, AES-256-GCM encrypted (None once erased)."""
    subject_key: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    """For ``subject``: ``HMAC-SHA256(ledger subject key, domain || normalized ID number)``,
    the keyed index that finds a person's entries (None once erased)."""


class LedgerCase(Base):
    """Private: the one salt and commitment of a case, shared by all its entries."""

    __tablename__ = "ledger_cases"

    case_key: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    """``HMAC-SHA256(ledger subject key, domain || normalized case number)``."""
    commitment: Mapped[str] = mapped_column(String(64), unique=True)
    """The case commitment written into the entries (hex)."""
    salt: Mapped[bytes] = mapped_column(LargeBinary(32))
    """Its salt."""
    value_cipher: Mapped[bytes | None] = mapped_column(LargeBinary)
    """The normalized case number, AES-256-GCM encrypted (None once erased)."""


PUBLIC_TABLES = ("ledger_entries", "ledger_subtrees", "ledger_checkpoints")
"""Tables an append-only trigger protects."""


# --- storage layout ----------------------------------------------------------------------


def node_index(level: int, idx: int) -> int:
    """The stored-hash index of subtree ``(level, idx)``.

    The subtree is completed by appending leaf ``i = ((idx + 1) << level) - 1``; that append
    stores its leaf hash and then one hash per completed level, so the subtree lands at
    ``stored_hash_count(i) + level``.
    """
    last_leaf = ((idx + 1) << level) - 1
    return stored_hash_count(last_leaf) + level


# --- hot paths: the write path and proofs ---------------------------------------------------

_HEAD_SQL = "SELECT size, root_hash FROM ledger_checkpoints ORDER BY size DESC LIMIT 1"


class SyncLedger:
    """The hot statements on a plain DB-API connection, inside the caller's transaction.

    Used through :func:`sqlite_worker`: a whole append, or a proof's query, runs as one call, on
    the event loop's thread (``run_here``) or on aiosqlite's (``run``), instead of one hand-off
    to that thread per statement; and by the ledger writer on its own connection.
    """

    def __init__(self, db: sqlite3.Connection, dialect: Dialect) -> None:
        """Wrap ``db``; ``dialect`` supplies the bind processors (e.g. of ``created_at``)."""
        self.db = db
        self.dialect = dialect

    def head(self) -> tuple[int, bytes] | None:
        """``(size, root hash)`` of the latest checkpoint, if any."""
        row = self.db.execute(_HEAD_SQL).fetchone()
        return (int(row[0]), bytes(row[1])) if row is not None else None

    def subtree_hashes(self, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """The stored hashes of the subtrees ``keys`` that exist (one query)."""
        by_node = {node_index(level, idx): (level, idx) for level, idx in keys}
        if not by_node:
            return {}
        marks = ",".join("?" * len(by_node))
        rows = self.db.execute(
            f"SELECT node, hash FROM ledger_subtrees WHERE node IN ({marks})",  # noqa: S608 - placeholders only
            list(by_node),
        )
        return {by_node[node]: bytes(value) for node, value in rows}

    def insert(self, model: type[Base], rows: list[dict[str, Any]]) -> None:
        """Insert rows into one ledger table (one executemany)."""
        if rows:
            self.db.executemany(*encode_rows(self.dialect, model.__tablename__, rows))


class SqliteWorker:
    """Runs a function with a :class:`SyncLedger` on the connection under an aiosqlite one."""

    def __init__(self, driver: Any, dialect: Dialect) -> None:
        """``driver`` is the ``aiosqlite.Connection`` under the session's connection."""
        self.driver = driver
        self.dialect = dialect

    def _call(self, fn: Callable[[SyncLedger], T]) -> T:
        try:
            return fn(SyncLedger(self.driver._conn, self.dialect))
        except sqlite3.IntegrityError as exc:
            raise sa_exc.IntegrityError("ledger append", None, exc) from exc
        except sqlite3.OperationalError as exc:
            raise sa_exc.OperationalError("ledger append", None, exc) from exc

    def run(self, fn: Callable[[SyncLedger], T]) -> Awaitable[T]:
        """Run ``fn`` in the worker thread, in the transaction open on its connection."""
        result: Awaitable[T] = self.driver._execute(self._call, fn)
        return result

    async def run_here(self, fn: Callable[[SyncLedger], T]) -> T:
        """Run a short ``fn`` on this (the event loop's) thread, in the same transaction.

        For work of a few hundred microseconds that cannot wait on a lock (a proof's query, an
        append under the write lock already taken), the hand-off to aiosqlite's thread and back
        costs more than the work.  The connection is idle meanwhile (its caller awaits nothing
        else on it), and the engine opens it with ``check_same_thread=False``
        (:func:`workforce.db.make_engine`); a connection opened otherwise refuses before doing
        anything, and the work goes to its thread as :meth:`run` does.
        """
        try:
            return self._call(fn)
        except sqlite3.ProgrammingError as exc:
            if "same thread" not in str(exc):
                raise
        return await self.run(fn)


def sqlite_worker(conn: AsyncConnection) -> SqliteWorker | None:
    """The worker of an aiosqlite connection (None for other drivers).

    aiosqlite runs every statement on its own thread and hands each result back to the event
    loop; ``Connection._execute`` (aiosqlite's internal, stable since 0.x) runs a whole function
    there instead. Without it (another driver or version) the callers fall back to one awaited
    statement at a time.
    """
    if conn.dialect.name != "sqlite":
        return None
    driver = conn.sync_connection.connection.driver_connection if conn.sync_connection else None
    if not callable(getattr(driver, "_execute", None)) or not hasattr(type(driver), "_conn"):
        return None
    return SqliteWorker(driver, conn.dialect)


async def head(conn: AsyncConnection) -> tuple[int, bytes] | None:
    """``(size, root hash)`` of the latest checkpoint, if any."""
    row = (await conn.exec_driver_sql(_HEAD_SQL)).first()
    return (int(row[0]), bytes(row[1])) if row is not None else None


async def tree_size(conn: AsyncConnection) -> int:
    """Size of the latest signed checkpoint (0 for an empty ledger)."""
    latest = await head(conn)
    return latest[0] if latest is not None else 0


async def subtree_hashes(
    conn: AsyncConnection, keys: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], bytes]:
    """The stored hashes of the subtrees ``keys`` that exist (one query)."""
    wanted = list(keys)
    worker = sqlite_worker(conn)
    if worker is not None:
        return await worker.run_here(lambda ledger: ledger.subtree_hashes(wanted))
    by_node = {node_index(level, idx): (level, idx) for level, idx in wanted}
    if not by_node:
        return {}
    table = LedgerSubtree.__table__
    stmt = select(table.c.node, table.c.hash).where(table.c.node.in_(list(by_node)))
    return {by_node[node]: bytes(value) for node, value in (await conn.execute(stmt)).tuples()}


async def insert_rows(conn: AsyncConnection, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """Insert plain rows into one ledger table (one executemany, no ORM unit of work)."""
    if rows:
        await conn.execute(insert(Base.metadata.tables[model.__tablename__]), rows)


# --- selects (ORM) --------------------------------------------------------------------------


async def latest_checkpoint_row(session: AsyncSession) -> LedgerCheckpoint | None:
    """The checkpoint of the largest tree size, if any."""
    stmt = select(LedgerCheckpoint).order_by(LedgerCheckpoint.size.desc()).limit(1)
    return (await session.scalars(stmt)).first()


async def checkpoint_row(session: AsyncSession, size: int) -> LedgerCheckpoint | None:
    """The checkpoint of exactly ``size`` leaves, if one was signed."""
    return await session.get(LedgerCheckpoint, size)


async def entries_between(session: AsyncSession, start: int, end: int) -> list[LedgerEntry]:
    """Entries with ``start <= seq < end``, in order."""
    stmt = (
        select(LedgerEntry)
        .where(LedgerEntry.seq >= start, LedgerEntry.seq < end)
        .order_by(LedgerEntry.seq)
    )
    return list((await session.scalars(stmt)).all())


async def entries_at(session: AsyncSession, seqs: Iterable[int]) -> list[LedgerEntry]:
    """The entries with these sequence numbers, in order."""
    wanted = sorted(set(seqs))
    if not wanted:
        return []
    stmt = select(LedgerEntry).where(LedgerEntry.seq.in_(wanted)).order_by(LedgerEntry.seq)
    return list((await session.scalars(stmt)).all())


async def subject_seqs(session: AsyncSession, subject_key: bytes) -> list[int]:
    """Sequence numbers of every entry about the person with this keyed index."""
    stmt = (
        select(LedgerSubject.seq)
        .where(LedgerSubject.subject_key == subject_key, LedgerSubject.field == "subject")
        .order_by(LedgerSubject.seq)
    )
    return list((await session.scalars(stmt)).all())


async def openings(
    session: AsyncSession, seqs: Sequence[int], field: str
) -> dict[int, LedgerSubject]:
    """The openings of ``field`` for these entries."""
    if not seqs:
        return {}
    stmt = select(LedgerSubject).where(
        LedgerSubject.seq.in_(list(seqs)), LedgerSubject.field == field
    )
    return {row.seq: row for row in (await session.scalars(stmt)).all()}


async def case_by_key(session: AsyncSession, case_key: bytes) -> LedgerCase | None:
    """The stored case with this keyed index."""
    return await session.get(LedgerCase, case_key)
