"""The admission gate's hot path: one snapshot read without the ORM, group-committed writes.

``POST /api/v1/admission-checks`` is the request institutions make most, and each answer must be
read from one consistent state of the registry and stored before it is returned.  Through the
ORM a check cost seven statements, each paying the session, the greenlet bridge and (on SQLite)
a hand-off to aiosqlite's thread, which is far more than the database work they did.  This
module does the same work with two tools:

* :class:`SqliteReader` / :class:`PostgresReader` read every fact a decision needs in one
  snapshot, straight from the driver: the latest signed ledger checkpoint, the person (by keyed
  hash), the ledger entries about the ID number, whether the person has any credit event, and
  their certificates.  SQLite point reads take tens of microseconds, so they run on the event
  loop's thread inside one read transaction (WAL: readers never wait for the writer); the
  PostgreSQL reader sends one statement through its own small ``asyncpg`` pool.
* :class:`GroupCommit` stores the rows of every check waiting at that moment (the insert-only
  check row and its access-log row) in one write transaction, and only then lets each request
  answer: the same guarantee as a commit per request (nothing is answered that is not kept), with
  one commit per batch instead of one per check.

The decision itself is made by the same pure functions as the ORM path
(:func:`workforce.hiring.admission.decide`, the ledger's ``fold_status``, the credit grading,
``cert_status``); ``tests/api/test_admission_fast_path.py`` checks that both paths agree.  A
person with credit events is evaluated by the ORM path (their grade needs the events' appeal
steps and corrections); everyone else, the great majority, takes this one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sqlite3
import uuid
from datetime import date
from typing import TYPE_CHECKING, Any, Final

import msgspec
from sqlalchemy import insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker

from workforce.audit.models import AccessLog
from workforce.db import new_id, write_transaction
from workforce.groupcommit import Batcher
from workforce.hiring.models import AdmissionCheck
from workforce.sqlitewrite import SqliteWriter, encode_rows

if TYPE_CHECKING:
    from sqlalchemy import Table
    from sqlalchemy.ext.asyncio import AsyncEngine

    from workforce.settings import Settings

__all__ = [
    "AdmissionGate",
    "CertFacts",
    "Facts",
    "GroupCommit",
    "PostgresReader",
    "SqliteReader",
]

log = logging.getLogger(__name__)

MAX_BATCH: Final = 256
"""At most this many checks are stored in one transaction."""


class CertFacts(msgspec.Struct, frozen=True, array_like=True):
    """What a decision needs of one certificate (decoded from a JSON array of the row)."""

    cert_type: str
    level: str | None
    revoked: bool
    suspended: bool
    valid_until: date | None


@dataclasses.dataclass(frozen=True, slots=True)
class Facts:
    """Everything an admission decision reads, from one snapshot."""

    checkpoint_size: int
    checkpoint_root: bytes | None
    """None before the first ledger entry (the empty tree)."""
    checkpoint_note: str | None
    person_id: uuid.UUID | None
    leaves: tuple[bytes, ...]
    """The ledger entries about the ID number, in order."""
    has_credit_events: bool
    certificates: tuple[CertFacts, ...]


# --------------------------------------------------------------------------- SQLite

_SQLITE_FACTS: Final = """
SELECT cp.size, cp.root_hash, cp.note, p.id,
  EXISTS (SELECT 1 FROM ledger_subjects s WHERE s.subject_key = ?2 AND s.field = 'subject'),
  p.id IS NOT NULL AND EXISTS (SELECT 1 FROM credit_events ce WHERE ce.practitioner_id = p.id),
  (SELECT json_group_array(json_array(
     c.cert_type, c.level, c.revoked_at IS NOT NULL, c.suspended_at IS NOT NULL, c.valid_until))
   FROM (SELECT * FROM certificates WHERE practitioner_id = p.id ORDER BY id) AS c)
FROM (SELECT 1) AS one
LEFT JOIN (
  SELECT size, root_hash, note FROM ledger_checkpoints ORDER BY size DESC LIMIT 1
) AS cp
LEFT JOIN practitioners p ON p.subject_key = ?1
"""
_SQLITE_LEAVES: Final = (
    "SELECT e.leaf FROM ledger_subjects s JOIN ledger_entries e ON e.seq = s.seq"
    " WHERE s.subject_key = ? AND s.field = 'subject' ORDER BY s.seq"
)
_decode_certs: Final = msgspec.json.Decoder(tuple[CertFacts, ...], strict=False)
"""Both dialects' certificate arrays (lax: SQLite writes the two flags as 0 and 1)."""


