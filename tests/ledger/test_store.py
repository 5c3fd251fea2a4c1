"""The ledger store: storage layout, insert-only triggers, and the seeding helper other tests use."""

from __future__ import annotations

import random
import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from workforce import synth
from workforce.context import AppContext
from workforce.db import make_engine
from workforce.ledger import service, store
from workforce.ledger.entry import Issuer
from workforce.ledger.merkle import subtrees_completed_by_append
from workforce.settings import Settings

pytestmark = pytest.mark.anyio

ISSUER = Issuer(org="seed-regulator", region="320000")


def draft(ctx: AppContext, number: str, reason: str = "child_abuse") -> service.Draft:
    """A lifetime ban of ``number`` (a valid ID number) with throwaway decision and case."""
    return service.ban_draft(
        ctx,
        number,
        kind="lifetime",
        until=None,
        reason_code=reason,
        issuer=ISSUER,
        decision=service.commitment("decision", "宁卫罚〔2026〕1号"),
        case=service.commitment("case", "(2026)苏0102刑初1号"),
    )


async def seed(
    session: AsyncSession, ctx: AppContext, count: int, *, batch: int = 1, seed_value: int = 7
) -> list[str]:
    """Append ``count`` bans (``batch`` per append and checkpoint), committed; their numbers."""
    rng = random.Random(seed_value)
    numbers = [synth.random_id_number(rng, region_code="320102") for _ in range(count)]
    for start in range(0, count, batch):
        drafts = [draft(ctx, number) for number in numbers[start : start + batch]]
        await service.append(session, ctx, *drafts)
        await session.commit()
    return numbers


def test_node_index_is_the_order_appends_complete_subtrees() -> None:
    order: list[tuple[int, int]] = []
    cache: dict[tuple[int, int], bytes] = {}
    for i in range(300):
        for level, idx, value in subtrees_completed_by_append(
            i, bytes(32), lambda level, idx: cache[(level, idx)]
        ):
            cache[(level, idx)] = value
            order.append((level, idx))
        assert len(order) == store.stored_hash_count(i + 1)
    assert [store.node_index(level, idx) for level, idx in order] == list(range(len(order)))


def test_store_exposes_inserts_and_selects_only() -> None:
    names = [name for name in dir(store) if not name.startswith("_")]
    assert not [n for n in names if n.startswith(("update", "delete", "remove", "erase"))]


@pytest.mark.parametrize(
    ("table", "column", "where"),
    [
        ("ledger_entries", "leaf", "seq = 0"),
        ("ledger_subtrees", "hash", "node = 0"),
        ("ledger_checkpoints", "note", "size = 1"),
    ],
)
async def test_triggers_refuse_update_and_delete(
    session: AsyncSession, ctx: AppContext, table: str, column: str, where: str
) -> None:
    await seed(session, ctx, 2)
    count = text(f"SELECT count(*) FROM {table}")  # noqa: S608 - identifiers from the parameters
    before = (await session.execute(count)).scalar_one()
    with pytest.raises((IntegrityError, DBAPIError)) as refused:
        await session.execute(text(f"UPDATE {table} SET {column} = {column} WHERE {where}"))  # noqa: S608
    assert "append-only" in str(refused.value)
    await session.rollback()
    with pytest.raises((IntegrityError, DBAPIError)) as refused:
        await session.execute(text(f"DELETE FROM {table} WHERE {where}"))  # noqa: S608
    assert "append-only" in str(refused.value)
    await session.rollback()
    after = (await session.execute(count)).scalar_one()
    assert after == before


async def test_primary_keys_refuse_a_second_checkpoint_of_one_size(
    session: AsyncSession, ctx: AppContext
) -> None:
    await seed(session, ctx, 1)
    row = await store.latest_checkpoint_row(session)
    assert row is not None
    with pytest.raises(IntegrityError):
        await store.insert_rows(
            await session.connection(),
            store.LedgerCheckpoint,
            [
                {
                    "size": row.size,
                    "prev_size": None,
                    "root_hash": bytes(32),
                    "note": row.note,
                    "created_at": row.created_at,
                }
            ],
        )
    await session.rollback()


async def test_subtree_rows_are_about_two_per_entry(session: AsyncSession, ctx: AppContext) -> None:
    await seed(session, ctx, 37, batch=5)
    count = (await session.execute(text("SELECT count(*) FROM ledger_subtrees"))).scalar_one()
    assert count == store.stored_hash_count(37) == 2 * 37 - bin(37).count("1")
    checkpoints = (
        (await session.execute(text("SELECT size FROM ledger_checkpoints ORDER BY size")))
        .scalars()
        .all()
    )
    assert checkpoints == [5, 10, 15, 20, 25, 30, 35, 37]


@pytest.mark.parametrize("same_thread_only", [False, True])
async def test_short_work_runs_on_the_calling_thread_when_the_connection_allows(
    settings: Settings, same_thread_only: bool
) -> None:
    """``run_here``: on the event loop's thread with the engine's connections, on aiosqlite's
    thread (same result) with a connection tied to it."""
    url = settings.database_url
    if not url.startswith("sqlite"):
        pytest.skip("aiosqlite's thread is SQLite's")
    engine = (
        create_async_engine(url, connect_args={"check_same_thread": True})
        if same_thread_only
        else make_engine(url)
    )
    async with engine.connect() as conn:
        worker = store.sqlite_worker(conn)
        assert worker is not None

        def where(ledger: store.SyncLedger) -> tuple[int, int]:
            return threading.get_ident(), ledger.db.execute("SELECT 41 + 1").fetchone()[0]

        thread, value = await worker.run_here(where)
    await engine.dispose()
    assert value == 42
    assert (thread == threading.get_ident()) is not same_thread_only
