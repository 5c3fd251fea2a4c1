"""The ledger service: the write path, proofs from stored subtrees, checkpoints and the status fold."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Factory
from tests.ledger.test_store import ISSUER, draft, seed
from workforce.context import AppContext
from workforce.errors import BadRequest, Invalid
from workforce.ledger import service, store
from workforce.ledger.checkpoint import open_checkpoint
from workforce.ledger.entry import GENESIS_PREV, parse_entry
from workforce.ledger.merkle import (
    consistency_proof,
    inclusion_path,
    mth,
    verify_consistency,
    verify_inclusion,
)
from workforce.ledger.note import Verifier
from workforce.ledger.schemas import BanCorrectionCreate, BanCreate
from workforce.settings import Settings

pytestmark = pytest.mark.anyio


async def _leaf_hashes(session: AsyncSession) -> list[bytes]:
    rows = await store.entries_between(session, 0, 10**6)
    return [bytes(row.leaf_hash) for row in rows]


async def test_append_chains_entries_and_signs_a_checkpoint(
    session: AsyncSession, ctx: AppContext
) -> None:
    await seed(session, ctx, 11, batch=3)
    rows = await store.entries_between(session, 0, 100)
    assert [row.seq for row in rows] == list(range(11))
    prev = GENESIS_PREV
    for row in rows:
        entry = parse_entry(bytes(row.leaf))
        assert entry.seq == row.seq
        assert entry.prev == prev
        assert hashlib.sha256(b"\x00" + bytes(row.leaf)).digest() == bytes(row.leaf_hash)
        assert row.created_at == entry.ts
        prev = bytes(row.leaf_hash).hex()
    latest = await service.latest_checkpoint(session, ctx)
    assert latest.size == 11
    checkpoint = open_checkpoint(
        latest.note or "", service.verifiers(ctx), ctx.settings.ledger_origin
    )
    assert checkpoint.root_hash == latest.root_hash == mth(await _leaf_hashes(session))


async def test_every_proof_matches_the_reference_recursion(
    session: AsyncSession, ctx: AppContext
) -> None:
    await seed(session, ctx, 21, batch=4)
    leaves = await _leaf_hashes(session)
    for size in range(1, 22):
        root = mth(leaves[:size])
        assert await service.root_at(session, size) == root
        for index in range(size):
            path = await service.inclusion_proof(session, index, size)
            assert path == inclusion_path(index, leaves[:size])
            verify_inclusion(leaves[index], index, size, path, root)
        for first in range(1, size + 1):
            proof = await service.consistency_proof(session, first, size)
            assert proof == consistency_proof(first, leaves[:size])
            verify_consistency(first, size, mth(leaves[:first]), root, proof)


async def test_proof_requests_out_of_range_are_refused(
    session: AsyncSession, ctx: AppContext
) -> None:
    await seed(session, ctx, 3)
    cases = [
        (service.inclusion_proof(session, 3, 3), "index_out_of_range"),
        (service.inclusion_proof(session, -1, 3), "index_out_of_range"),
        (service.inclusion_proof(session, 0, 4), "size_beyond_tree"),
        (service.inclusion_proof(session, 0, 10**40), "size_beyond_tree"),
        (service.consistency_proof(session, 0, 2), "invalid_range"),
        (service.consistency_proof(session, 3, 2), "invalid_range"),
        (service.consistency_proof(session, 1, 9), "size_beyond_tree"),
    ]
    for call, code in cases:
        with pytest.raises(BadRequest) as refused:
            await call
        assert refused.value.code == code


async def test_empty_ledger_has_a_signed_empty_checkpoint(
    session: AsyncSession, ctx: AppContext
) -> None:
    latest = await service.latest_checkpoint(session, ctx)
    assert latest.size == 0
    assert latest.root_hash == hashlib.sha256(b"").digest()
    checkpoint = open_checkpoint(
        latest.note or "", service.verifiers(ctx), ctx.settings.ledger_origin
    )
    assert checkpoint.size == 0
    unsigned = await service.latest_checkpoint(session)
    assert (unsigned.size, unsigned.root_hash, unsigned.note) == (0, latest.root_hash, None)


async def test_key_rotation_keeps_old_checkpoints_verifiable(
    session: AsyncSession, settings: Settings, tmp_path: Path
) -> None:
    own = AppContext.open(dataclasses.replace(settings, keys_dir=tmp_path / "rotating"))
    await seed(session, own, 1)
    first = await service.latest_checkpoint(session, own)
    own.keyring.rotate()
    await seed(session, own, 1, seed_value=8)
    second = await service.latest_checkpoint(session, own)
    assert (second.note or "").count("\u2014 ") == 2  # both newest keys sign during the overlap
    own.keyring.rotate()
    await seed(session, own, 1, seed_value=9)
    third = await service.latest_checkpoint(session, own)
    assert len(service.vkeys(own)) == 3
    verifiers = [Verifier.from_vkey(v) for v in service.vkeys(own)]
    for view in (first, second, third):
        assert open_checkpoint(view.note or "", verifiers).size == view.size
    oldest_only = verifiers[:1]
    open_checkpoint(second.note or "", oldest_only)  # a monitor that knew only the first key
    open_checkpoint(third.note or "", verifiers[1:2])  # …and follows the rotation


async def test_status_folds_bans_and_corrections(
    session: AsyncSession, ctx: AppContext, factory: Factory
) -> None:
    regulator = await factory.org("regulator", region="320000")
    actor = regulator.principal
    number = factory.id_number("320102")
    today = date.today()
    assert not (await service.subject_status(session, ctx, number)).banned
    await service.record_bans(
        session,
        ctx,
        actor,
        BanCreate(
            id_number=number,
            kind="fixed_term",
            until=today + timedelta(days=365),
            reason_code="violence",
            decision_ref="苏卫罚〔2026〕7号",
            related_case="(2026)苏01刑初7号",
        ),
    )
    await session.commit()
    status = await service.subject_status(session, ctx, number)
    assert (status.banned, status.kind, status.until) == (
        True,
        "fixed_term",
        today + timedelta(days=365),
    )
    later = await service.subject_status(session, ctx, number, today + timedelta(days=366))
    assert not later.banned
    amended = await service.correct_ban(
        session,
        ctx,
        actor,
        0,
        BanCorrectionCreate(effect="amended", decision_ref="(2026)苏01行终1号", kind="lifetime"),
    )
    await session.commit()
    assert amended.status.banned and amended.status.kind == "lifetime"
    assert (await service.subject_status(session, ctx, number, today + timedelta(days=3650))).banned
    quashed = await service.correct_ban(
        session,
        ctx,
        actor,
        0,
        BanCorrectionCreate(effect="quashed", decision_ref="(2027)最高法行再1号"),
    )
    await session.commit()
    assert not quashed.status.banned
    assert not (await service.subject_status(session, ctx, number)).banned
    with pytest.raises(Invalid):
        await service.subject_status(session, ctx, "110101190001011234")


async def test_practitioner_banned_reads_the_ledger(
    session: AsyncSession, ctx: AppContext, factory: Factory
) -> None:
    regulator = await factory.org("regulator", region="320000")
    base = await factory.org("training_base")
    person, number = await factory.practitioner(by=base)
    assert not await service.practitioner_banned(session, ctx, person)
    await service.append(session, ctx, draft(ctx, number))
    await session.commit()
    assert await service.practitioner_banned(session, ctx, person)
    assert regulator.principal.role == "regulator"


async def test_private_tables_hold_salts_and_sealed_values_only(
    session: AsyncSession, ctx: AppContext
) -> None:
    numbers = await seed(session, ctx, 2)
    openings = (await session.scalars(select(store.LedgerSubject))).all()
    assert {(o.seq, o.field) for o in openings} == {
        (s, f) for s in (0, 1) for f in ("subject", "decision", "case")
    }
    for opening in openings:
        assert len(opening.salt) == 32
        assert opening.value_cipher is not None
        assert numbers[0].encode() not in opening.value_cipher
    keys = {o.subject_key for o in openings if o.field == "subject"}
    assert keys == {service.subject_index(ctx, n) for n in numbers}
    assert {o.subject_key for o in openings if o.field != "subject"} == {None}
    assert ISSUER.region == "320000"
