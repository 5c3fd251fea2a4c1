"""The ledger writer: durable appends on a connection of its own, concurrent ones grouped."""

from __future__ import annotations

import asyncio
import random
from datetime import datetime

import msgspec
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tests.ledger.test_store import draft, seed
from workforce import synth
from workforce.context import AppContext
from workforce.db import make_engine
from workforce.ledger import service, store
from workforce.ledger.checkpoint import open_checkpoint
from workforce.ledger.cli import verify_database
from workforce.ledger.entry import Entry, EntryError
from workforce.ledger.merkle import leaf_hash, verify_inclusion
from workforce.ledger.writer import LedgerWriter
from workforce.settings import Settings

pytestmark = pytest.mark.anyio


@pytest.fixture
async def writer_engine(settings: Settings) -> AsyncEngine:
    engine = make_engine(settings.database_url)
    yield engine  # type: ignore[misc]
    await engine.dispose()


def _numbers(count: int, seed_value: int = 11) -> list[str]:
    rng = random.Random(seed_value)
    return [synth.random_id_number(rng, region_code="320102") for _ in range(count)]


async def _verified(settings: Settings, ctx: AppContext) -> int:
    report = await verify_database(
        settings.database_url, service.verifiers(ctx), ctx.settings.ledger_origin
    )
    return report.entries


async def _count(session: AsyncSession, model: type) -> int:
    return (await session.scalar(select(func.count()).select_from(model))) or 0


async def test_sequential_appends_are_committed_signed_and_provable(
    settings: Settings, ctx: AppContext, writer_engine: AsyncEngine, session: AsyncSession
) -> None:
    writer = LedgerWriter(ctx, writer_engine)
    results = [await writer.append(draft(ctx, number)) for number in _numbers(7)]
    await writer.close()
    assert [r.entries[0][0] for r in results] == list(range(7))
    assert [r.size for r in results] == list(range(1, 8))
    assert writer.batches == 7
    for result in results:
        checkpoint = open_checkpoint(
            result.note, service.verifiers(ctx), ctx.settings.ledger_origin
        )
        assert (checkpoint.size, checkpoint.root_hash) == (result.size, result.root_hash)
        seq, leaf, digest, entry = result.entries[0]
        assert entry.seq == seq and entry.type == "ban"
        assert digest == leaf_hash(leaf)
        proof = await service.inclusion_proof(session, seq, result.size)
        verify_inclusion(digest, seq, result.size, proof, result.root_hash)
    assert await _verified(settings, ctx) == 7
    # The private rows were written with the entries (a person's entries are found by key).
    key = service.subject_index(ctx, _numbers(7)[3])
    assert await store.subject_seqs(session, key) == [3]


async def test_concurrent_appends_share_transactions_and_checkpoints(
    settings: Settings, ctx: AppContext, writer_engine: AsyncEngine, session: AsyncSession
) -> None:
    writer = LedgerWriter(ctx, writer_engine)
    numbers = _numbers(60)
    groups = [numbers[i : i + 1 + i % 3] for i in range(0, 60, 3)]  # 1, 2 or 3 drafts each
    results = await asyncio.gather(
        *(writer.append(*[draft(ctx, n) for n in group]) for group in groups)
    )
    await writer.close()
    assert writer.batches < len(groups)  # grouped: fewer transactions than callers
    seqs = [seq for result in results for seq, *_ in result.entries]
    assert sorted(seqs) == list(range(len(seqs)))  # every entry once, no gap
    for group, result in zip(groups, results, strict=True):
        own = [seq for seq, *_ in result.entries]
        assert len(own) == len(group)
        assert own == list(range(own[0], own[0] + len(own)))  # a caller's entries are consecutive
        assert result.size > own[-1]  # its checkpoint covers them
        for seq, _, digest, _ in result.entries:
            proof = await service.inclusion_proof(session, seq, result.size)
            verify_inclusion(digest, seq, result.size, proof, result.root_hash)
    assert await _count(session, store.LedgerCheckpoint) == writer.batches
    assert await _verified(settings, ctx) == len(seqs)


async def test_a_bad_draft_fails_only_its_own_caller(
    settings: Settings, ctx: AppContext, writer_engine: AsyncEngine, session: AsyncSession
) -> None:
    good = draft(ctx, _numbers(1)[0])

    def broken(seq: int, prev: str, ts: datetime) -> Entry:
        entry = good.build(seq, prev, ts)
        return msgspec.structs.replace(entry, reason_code="Not A Code")  # breaks the schema

    bad = service.Draft(build=broken, subject_key=good.subject_key, openings=good.openings)
    writer = LedgerWriter(ctx, writer_engine)
    numbers = _numbers(9, seed_value=5)
    outcomes = await asyncio.gather(
        *(writer.append(draft(ctx, n)) for n in numbers[:4]),
        writer.append(bad),
        *(writer.append(draft(ctx, n)) for n in numbers[4:]),
        return_exceptions=True,
    )
    await writer.close()
    failed = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(failed) == 1 and isinstance(failed[0], EntryError)
    assert isinstance(outcomes[4], EntryError)
    assert writer.batches == 9  # the group failed as a whole, then each was appended alone
    assert await _verified(settings, ctx) == 9
    assert await _count(session, store.LedgerSubject) == 9 * 3  # nothing of the bad one kept


async def test_the_remembered_frontier_follows_other_writers(
    settings: Settings, ctx: AppContext, writer_engine: AsyncEngine, session: AsyncSession
) -> None:
    writer = LedgerWriter(ctx, writer_engine)
    numbers = _numbers(12, seed_value=3)
    await writer.append(draft(ctx, numbers[0]))
    await seed(session, ctx, 3, seed_value=99)  # another writer appends in between
    other = LedgerWriter(ctx, writer_engine)
    await other.append(draft(ctx, numbers[1]), draft(ctx, numbers[2]))
    result = await writer.append(draft(ctx, numbers[3]))
    assert result.entries[0][0] == 6 and result.size == 7
    await writer.close()
    await other.close()
    assert await _verified(settings, ctx) == 7


async def test_a_caller_that_goes_away_does_not_cancel_its_append(
    settings: Settings, ctx: AppContext, writer_engine: AsyncEngine
) -> None:
    writer = LedgerWriter(ctx, writer_engine)
    numbers = _numbers(5, seed_value=8)
    task = asyncio.ensure_future(writer.append(*[draft(ctx, n) for n in numbers]))
    await asyncio.sleep(0)
    task.cancel()
    await writer.close()  # waits for what was handed over
    assert await _verified(settings, ctx) == 5


async def test_appending_nothing_is_refused(ctx: AppContext, writer_engine: AsyncEngine) -> None:
    writer = LedgerWriter(ctx, writer_engine)
    with pytest.raises(ValueError, match="at least one entry"):
        await writer.append()
    await writer.close()