class SqliteReader:
    """Snapshot reads on the embedded database, on the event loop's thread.

    One connection per reader (one reader per server process), ``query_only``: it cannot write
    even by mistake.  One statement (one snapshot) reads the checkpoint, the person, whether any
    ledger entry names the ID number, whether the person has credit events, and their
    certificates.  Only when a ledger entry exists (rare) is the statement repeated, with a
    second one fetching the entries, inside one read transaction.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA query_only=ON")
            conn.execute("PRAGMA busy_timeout=5000")
            self._conn = conn
        return self._conn

    async def read(self, subject_key: bytes, ledger_key: bytes) -> Facts:
        """The facts about one person (see :class:`Facts`)."""
        conn = self._connection()
        keys = (subject_key, ledger_key)
        # One statement is one snapshot: the common case needs nothing more.
        row = conn.execute(_SQLITE_FACTS, keys).fetchone()
        leaves: tuple[bytes, ...] = ()
        if row[4]:  # a ledger entry names the ID number: read again, with the entries,
            conn.execute("BEGIN")  # in one read transaction (one snapshot for both statements)
            try:
                row = conn.execute(_SQLITE_FACTS, keys).fetchone()
                leaves = tuple(bytes(r[0]) for r in conn.execute(_SQLITE_LEAVES, (ledger_key,)))
            finally:
                conn.execute("COMMIT")
        size, root, note, person, _named, has_credit, certs = row
        return Facts(
            checkpoint_size=0 if size is None else int(size),
            checkpoint_root=None if root is None else bytes(root),
            checkpoint_note=note,
            person_id=None if person is None else uuid.UUID(hex=person),
            leaves=leaves,
            has_credit_events=bool(has_credit),
            certificates=() if person is None else _decode_certs.decode(certs),
        )

    async def close(self) -> None:
        """Close the connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None


# --------------------------------------------------------------------------- PostgreSQL

_PG_FACTS: Final = """
SELECT cp.size, cp.root_hash, cp.note, p.id,
  ARRAY(
    SELECT e.leaf FROM ledger_subjects s JOIN ledger_entries e ON e.seq = s.seq
    WHERE s.subject_key = $2 AND s.field = 'subject' ORDER BY s.seq
  ) AS leaves,
  p.id IS NOT NULL AND EXISTS (SELECT 1 FROM credit_events ce WHERE ce.practitioner_id = p.id)
    AS has_credit,
  COALESCE((
    SELECT json_agg(json_build_array(
      c.cert_type, c.level, c.revoked_at IS NOT NULL, c.suspended_at IS NOT NULL, c.valid_until
    ) ORDER BY c.id)
    FROM certificates c WHERE c.practitioner_id = p.id
  ), '[]') AS certs
FROM (SELECT 1) AS one
LEFT JOIN LATERAL (
  SELECT size, root_hash, note FROM ledger_checkpoints ORDER BY size DESC LIMIT 1
) AS cp ON true
LEFT JOIN practitioners p ON p.subject_key = $1
"""


class _PgSlot:
    """One connection of the reader with the facts statement prepared on it."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self.conn: Any = None
        self.statement: Any = None

    async def ready(self) -> Any:
        if self.conn is None or self.conn.is_closed():
            import asyncpg  # type: ignore[import-untyped]  # noqa: PLC0415 - PostgreSQL only

            self.conn = await asyncpg.connect(self._dsn)
            self.statement = await self.conn.prepare(_PG_FACTS)
        return self.statement

    async def close(self, *, graceful: bool) -> None:
        if self.conn is not None and not self.conn.is_closed():
            if graceful:
                await self.conn.close()
            else:
                self.conn.terminate()
        self.conn = self.statement = None


class PostgresReader:
    """One prepared statement (one snapshot, one round trip) per read, on a few connections.

    Each connection keeps the facts statement prepared, and a read borrows a free connection
    from a queue: a third of the client CPU of ``asyncpg``'s pool (whose release also sends a
    reset query), and the statement is never parsed again.  A connection found closed is opened
    and prepared again on its next use; one that fails during a read is closed (the request
    fails) and replaced the same way.  Connections belong to the event loop that opened them; a
    server process has one loop, tests may drive the same application from several.
    """

    def __init__(self, dsn: str, *, size: int = 4) -> None:
        self._dsn = dsn
        self._size = size
        self._free: dict[asyncio.AbstractEventLoop, asyncio.Queue[_PgSlot]] = {}
        self._slots: dict[asyncio.AbstractEventLoop, list[_PgSlot]] = {}

    def _queue(self) -> asyncio.Queue[_PgSlot]:
        loop = asyncio.get_running_loop()
        free = self._free.get(loop)
        if free is None:
            slots = [_PgSlot(self._dsn) for _ in range(self._size)]
            free = asyncio.Queue()
            for slot in slots:
                free.put_nowait(slot)
            self._free[loop], self._slots[loop] = free, slots
        return free

    async def read(self, subject_key: bytes, ledger_key: bytes) -> Facts:
        """The facts about one person (see :class:`Facts`)."""
        free = self._queue()
        slot = await free.get()
        try:
            statement = await slot.ready()
            row = await statement.fetchrow(subject_key, ledger_key)
        except BaseException:
            await slot.close(graceful=False)  # opened and prepared again on its next use
            raise
        finally:
            free.put_nowait(slot)
        person_id = None if row["id"] is None else uuid.UUID(bytes=row["id"].bytes)
        return Facts(
            checkpoint_size=0 if row["size"] is None else int(row["size"]),
            checkpoint_root=None if row["root_hash"] is None else bytes(row["root_hash"]),
            checkpoint_note=row["note"],
            person_id=person_id,
            leaves=tuple(bytes(leaf) for leaf in row["leaves"]),
            has_credit_events=bool(row["has_credit"]),
            certificates=_decode_certs.decode(row["certs"]),
        )

    async def close(self) -> None:
        """Close this loop's connections; terminate those of loops that are gone."""
        loop = asyncio.get_running_loop()
        slots, self._slots, self._free = self._slots, {}, {}
        for owner, owned in slots.items():
            for slot in owned:
                await slot.close(graceful=owner is loop)


