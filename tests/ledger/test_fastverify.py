"""The fast path of ``ledger verify`` (``fastverify``, and its chunks spread over processes,
``parallel``) accepts exactly what the row-by-row path accepts: the same report for untouched
ledgers of every shape, and ``Fallback`` (so that the row-by-row path names the problem) for every
single-row tampering. Small chunks (2**k entries, k = 1..3) exercise full chunks, partial ones,
subtrees that merge across chunks and checkpoints inside and on the edges of chunks."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import msgspec
import pytest
from click.testing import CliRunner
from sqlalchemy.ext.asyncio import AsyncSession

from tests.ledger.test_store import seed
from tests.ledger.test_tamper import (  # noqa: F401 - seeded: the fixture
    SIZE,
    TAMPERS,
    _cli_env,
    _unlock,
    seeded,
)
from workforce.context import AppContext
from workforce.db import make_engine
from workforce.ledger import fastverify, parallel, service, store
from workforce.ledger.cli import (
    LedgerMismatch,
    VerifyReport,
    ledger,
    verify_connection,
    verify_database,
    verify_fast,
)
from workforce.ledger.entry import Corrects, Entry, parse_entry
from workforce.settings import Settings

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


async def _parallel(url: str, ctx: AppContext, k: int, jobs: int) -> tuple[int, int, int, bytes]:
    """Only the pass spread over ``jobs`` worker processes (SQLite; fails elsewhere)."""
    verifiers, origin = service.verifiers(ctx), ctx.settings.ledger_origin
    engine = make_engine(url)
    try:
        async with engine.connect() as conn, conn.begin():
            worker = store.sqlite_worker(conn)
            assert worker is not None
            return await worker.run(
                lambda ledger: parallel.verify_parallel(ledger.db, verifiers, origin, jobs, k)
            )
    finally:
        await engine.dispose()


async def _verify_fast(url: str, ctx: AppContext, k: int, jobs: int) -> VerifyReport:
    """What ``ledger verify --jobs N`` runs (the fast pass, row by row if it refuses)."""
    verifiers, origin = service.verifiers(ctx), ctx.settings.ledger_origin
    engine = make_engine(url)
    try:
        async with engine.connect() as conn, conn.begin():
            return await verify_fast(conn, verifiers, origin, jobs, k)
    finally:
        await engine.dispose()


def _sqlite(url: str) -> bool:
    return url.startswith("sqlite")


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
        if _sqlite(database_url):
            assert await _parallel(database_url, ctx, k, 2) == expected


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


@pytest.mark.parametrize("batch", [1, 3])
async def test_parallel_pass_gives_the_row_by_row_report_for_every_size(
    session: AsyncSession, ctx: AppContext, database_url: str, batch: int
) -> None:
    """Sizes 0..33 (one append and checkpoint per entry, or per three), chunks of 2, 4 and 8
    entries, 1, 2 and 3 worker processes: the same report as row by row, every time."""
    size = 0
    while True:
        expected = _fields(await _slow(database_url, ctx))
        assert expected[0] == size
        for k in (1, 2, 3):
            for jobs in (1, 2, 3):
                assert _fields(await _verify_fast(database_url, ctx, k, jobs)) == expected
                if _sqlite(database_url):  # the processes themselves, no fallback
                    assert await _parallel(database_url, ctx, k, jobs) == expected
        if size >= 33:
            break
        step = min(batch, 33 - size)
        await seed(session, ctx, step, batch=step, seed_value=size)
        size += step


@pytest.mark.parametrize("tamper", TAMPERS, ids=lambda f: f.__name__)
async def test_tampering_is_named_as_row_by_row_with_two_jobs(
    seeded: AsyncSession,  # noqa: F811 - the fixture
    ctx: AppContext,
    database_url: str,
    tamper: Callable[[AsyncSession], Awaitable[str]],
) -> None:
    expected = await tamper(seeded)
    await seeded.commit()
    for k in (1, 2, 3, fastverify.K):
        if _sqlite(database_url):
            with pytest.raises(fastverify.Fallback):
                await _parallel(database_url, ctx, k, 2)
        with pytest.raises(LedgerMismatch) as failed:
            await _verify_fast(database_url, ctx, k, 2)
        assert expected in str(failed.value), str(failed.value)
    with pytest.raises(LedgerMismatch) as failed:
        await verify_database(
            database_url, service.verifiers(ctx), ctx.settings.ledger_origin, jobs=2
        )
    assert expected in str(failed.value), str(failed.value)


async def test_workers_read_the_tree_of_the_parents_snapshot(
    session: AsyncSession, ctx: AppContext, database_url: str
) -> None:
    """Entries appended after the parent fixed the tree size are not read by any worker."""
    if not _sqlite(database_url):
        pytest.skip("worker processes verify SQLite only")
    await seed(session, ctx, 11, batch=2)
    expected = _fields(await _slow(database_url, ctx))
    verifiers, origin = service.verifiers(ctx), ctx.settings.ledger_origin
    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn, conn.begin():
            worker = store.sqlite_worker(conn)
            assert worker is not None
            await worker.run(lambda ledger: ledger.db.execute(parallel.SIZE_SQL).fetchall())
            await seed(session, ctx, 6, batch=3, seed_value=9)  # after the snapshot began
            fields = await worker.run(
                lambda ledger: parallel.verify_parallel(ledger.db, verifiers, origin, 2, 1)
            )
    finally:
        await engine.dispose()
    assert fields == expected
    assert _fields(await _slow(database_url, ctx))[0] == 17


def test_workers_need_a_database_file(ctx: AppContext) -> None:
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.execute("CREATE TABLE ledger_entries (seq INTEGER PRIMARY KEY)")
    db.execute(
        "CREATE TABLE ledger_checkpoints (size INTEGER PRIMARY KEY, prev_size, "
        "root_hash, note, created_at)"
    )
    db.execute("INSERT INTO ledger_entries VALUES (0)")
    with pytest.raises(parallel.Unavailable):
        parallel.verify_parallel(db, service.verifiers(ctx), ctx.settings.ledger_origin, 2, 1)


def test_default_jobs_is_one_per_cpu() -> None:
    assert 1 <= parallel.default_jobs() <= (os.cpu_count() or 1)


_: Any = _unlock


async def test_cli_takes_jobs(session: AsyncSession, ctx: AppContext, settings: Settings) -> None:
    await seed(session, ctx, 7, batch=2)
    runner = CliRunner()
    for jobs in ("1", "2"):
        ok = await asyncio.to_thread(
            runner.invoke, ledger, ["verify", "--jobs", jobs], env=_cli_env(settings)
        )
        assert ok.exit_code == 0, ok.output
        assert "ok: 7 entries" in ok.output
    bad = await asyncio.to_thread(
        runner.invoke, ledger, ["verify", "--jobs", "0"], env=_cli_env(settings)
    )
    assert bad.exit_code == 2


# --- the compiled hashes and the subtrees read in SQL ------------------------------------------

try:
    from workforce.ledger import _merklehash
except ImportError:  # built without a compiler or libcrypto: fastverify uses hashlib
    _merklehash = None  # type: ignore[assignment]

needs_merklehash = pytest.mark.skipif(
    _merklehash is None,
    reason="workforce.ledger._merklehash is not built (no C compiler or libcrypto at install?)",
)


@needs_merklehash
@pytest.mark.parametrize("count", [0, 1, 2, 3, 5, 8, 13, 64, 100])
def test_compiled_hashes_are_hashlibs(count: int) -> None:
    leaves = [bytes(range(i % 7)) * (i % 50) for i in range(count)]
    digests = fastverify._leaf_hashes(leaves)
    assert _merklehash.leaf_hashes(leaves) == digests
    assert _merklehash.leaf_hashes(tuple(leaves)) == digests
    assert _merklehash.levels(digests) == fastverify._merkle_levels(digests)
    assert fastverify.merkle_levels is _merklehash.levels  # type: ignore[attr-defined]


@needs_merklehash
def test_compiled_hashes_refuse_what_is_not_bytes_or_a_hash() -> None:
    with pytest.raises(TypeError):
        _merklehash.leaf_hashes([b"a", "b"])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        _merklehash.levels((bytes(32), bytes(32)))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="32 bytes"):
        _merklehash.levels([bytes(32), bytes(31)])
    with pytest.raises(ValueError, match="32 bytes"):
        _merklehash.levels([bytes(32), "x" * 32])  # type: ignore[list-item]


_SUBTREES_DDL = (
    "CREATE TABLE ledger_subtrees (node INTEGER NOT NULL PRIMARY KEY, level SMALLINT NOT NULL, "
    "idx BIGINT NOT NULL, hash BLOB NOT NULL)"
)


def _stored_chunk(
    k: int, chunk_index: int
) -> tuple[sqlite3.Connection, list[list[bytes]], int, int]:
    """A database holding the stored subtrees of one aligned chunk as appends store them; its
    levels, start and first node. Leaf hashes are ASCII or zeros (a text copy has their bytes;
    NUL bytes must survive the concatenation)."""
    digests = [bytes(32) if i % 3 == 0 else bytes([65 + i % 26]) * 32 for i in range(1 << k)]
    levels = fastverify._merkle_levels(digests)
    start = chunk_index << k
    lo = store.stored_hash_count(start)
    layout_levels, layout_rel, _, _ = fastverify._layout(k)
    db = sqlite3.connect(":memory:", isolation_level=None)
    db.execute(_SUBTREES_DDL)
    db.executemany(
        "INSERT INTO ledger_subtrees VALUES (?, ?, ?, ?)",
        [
            (lo + off, level, (start >> level) + rel, levels[level][rel])
            for off, (level, rel) in enumerate(zip(layout_levels, layout_rel, strict=True))
        ],
    )
    return db, levels, start, lo


def _nodes(k: int) -> int:
    return len(fastverify._layout(k)[0])


def test_subtrees_read_in_sql_accept_the_stored_layout() -> None:
    for k in (1, 2, 3, 5):
        db, levels, start, lo = _stored_chunk(k, 2)
        read = fastverify.read_subtrees(db, k, start, lo, _nodes(k))
        assert isinstance(read, fastverify.OwnSubtrees)
        assert read.matched == _nodes(k)
        assert b"\0" * 32 in read.hashes
        assert fastverify.own_subtrees(k, start, levels, read, _nodes(k)) == []
        rows = db.execute(fastverify.SUBTREES_SQL, {"lo": lo, "hi": lo + _nodes(k)})
        assert fastverify.own_subtrees(k, start, levels, rows.fetchall(), _nodes(k)) == []


SUBTREE_EDITS = {
    "level_as_blob": "UPDATE ledger_subtrees SET level = CAST(CAST(level AS TEXT) AS BLOB) WHERE node = :n",
    "level_as_text": "UPDATE ledger_subtrees SET level = 'x' || level WHERE node = :n",
    "level_as_real": "UPDATE ledger_subtrees SET level = level + 0.5 WHERE node = :n",
    "level_plus_one": "UPDATE ledger_subtrees SET level = level + 1 WHERE node = :n",
    "idx_as_blob": "UPDATE ledger_subtrees SET idx = CAST(CAST(idx AS TEXT) AS BLOB) WHERE node = :n",
    "idx_plus_one": "UPDATE ledger_subtrees SET idx = idx + 1 WHERE node = :n",
    "hash_as_text": "UPDATE ledger_subtrees SET hash = CAST(hash AS TEXT) WHERE node = :n",
    "hash_zeroed": "UPDATE ledger_subtrees SET hash = zeroblob(32) WHERE node = :n AND hash != zeroblob(32)",
    "hash_one_byte_longer": "UPDATE ledger_subtrees SET hash = CAST(hash || x'00' AS BLOB) WHERE node = :n",
    "hash_split_with_next": (  # 33 + 31 bytes: the concatenation is unchanged
        "UPDATE ledger_subtrees SET hash = CASE node WHEN :n THEN CAST(hash || "
        "(SELECT substr(hash, 1, 1) FROM ledger_subtrees WHERE node = :n + 1) AS BLOB) "
        "ELSE substr(hash, 2) END WHERE node IN (:n, :n + 1)"
    ),
    "hash_swapped_with_next": (
        "UPDATE ledger_subtrees SET hash = CASE node WHEN :n THEN "
        "(SELECT hash FROM ledger_subtrees WHERE node = :n + 1) "
        "ELSE (SELECT hash FROM ledger_subtrees WHERE node = :n) END WHERE node IN (:n, :n + 1)"
    ),
    "deleted": "DELETE FROM ledger_subtrees WHERE node = :n",
}


@pytest.mark.parametrize("edit", SUBTREE_EDITS)
def test_subtrees_read_in_sql_refuse_every_edit_of_a_row(edit: str) -> None:
    """Each edit of each row: refused by the check in SQL as by the rows' comparison."""
    k = 3
    for offset in range(_nodes(k) - 1):
        db, levels, start, lo = _stored_chunk(k, 2)
        if db.execute(SUBTREE_EDITS[edit], {"n": lo + offset}).rowcount == 0:
            continue  # e.g. a hash already zero
        read = fastverify.read_subtrees(db, k, start, lo, _nodes(k))
        assert isinstance(read, fastverify.OwnSubtrees)
        with pytest.raises(fastverify.Fallback):
            fastverify.own_subtrees(k, start, levels, read, _nodes(k))
        try:  # the rows, as the drivers read them: a text hash as str
            rows = db.execute(fastverify.SUBTREES_SQL, {"lo": lo, "hi": lo + _nodes(k)}).fetchall()
        except sqlite3.OperationalError:  # a text hash that is not UTF-8: no rows at all
            assert edit == "hash_as_text"
            continue
        with pytest.raises(fastverify.Fallback):
            fastverify.own_subtrees(k, start, levels, rows, _nodes(k))


def test_subtrees_are_read_as_rows_where_no_temp_table_can_be_made() -> None:
    k = 2
    db, levels, start, lo = _stored_chunk(k, 1)
    db.execute("PRAGMA query_only=ON")
    read = fastverify.read_subtrees(db, k, start, lo, _nodes(k))
    assert not isinstance(read, fastverify.OwnSubtrees)
    assert fastverify.own_subtrees(k, start, levels, read, _nodes(k)) == []
    db.execute("PRAGMA query_only=OFF")
    db.execute("UPDATE ledger_subtrees SET idx = idx + 1 WHERE node = :n", {"n": lo})
    db.execute("PRAGMA query_only=ON")
    with pytest.raises(fastverify.Fallback):
        fastverify.own_subtrees(
            k, start, levels, fastverify.read_subtrees(db, k, start, lo, _nodes(k)), _nodes(k)
        )
