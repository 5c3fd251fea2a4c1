"""The fast path of ``ledger verify`` (``fastverify``) accepts exactly what the row-by-row path
accepts: the same report for untouched ledgers of every shape, and ``Fallback`` (so that the row-by-
row path names the problem) for every single-row tampering. Small chunks (2**k entries, k = 1..3)
exercise full chunks, partial ones, and subtrees that merge across chunks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import msgspec
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.ledger.test_store import seed
from tests.ledger.test_tamper import SIZE, TAMPERS, _unlock, seeded  # noqa: F401 - fixture
from workforce.context import AppContext
from workforce.db import make_engine
from workforce.ledger import fastverify, service, store
from workforce.ledger.cli import VerifyReport, verify_connection, verify_database
from workforce.ledger.entry import Corrects, Entry, parse_entry

pytestmark = pytest.mark.anyio


async def _fast(url: str, ctx: AppContext, k: int) -> tuple[int, int, int, bytes]:
    """Only the fast pass, on the driver's thread on SQLite and through SQLAlchemy elsewhere."""
    verifiers, origin = service.verifiers(ctx), ctx.settings.ledger_origin
    engine = make_engine(url)
    try:
        async with engine.connect() as conn, conn.begin():
            worker = store.sqlite_worker(conn)
            if worker is not None:
                return await worker.run(
                    lambda ledger: fastverify.verify_sync(ledger.db, verifiers, origin, k)
                )
            return await fastverify.verify_async(conn, verifiers, origin, k)
    finally:
        await engine.dispose()


async def _fast_through_sqlalchemy(
    url: str, ctx: AppContext, k: int
) -> tuple[int, int, int, bytes]:
    verifiers, origin = service.verifiers(ctx), ctx.settings.ledger_origin
    engine = make_engine(url)
    try:
        async with engine.connect() as conn, conn.begin():
            return await fastverify.verify_async(conn, verifiers, origin, k)
    finally:
        await engine.dispose()


async def _slow(url: str, ctx: AppContext) -> VerifyReport:
    return await verify_database(
        url, service.verifiers(ctx), ctx.settings.ledger_origin, fast=False
    )


def _fields(report: VerifyReport) -> tuple[int, int, int, bytes]:
    return report.entries, report.subtrees, report.checkpoints, report.root_hash


@pytest.mark.parametrize(
    ("count", "batch"), [(0, 1), (1, 1), (2, 2), (7, 3), (8, 1), (13, 2), (33, 5)]
)
async def test_fast_pass_gives_the_row_by_row_report(
    session: AsyncSession, ctx: AppContext, database_url: str, count: int, batch: int
) -> None:
    await seed(session, ctx, count, batch=batch)
    expected = _fields(await _slow(database_url, ctx))
    for k in (1, 2, 3, fastverify.K):
        assert await _fast(database_url, ctx, k) == expected
        assert await _fast_through_sqlalchemy(database_url, ctx, k) == expected
    assert (
        _fields(
            await verify_database(database_url, service.verifiers(ctx), ctx.settings.ledger_origin)
        )
        == expected
    )


async def test_a_correction_is_checked_one_leaf_at_a_time_in_the_fast_pass(
    session: AsyncSession, ctx: AppContext, database_url: str
) -> None:
    await seed(session, ctx, 5, batch=5)
    corrected = (await store.entries_between(session, 1, 2))[0]
    original = parse_entry(corrected.leaf)

    def build(seq: int, prev: str, ts: datetime) -> Entry:
        fields = {**msgspec.structs.asdict(original), "seq": seq, "prev": prev, "ts": ts}
        target = Corrects(seq=corrected.seq, leaf_hash=bytes(corrected.leaf_hash).hex())
        fields.update(type="correction", kind=None, until=None, corrects=target, effect="quashed")
        return Entry(**fields)

    await service.append(session, ctx, service.Draft(build=build))
    await session.commit()
    await seed(session, ctx, 4, batch=2, seed_value=8)
    expected = _fields(await _slow(database_url, ctx))
    assert expected[0] == 10
    for k in (1, 2, 3, fastverify.K):
        assert await _fast(database_url, ctx, k) == expected


@pytest.mark.parametrize("tamper", TAMPERS, ids=lambda f: f.__name__)
async def test_the_fast_pass_accepts_no_tampering(
    seeded: AsyncSession,  # noqa: F811 - the fixture
    ctx: AppContext,
    database_url: str,
    tamper: Callable[[AsyncSession], Awaitable[str]],
) -> None:
    await tamper(seeded)
    await seeded.commit()
    for k in (1, 2, 3, fastverify.K):
        with pytest.raises(fastverify.Fallback):
            await _fast(database_url, ctx, k)
        with pytest.raises(fastverify.Fallback):
            await _fast_through_sqlalchemy(database_url, ctx, k)


def test_layout_is_the_order_appends_complete_subtrees() -> None:
    for k in (1, 2, 3, 5):
        levels, rel, _, _ = fastverify._layout(k)
        chunk = 1 << k
        for index in (0, 1, 2, 5):  # chunk index: trailing 1-bits add merges above level k
            start = index * chunk
            first, last = store.stored_hash_count(start), store.stored_hash_count(start + chunk)
            labels = [(level, (start >> level) + r) for level, r in zip(levels, rel, strict=True)]
            merged = (index + 1 & ~index).bit_length() - 1  # trailing 1-bits of index
            labels += [(k + t, start + chunk - 1 >> (k + t)) for t in range(1, merged + 1)]
            assert [store.node_index(level, idx) for level, idx in labels] == list(
                range(first, last)
            )


def test_paused_gc_restores_the_collector() -> None:
    import gc

    assert gc.isenabled()
    with fastverify.paused_gc():
        assert not gc.isenabled()
    assert gc.isenabled()


async def test_row_by_row_still_names_what_the_fast_pass_refused(
    seeded: AsyncSession,  # noqa: F811 - the fixture
    ctx: AppContext,
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn, conn.begin():
            report = await verify_connection(
                conn, service.verifiers(ctx), ctx.settings.ledger_origin
            )
    finally:
        await engine.dispose()
    assert report.entries == SIZE


_: Any = _unlock
