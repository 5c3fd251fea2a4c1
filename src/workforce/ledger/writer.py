"""Durable appends on a connection of the ledger's own, concurrent ones grouped.

:func:`workforce.ledger.service.append` appends in the caller's unit of work, so that a ban and
what it causes (revoked certificates, employers' alerts) commit together.  That costs an ORM
session and, on SQLite, hand-offs to aiosqlite's thread for ``BEGIN`` and ``COMMIT`` (more
than the append itself).  Appends that need nothing else in their transaction
go through a :class:`LedgerWriter` instead:

* SQLite: one transaction on a plain ``sqlite3`` connection, on the event loop's thread
  (:class:`workforce.sqlitewrite.SqliteWriter`: ``BEGIN IMMEDIATE``, waiting in a thread only
  when another writer holds the database; the writers' lock file; passive WAL checkpoints in
  the background).  PostgreSQL: a plain connection from the engine, with the ledger's advisory
  lock, no ORM.
* Group commit (:class:`workforce.groupcommit.Batcher`): while one transaction is written, the
  appends arriving meanwhile queue; the next transaction takes them all (up to
  :data:`MAX_BATCH` callers), builds their entries in arrival order and signs one checkpoint
  covering them.  Each caller gets its own entries and that checkpoint, once it is committed
  (synchronous integration, as one append at a time).  If a group fails, each caller's append
  is retried alone, so one bad draft fails only its own caller.

The serialization guarantees are those of :func:`~workforce.ledger.service.append`: the write
lock is taken before the head is read, and the primary keys on ``seq``, ``node`` and the
checkpoint ``size`` refuse a fork.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Final

from workforce.db import write_transaction
from workforce.groupcommit import Batcher
from workforce.ledger import service, store
from workforce.sqlitewrite import SqliteWriter

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from workforce.context import AppContext

__all__ = ["MAX_BATCH", "LedgerWriter"]


MAX_BATCH: Final = 256
"""At most this many callers' appends share one transaction and checkpoint."""


Drafts = tuple[service.Draft, ...]


class LedgerWriter:
    """The durable appends of one process (see the module)."""

    def __init__(
        self,
        ctx: AppContext,
        engine: AsyncEngine,
        *,
        max_batch: int = MAX_BATCH,
        synchronous: str = "NORMAL",
    ) -> None:
        """Write to ``engine``'s database; an SQLite file gets a connection of its own.

        ``synchronous`` is that connection's SQLite setting (see ``SqliteWriter``).
        """
        self._ctx = ctx
        self._engine = engine
        url = engine.url
        path = url.database if url.get_backend_name() == "sqlite" else None
        self._sqlite = (
            SqliteWriter(path, synchronous=synchronous) if path and path != ":memory:" else None
        )
        self._batcher: Batcher[Drafts, service.Appended] = Batcher(self._write, max_batch=max_batch)

    @property
    def batches(self) -> int:
        """How many transactions were committed (for tests and figures)."""
        return self._batcher.batches

    async def append(self, *drafts: service.Draft) -> service.Appended:
        """Append ``drafts`` (in order, consecutive) and return once they are committed.

        The result's checkpoint covers these entries, and possibly others appended at the same
        time after them.

        Raises:
            ValueError: No drafts.
            EntryError: A built entry breaks the entry schema (nothing of it was kept).
        """
        if not drafts:
            msg = "append needs at least one entry"
            raise ValueError(msg)
        return await self._batcher.submit(drafts)

    async def _write(self, group: list[Drafts]) -> list[service.Appended]:
        """One transaction: every caller's drafts in order, one signed checkpoint."""
        drafts = [draft for own in group for draft in own]
        if self._sqlite is not None:
            async with self._sqlite.transaction() as db:
                ledger = store.SyncLedger(db, self._engine.dialect)
                appended = service.append_sync(ledger, self._ctx, drafts)
        else:
            async with write_transaction(self._engine) as conn:
                await service.lock_connection(conn)
                appended = await service.append_on(conn, self._ctx, drafts)
        results, start = [], 0
        for own in group:
            end = start + len(own)
            results.append(dataclasses.replace(appended, entries=appended.entries[start:end]))
            start = end
        return results

    async def close(self) -> None:
        """Wait for the appends already handed over, then close the connection."""
        await self._batcher.close()
        if self._sqlite is not None:
            await self._sqlite.close()
