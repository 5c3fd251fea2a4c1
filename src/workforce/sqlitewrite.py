"""Short write transactions on the embedded database, on a connection of their own.

The hot write paths (the admission gate's group commit, the ban ledger's writer) do a few
inserts per transaction.  Through the ORM and aiosqlite, each statement, ``BEGIN`` and
``COMMIT`` is a hand-off to the driver's thread and back (tens of microseconds each on a busy
machine, more than the inserts themselves).  :class:`SqliteWriter` runs the whole transaction
on the event loop's thread instead, through a plain ``sqlite3`` connection:

* ``BEGIN IMMEDIATE`` is tried without waiting; if another writer holds the database (an import,
  a hire), the wait happens in a worker thread, so the loop never blocks on a lock.  In WAL mode
  with ``synchronous=NORMAL`` a commit appends to the WAL without waiting for the disk.
* Turns: the fast writers of all server processes take an exclusive ``flock`` on a lock file
  next to the database before ``BEGIN IMMEDIATE``.  The kernel wakes the next waiter the moment
  the lock is released, where SQLite's busy handler would sleep and retry (1, 2, 5, … up to
  100 ms at a time).  Other writers still meet in SQLite's own lock as before.
* Checkpoints: a passive WAL checkpoint every :data:`CHECKPOINT_SECONDS`, in a worker thread,
  keeps the WAL below SQLite's auto-checkpoint size, so copying pages back into the database
  (and its fsync) is not done inside some request's commit.

Rows are encoded by SQLAlchemy's own bind processors for each column (:func:`encode_rows`), so
they are stored exactly as the ORM stores them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any, Final

from sqlalchemy.engine import Dialect

from workforce.db import Base

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

__all__ = ["CHECKPOINT_SECONDS", "SqliteWriter", "encode_rows", "insert_plan"]

log = logging.getLogger(__name__)

CHECKPOINT_SECONDS: Final = 0.25
"""How often a writer runs a passive WAL checkpoint while it is in use."""

WAL_AUTOCHECKPOINT_PAGES: Final = 10_000
"""WAL size (pages) at which a writer's own commit checkpoints (SQLite's default: 1000)."""
CACHE_KIB: Final = 65_536
"""Page cache of the writing connection, in KiB (SQLite's default: 2000)."""

Processor = Callable[[Any], Any] | None


@functools.lru_cache(maxsize=128)
def insert_plan(
    dialect: Dialect, table_name: str, names: tuple[str, ...]
) -> tuple[str, tuple[Processor, ...]]:
    """The ``INSERT`` of these columns of a table, and each column's bind processor."""
    table = Base.metadata.tables[table_name]
    processors = tuple(
        table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
    )
    marks = ", ".join("?" * len(names))
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})"  # noqa: S608 - fixed identifiers
    return sql, processors


def encode_rows(
    dialect: Dialect, table_name: str, rows: Sequence[Mapping[str, Any]]
) -> tuple[str, list[tuple[Any, ...]]]:
    """The ``INSERT`` for rows that all have the keys of the first, and their encoded values."""
    names = tuple(rows[0])
    sql, processors = insert_plan(dialect, table_name, names)
    values = [tuple(row[name] for name in names) for row in rows]
    converted = [(i, p) for i, p in enumerate(processors) if p is not None]
    if converted:
        for at, row in enumerate(values):
            encoded = list(row)
            for i, process in converted:
                encoded[i] = process(encoded[i])
            values[at] = tuple(encoded)
    return sql, values


class SqliteWriter:
    """One process's fast write transactions on one SQLite database file (see the module)."""

    def __init__(self, path: str, *, synchronous: str = "NORMAL") -> None:
        """Write to the database file ``path``.

        ``synchronous``: SQLite's setting for the writing connection. ``NORMAL`` (the
        registry's, as for every connection) survives a process crash; ``FULL`` also a power
        loss (an fsync per commit).
        """
        if synchronous not in ("NORMAL", "FULL"):
            msg = f"synchronous must be NORMAL or FULL, not {synchronous!r}"
            raise ValueError(msg)
        self._path = path
        self._synchronous = synchronous
        self._fd: int | None = None
        self._checkpoints: asyncio.Task[None] | None = None
        self._conn: sqlite3.Connection | None = None
        self._writer: sqlite3.Connection | None = None

    def connection(self) -> sqlite3.Connection:
        """The writing connection (opened on first use)."""
        if self._writer is None:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute(f"PRAGMA synchronous={self._synchronous}")
            conn.execute("PRAGMA busy_timeout=0")
            # The background checkpoints copy the WAL back; a commit checkpoints only if they
            # fall far behind.  A larger page cache keeps the indexes' hot pages in memory.
            conn.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
            conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
            self._writer = conn
        return self._writer

    @staticmethod
    def _begin_waiting(conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA busy_timeout=30000")
        try:
            conn.execute("BEGIN IMMEDIATE")
        finally:
            conn.execute("PRAGMA busy_timeout=0")

    async def begin(self) -> sqlite3.Connection:
        """``BEGIN IMMEDIATE`` on the writing connection (waiting in a thread if busy)."""
        conn = self.connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY:
                raise
            await asyncio.to_thread(self._begin_waiting, conn)
        return conn

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[sqlite3.Connection]:
        """Take a turn, begin, yield the connection; commit on success, else roll back."""
        self.start_checkpoints()
        async with self.turn():
            conn = await self.begin()
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Hold the writers' lock file (one fast writer of all processes at a time)."""
        if fcntl is None:  # pragma: no cover - not POSIX: SQLite's busy handler alone
            yield  # type: ignore[unreachable]
            return
        if self._fd is None:
            self._fd = os.open(f"{self._path}-writers.lock", os.O_RDWR | os.O_CREAT, 0o600)
        fd = self._fd
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def start_checkpoints(self) -> None:
        """Run passive WAL checkpoints in the background while this event loop runs."""
        if self._checkpoints is None or self._checkpoints.done():
            self._checkpoints = asyncio.get_running_loop().create_task(self._checkpoint_loop())

    async def _checkpoint_loop(self) -> None:
        while True:
            await asyncio.sleep(CHECKPOINT_SECONDS)
            running = asyncio.ensure_future(asyncio.to_thread(self._checkpoint))
            try:
                await asyncio.shield(running)
            except sqlite3.Error as exc:  # a busy database: try again next time
                log.debug("passive WAL checkpoint skipped: %s", exc)
            except asyncio.CancelledError:
                # The thread cannot be stopped: let it finish before close() closes its
                # connection (closing a connection in use by another thread crashes).
                with contextlib.suppress(sqlite3.Error):
                    await running
                raise

    def _checkpoint(self) -> None:
        if self._conn is None:
            self._conn = sqlite3.connect(
                self._path, isolation_level=None, check_same_thread=False, timeout=0
            )
        self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    async def close(self) -> None:
        """Stop the checkpoints and close the connections and the lock file."""
        if self._checkpoints is not None:
            self._checkpoints.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpoints
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