Reader = SqliteReader | PostgresReader


# --------------------------------------------------------------------------- writes


Rows = tuple[dict[str, Any], dict[str, Any]]
"""An admission check's row and its access-log row."""


def _refused_by_constraint(error: Exception) -> bool:
    return isinstance(error, IntegrityError | sqlite3.IntegrityError)


def _not_kept(_error: Exception) -> BaseException:
    return RuntimeError("the admission check could not be stored; nothing was kept")


class GroupCommit:
    """Store the rows of concurrent checks together: one write transaction per batch.

    :meth:`store` returns once the transaction holding its rows has committed, and raises if
    that transaction failed (nothing of the failed batch is kept); see
    :class:`workforce.groupcommit.Batcher`.  A batch refused by a constraint is retried row by
    row, so one bad row fails only its own request.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        max_batch: int = MAX_BATCH,
        sqlite_path: str | None = None,
    ) -> None:
        self._engine = engine
        self._sqlite = SqliteWriter(sqlite_path) if sqlite_path else None
        self._tables: tuple[Table, Table] = (AdmissionCheck.__table__, AccessLog.__table__)  # type: ignore[assignment]
        self._batcher: Batcher[Rows, None] = Batcher(
            self._write, max_batch=max_batch, alone=_refused_by_constraint, failure=_not_kept
        )

    @property
    def batches(self) -> int:
        """How many write transactions were committed (for tests and figures)."""
        return self._batcher.batches

    async def store(self, check: dict[str, Any], access: dict[str, Any]) -> None:
        """Write one check row and its access-log row; return once they are committed."""
        access = {"id": new_id(), "created_at": check["created_at"], **access}
        await self._batcher.submit((check, access))

    async def _write(self, batch: list[Rows]) -> list[None]:
        checks, access = self._tables
        check_rows, access_rows = [rows[0] for rows in batch], [rows[1] for rows in batch]
        if self._sqlite is not None:
            dialect = self._engine.dialect
            encoded = [
                encode_rows(dialect, checks.name, check_rows),
                encode_rows(dialect, access.name, access_rows),
            ]
            async with self._sqlite.transaction() as db:
                for sql, params in encoded:
                    db.executemany(sql, params)
        else:
            async with write_transaction(self._engine) as conn:
                await conn.execute(insert(checks), check_rows)
                await conn.execute(insert(access), access_rows)
        return [None] * len(batch)

    async def close(self) -> None:
        """Wait for the rows already handed over to be written."""
        await self._batcher.close()
        if self._sqlite is not None:
            await self._sqlite.close()


# --------------------------------------------------------------------------- the gate


class AdmissionGate:
    """The reader and the group commit of one server process (created in ``create_app``)."""

    def __init__(
        self, reader: Reader | None, engine: AsyncEngine, *, sqlite_path: str | None = None
    ) -> None:
        self.reader = reader
        """None when the database cannot be read directly (in-memory SQLite): use the ORM path."""
        self.writer = GroupCommit(engine, sqlite_path=sqlite_path)
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        """Sessions for the checks the hot path hands to the ORM path."""

    @classmethod
    def for_settings(cls, settings: Settings, engine: AsyncEngine) -> AdmissionGate:
        """The gate for the configured database."""
        url = make_url(settings.effective_database_url)
        reader: Reader | None = None
        path: str | None = None
        if url.get_backend_name() == "sqlite":
            if url.database and url.database != ":memory:":
                path = url.database
                reader = SqliteReader(path)
        elif url.get_backend_name() == "postgresql":
            dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
            reader = PostgresReader(dsn)
        return cls(reader, engine, sqlite_path=path)

    async def close(self) -> None:
        """Finish pending writes, then close the reader."""
        await self.writer.close()
        if self.reader is not None:
            await self.reader.close()
