"""Database plumbing: the declarative base, the engine factory and transaction helpers.

SQLite (the embedded default) runs in WAL mode with foreign keys on and a busy timeout; we
issue ``BEGIN`` ourselves so that a writing unit of work can start with ``BEGIN IMMEDIATE``
(see :func:`begin_write`) and never fail half-way on a lock upgrade.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiosqlite
import uuid_utils
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import MetaData, event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.util import await_only

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

_BEGIN_OPTION = "workforce_begin"

WRITE_OPTIONS: dict[str, Any] = {_BEGIN_OPTION: "IMMEDIATE"}
"""Execution options of a connection whose transactions write (``BEGIN IMMEDIATE`` on SQLite)."""


class Base(DeclarativeBase):
    """Declarative base of every model; one metadata with a naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTimeUTC(timezone=True)}  # noqa: RUF012


def new_id() -> uuid.UUID:
    """A time-ordered UUIDv7: unguessable, yet clustered in indexes and sortable for cursors."""
    return uuid.UUID(int=uuid_utils.uuid7().int)


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class IdMixin:
    """A UUIDv7 primary key."""

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    """Primary key (UUIDv7)."""


class CreatedMixin:
    """Creation timestamp."""

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    """When the row was written (UTC)."""


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # We emit BEGIN ourselves (see _sqlite_on_begin); pysqlite's implicit transactions off.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_on_begin(conn: Any) -> None:
    mode = conn.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
    driver = conn.connection.driver_connection
    if isinstance(driver, aiosqlite.Connection):
        # One trip to aiosqlite's thread; a DBAPI cursor (create, execute, close) takes three.
        await_only(driver.execute(f"BEGIN {mode}"))
    else:
        conn.exec_driver_sql(f"BEGIN {mode}")


def _sqlite_on_reset(dbapi_connection: Any, _record: Any, _state: Any) -> None:
    """Roll back a connection returned to the pool only if it is inside a transaction.

    SQLAlchemy commits or rolls back every transaction it began; the pool's unconditional
    rollback would be one more trip to aiosqlite's thread per checkout. ``in_transaction`` reads
    SQLite's autocommit flag (no statement is run).
    """
    driver = getattr(dbapi_connection, "driver_connection", dbapi_connection)
    if getattr(driver, "in_transaction", True):
        dbapi_connection.rollback()


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Create the async engine, with the SQLite pragmas and transaction handling when needed."""
    if url.startswith("sqlite"):
        kwargs.setdefault("pool_reset_on_return", None)  # see _sqlite_on_reset
        # check_same_thread=False: short ledger work runs on the event loop's thread between
        # statements on aiosqlite's (``ledger.store.SqliteWorker.run_here``).
        connect_args = {"timeout": 30, "check_same_thread": False}
        engine = create_async_engine(url, connect_args=connect_args, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
        event.listen(engine.sync_engine, "reset", _sqlite_on_reset)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


async def begin_write(session: AsyncSession) -> None:
    """Start the session's transaction as a writer.

    On SQLite this is ``BEGIN IMMEDIATE``: the write lock is taken up front (waiting up to the
    busy timeout), so a unit of work that reads and then writes cannot fail on a lock upgrade.
    On PostgreSQL it is a plain ``BEGIN``.  A no-op when the transaction already started.
    """
    if session.in_transaction():
        return
    await session.connection(execution_options=WRITE_OPTIONS)


@contextlib.asynccontextmanager
async def write_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection of ``engine`` in a writing transaction, without an ORM session.

    On SQLite the transaction starts with ``BEGIN IMMEDIATE``; it commits when the block ends
    and rolls back if it raises.
    """
    async with engine.connect() as plain:
        conn = await plain.execution_options(**WRITE_OPTIONS)
        async with conn.begin():
            yield conn
