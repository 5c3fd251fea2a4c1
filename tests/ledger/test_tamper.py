"""Tamper detection: any single-row edit, deletion, insertion or reordering of a public ledger
table (triggers switched off for the test) makes ``workforce ledger verify`` fail naming it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.ledger.test_store import seed
from workforce.context import AppContext
from workforce.db import Base, make_engine
from workforce.ledger import service, store
from workforce.ledger.cli import LedgerMismatch, ledger, verify_database
from workforce.ledger.entry import decode_entry, encode_entry
from workforce.ledger.merkle import leaf_hash
from workforce.settings import Settings

pytestmark = pytest.mark.anyio

E = Base.metadata.tables["ledger_entries"]
S = Base.metadata.tables["ledger_subtrees"]
C = Base.metadata.tables["ledger_checkpoints"]
SIZE = 13  # seeded two entries per append: checkpoints 2, 4, …, 12, 13
NODE = store.node_index(1, 2)
LAST_NODE = store.stored_hash_count(SIZE) - 1
LEVEL0_OF_5 = store.node_index(0, 5)
NODE_2_1 = store.node_index(2, 1)  # above the chunks of 2 entries, inside those of 4 and 8


async def _unlock(session: AsyncSession) -> None:
    """Switch the append-only triggers off (this test's database only)."""
    dialect = session.get_bind().dialect.name
    for table in store.PUBLIC_TABLES:
        if dialect == "postgresql":
            await session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
        else:
            for action in ("update", "delete"):
                await session.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_{action}"))
    await session.commit()


@pytest.fixture
async def seeded(session: AsyncSession, ctx: AppContext) -> AsyncIterator[AsyncSession]:
    await seed(session, ctx, SIZE, batch=2)
    await _unlock(session)
    yield session
    if session.get_bind().dialect.name == "postgresql":
        await session.rollback()
        for table in store.PUBLIC_TABLES:
            await session.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
        await session.commit()


async def _leaf(session: AsyncSession, seq: int) -> bytes:
    return bytes((await session.execute(select(E.c.leaf).where(E.c.seq == seq))).scalar_one())


def _edited(leaf: bytes) -> bytes:
    data = decode_entry(leaf)
    data["reason_code"] = "violence"
    return encode_entry(data)


async def edit_leaf(s: AsyncSession) -> str:
    await s.execute(update(E).where(E.c.seq == 5).values(leaf=_edited(await _leaf(s, 5))))
    return "entry 5"


async def edit_leaf_and_hash(s: AsyncSession) -> str:
    new = _edited(await _leaf(s, 5))
    await s.execute(update(E).where(E.c.seq == 5).values(leaf=new, leaf_hash=leaf_hash(new)))
    return "entry 5"


async def non_canonical_leaf(s: AsyncSession) -> str:
    new = (await _leaf(s, 5)).replace(b'{"case"', b'{ "case"')
    await s.execute(update(E).where(E.c.seq == 5).values(leaf=new, leaf_hash=leaf_hash(new)))
    return "entry 5"


async def edit_leaf_hash(s: AsyncSession) -> str:
    await s.execute(update(E).where(E.c.seq == 5).values(leaf_hash=bytes(32)))
    return "entry 5"


async def edit_entry_time(s: AsyncSession) -> str:
    at = (await s.execute(select(E.c.created_at).where(E.c.seq == 5))).scalar_one()
    await s.execute(update(E).where(E.c.seq == 5).values(created_at=at + timedelta(seconds=1)))
    return "entry 5"


async def move_entry(s: AsyncSession) -> str:
    await s.execute(update(E).where(E.c.seq == 5).values(seq=1000))
    return "entry 5"


async def swap_entry_into_other_place(s: AsyncSession) -> str:
    # Copy entry 4's bytes over entry 5 (a replayed row): one row changed.
    row = (await s.execute(select(E.c.leaf, E.c.leaf_hash).where(E.c.seq == 4))).one()
    await s.execute(update(E).where(E.c.seq == 5).values(leaf=row[0], leaf_hash=row[1]))
    return "entry 5"


async def delete_entry(s: AsyncSession) -> str:
    await s.execute(delete(E).where(E.c.seq == 5))
    return "entry 5"


async def delete_last_entry(s: AsyncSession) -> str:
    await s.execute(delete(E).where(E.c.seq == SIZE - 1))
    return f"entry {SIZE - 1}"


async def append_unsigned_entry(s: AsyncSession) -> str:
    data = decode_entry(await _leaf(s, SIZE - 1))
    last_hash = (await s.execute(select(E.c.leaf_hash).where(E.c.seq == SIZE - 1))).scalar_one()
    data["seq"], data["prev"] = SIZE, bytes(last_hash).hex()
    new = encode_entry(data)
    at = (await s.execute(select(E.c.created_at).where(E.c.seq == 0))).scalar_one()
    await s.execute(insert(E).values(seq=SIZE, leaf=new, leaf_hash=leaf_hash(new), created_at=at))
    return f"entry {SIZE}"


async def insert_entry_before_genesis(s: AsyncSession) -> str:
    row = (await s.execute(select(E).where(E.c.seq == 0))).one()
    await s.execute(
        insert(E).values(seq=-1, leaf=row.leaf, leaf_hash=row.leaf_hash, created_at=row.created_at)
    )
    return "entry 0: missing (the next stored entry is -1)"


async def insert_subtree_before_the_first(s: AsyncSession) -> str:
    await s.execute(insert(S).values(node=-1, level=0, idx=0, hash=bytes(32)))
    return "node 0"


async def edit_subtree_hash(s: AsyncSession) -> str:
    await s.execute(update(S).where(S.c.node == NODE).values(hash=bytes(32)))
    return f"node {NODE}"


async def edit_level0_subtree(s: AsyncSession) -> str:
    await s.execute(update(S).where(S.c.node == LEVEL0_OF_5).values(hash=bytes(32)))
    return f"node {LEVEL0_OF_5}"


async def edit_subtree_level(s: AsyncSession) -> str:
    await s.execute(update(S).where(S.c.node == NODE).values(level=2))
    return f"node {NODE}"


async def edit_subtree_index(s: AsyncSession) -> str:
    await s.execute(update(S).where(S.c.node == NODE).values(idx=3))
    return f"node {NODE}"


async def move_subtree(s: AsyncSession) -> str:
    await s.execute(update(S).where(S.c.node == NODE).values(node=10**6))
    return f"node {NODE}"


async def delete_subtree(s: AsyncSession) -> str:
    await s.execute(delete(S).where(S.c.node == NODE))
    return f"node {NODE}"


async def delete_last_subtree(s: AsyncSession) -> str:
    await s.execute(delete(S).where(S.c.node == LAST_NODE))
    return f"node {LAST_NODE}"


async def insert_extra_subtree(s: AsyncSession) -> str:
    await s.execute(insert(S).values(node=LAST_NODE + 1, level=0, idx=SIZE, hash=bytes(32)))
    return f"node {LAST_NODE + 1}"


async def split_subtree_hashes(s: AsyncSession) -> str:
    """Two neighbouring hashes made 33 and 31 bytes long: their concatenation is unchanged."""
    first, second = LEVEL0_OF_5, LEVEL0_OF_5 + 1
    rows = await s.execute(select(S.c.node, S.c.hash).where(S.c.node.in_([first, second])))
    hashes = {node: bytes(value) for node, value in rows}
    await s.execute(
        update(S).where(S.c.node == first).values(hash=hashes[first] + hashes[second][:1])
    )
    await s.execute(update(S).where(S.c.node == second).values(hash=hashes[second][1:]))
    return f"node {first}"


async def subtree_index_as_blob(s: AsyncSession) -> str:
    """SQLite keeps a blob in an integer column; SQL arithmetic would read it as the number."""
    if s.get_bind().dialect.name != "sqlite":
        pytest.skip("a typed column cannot hold a blob")
    await s.execute(
        text("UPDATE ledger_subtrees SET idx = CAST(CAST(idx AS TEXT) AS BLOB) WHERE node = :n"),
        {"n": NODE_2_1},
    )
    return f"node {NODE_2_1}"


def _sqlite_only(s: AsyncSession) -> None:
    if s.get_bind().dialect.name != "sqlite":
        pytest.skip("a typed column cannot hold a value of another type")


async def subtree_hash_as_text(s: AsyncSession) -> str:
    """The same 32 bytes stored as TEXT (not UTF-8): the driver cannot even decode them."""
    _sqlite_only(s)
    await s.execute(
        text("UPDATE ledger_subtrees SET hash = CAST(hash AS TEXT) WHERE node = :n"),
        {"n": NODE_2_1},
    )
    return f"node {NODE_2_1}"


async def subtree_hash_as_utf8_text(s: AsyncSession) -> str:
    _sqlite_only(s)
    await s.execute(
        text("UPDATE ledger_subtrees SET hash = 'not a hash' WHERE node = :n"), {"n": NODE_2_1}
    )
    return f"node {NODE_2_1}"


async def leaf_as_text(s: AsyncSession) -> str:
    """The very bytes of the leaf, stored as TEXT instead of a blob."""
    _sqlite_only(s)
    await s.execute(text("UPDATE ledger_entries SET leaf = CAST(leaf AS TEXT) WHERE seq = 5"))
    return "entry 5"


async def leaf_hash_as_text(s: AsyncSession) -> str:
    _sqlite_only(s)
    await s.execute(
        text("UPDATE ledger_entries SET leaf_hash = CAST(leaf_hash AS TEXT) WHERE seq = 5")
    )
    return "entry 5"


async def checkpoint_root_as_text(s: AsyncSession) -> str:
    _sqlite_only(s)
    await s.execute(
        text("UPDATE ledger_checkpoints SET root_hash = CAST(root_hash AS TEXT) WHERE size = 6")
    )
    return "checkpoint 6"


async def _note(s: AsyncSession, size: int) -> str:
    return str((await s.execute(select(C.c.note).where(C.c.size == size))).scalar_one())


async def edit_checkpoint_signature(s: AsyncSession) -> str:
    note = await _note(s, 6)
    head, _, sig = note.rpartition(" ")
    flipped = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
    await s.execute(update(C).where(C.c.size == 6).values(note=f"{head} {flipped}"))
    return "checkpoint 6"


async def edit_checkpoint_text(s: AsyncSession) -> str:
    note = await _note(s, 6)
    await s.execute(update(C).where(C.c.size == 6).values(note=note.replace("\n6\n", "\n7\n", 1)))
    return "checkpoint 6"


async def edit_checkpoint_root(s: AsyncSession) -> str:
    await s.execute(update(C).where(C.c.size == 6).values(root_hash=bytes(32)))
    return "checkpoint 6"


async def move_checkpoint(s: AsyncSession) -> str:
    await s.execute(update(C).where(C.c.size == 6).values(size=7))
    return "checkpoint 7"


async def edit_checkpoint_prev(s: AsyncSession) -> str:
    await s.execute(update(C).where(C.c.size == 6).values(prev_size=None))
    return "checkpoint 6"


async def edit_checkpoint_time(s: AsyncSession) -> str:
    at = (await s.execute(select(C.c.created_at).where(C.c.size == 6))).scalar_one()
    await s.execute(update(C).where(C.c.size == 6).values(created_at=at - timedelta(days=1)))
    return "checkpoint 6"


async def delete_checkpoint(s: AsyncSession) -> str:
    await s.execute(delete(C).where(C.c.size == 6))
    return "checkpoint 6"


async def delete_first_checkpoint(s: AsyncSession) -> str:
    await s.execute(delete(C).where(C.c.size == 2))
    return "checkpoint 2"


async def delete_last_checkpoint(s: AsyncSession) -> str:
    await s.execute(delete(C).where(C.c.size == SIZE))
    return f"checkpoint {SIZE}"


TAMPERS: list[Callable[[AsyncSession], Awaitable[str]]] = [
    edit_leaf,
    edit_leaf_and_hash,
    non_canonical_leaf,
    edit_leaf_hash,
    edit_entry_time,
    move_entry,
    swap_entry_into_other_place,
    delete_entry,
    delete_last_entry,
    append_unsigned_entry,
    insert_entry_before_genesis,
    insert_subtree_before_the_first,
    edit_subtree_hash,
    edit_level0_subtree,
    edit_subtree_level,
    edit_subtree_index,
    move_subtree,
    delete_subtree,
    delete_last_subtree,
    insert_extra_subtree,
    split_subtree_hashes,
    subtree_index_as_blob,
    subtree_hash_as_text,
    subtree_hash_as_utf8_text,
    leaf_as_text,
    leaf_hash_as_text,
    checkpoint_root_as_text,
    edit_checkpoint_signature,
    edit_checkpoint_text,
    edit_checkpoint_root,
    move_checkpoint,
    edit_checkpoint_prev,
    edit_checkpoint_time,
    delete_checkpoint,
    delete_first_checkpoint,
    delete_last_checkpoint,
]


async def test_untouched_ledger_verifies(
    seeded: AsyncSession, ctx: AppContext, database_url: str
) -> None:
    report = await verify_database(database_url, service.verifiers(ctx), ctx.settings.ledger_origin)
    assert (report.entries, report.size, report.subtrees) == (SIZE, SIZE, LAST_NODE + 1)
    assert report.checkpoints == 7
    assert report.root_hash == (await service.latest_checkpoint(seeded)).root_hash


@pytest.mark.parametrize("tamper", TAMPERS, ids=lambda f: f.__name__)
async def test_single_row_tampering_is_detected_and_named(
    seeded: AsyncSession,
    ctx: AppContext,
    database_url: str,
    tamper: Callable[[AsyncSession], Awaitable[str]],
) -> None:
    expected = await tamper(seeded)
    await seeded.commit()
    with pytest.raises(LedgerMismatch) as failed:
        await verify_database(database_url, service.verifiers(ctx), ctx.settings.ledger_origin)
    assert expected in str(failed.value), str(failed.value)


async def test_unknown_keys_do_not_verify(seeded: AsyncSession, database_url: str) -> None:
    with pytest.raises(LedgerMismatch, match="checkpoint 2"):
        await verify_database(database_url, [], "registry.example.cn/workforce/bans/v1")


def _cli_env(settings: Settings) -> dict[str, Any]:
    return {
        "WORKFORCE_DATABASE_URL": settings.database_url,
        "WORKFORCE_KEYS_DIR": str(settings.effective_keys_dir),
        "WORKFORCE_VAR_DIR": str(settings.var_dir),
    }


def test_cli_exits_non_zero_naming_the_first_bad_entry(settings: Settings, ctx: AppContext) -> None:
    async def prepare(corrupt: bool) -> None:
        engine = make_engine(settings.database_url)
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            if not corrupt:
                await seed(session, ctx, 7)
            else:
                await _unlock(session)
                await edit_leaf_hash(session)
                await session.commit()
        await engine.dispose()

    runner = CliRunner()
    asyncio.run(prepare(corrupt=False))
    ok = runner.invoke(ledger, ["verify"], env=_cli_env(settings))
    assert ok.exit_code == 0, ok.output
    assert "ok: 7 entries" in ok.output
    asyncio.run(prepare(corrupt=True))
    try:
        bad = runner.invoke(ledger, ["verify"], env=_cli_env(settings))
        assert bad.exit_code == 1
        assert "FAIL: entry 5" in bad.output
    finally:
        if settings.database_url.startswith("postgresql"):
            asyncio.run(_relock(settings.database_url))


async def _relock(url: str) -> None:
    engine = make_engine(url)
    async with engine.begin() as conn:
        for table in store.PUBLIC_TABLES:
            await conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
    await engine.dispose()
