"""The admission gate's hot path (``workforce.hiring.gate``) agrees with the ORM path.

Every person below is evaluated for every position on several days, once by
``admission.evaluate`` (the ORM path, which reads through the owning domains' services) and once
by ``evaluate_facts`` over the gate's snapshot read; the decisions, reason codes and checkpoints
must be identical.  Then the group commit: rows of concurrent checks share one transaction, a
row refused by a constraint fails only its own request, and a failed batch keeps nothing.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import Column, Integer, MetaData, Table, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tests.api.test_admission import (
    change_certificate,
    check,
    codes,
    give_certificate,
    punish,
    qualified,
    record_ban,
)
from tests.factories import Factory
from workforce.audit.models import AccessLog
from workforce.context import AppContext
from workforce.db import make_engine, new_id, utcnow
from workforce.hiring import admission, sources
from workforce.hiring.gate import AdmissionGate, GroupCommit
from workforce.hiring.models import AdmissionCheck
from workforce.ledger.service import subject_index
from workforce.practitioners.models import Practitioner
from workforce.practitioners.service import find_by_id_number
from workforce.security import idnumber
from workforce.settings import Settings

pytestmark = pytest.mark.anyio


@pytest.fixture
async def engine(settings: Settings) -> Any:
    engine = make_engine(settings.effective_database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def gate(settings: Settings, engine: AsyncEngine) -> Any:
    """A gate of the test's own (the app's gate belongs to the app's event loop)."""
    gate = AdmissionGate.for_settings(settings, engine)
    yield gate
    await gate.close()


def gate_of(app: Litestar) -> AdmissionGate:
    gate: AdmissionGate = app.state["gate"]
    return gate


async def population(
    client: AsyncTestClient[Litestar], factory: Factory, session: AsyncSession, ctx: AppContext
) -> dict[str, str]:
    """People in every state the decision distinguishes, by label -> ID number."""
    regulator = await factory.org("regulator", region="320100")
    inst = await factory.org("institution")
    today = idnumber.today_in_china()
    people: dict[str, str] = {}

    async def person(label: str) -> Practitioner:
        found, number = await factory.practitioner(by=inst, positions=["caregiver"])
        people[label] = number
        return found

    await person("registered, nothing")
    await give_certificate(session, ctx, regulator, await person("caregiver_post"))
    await give_certificate(
        session, ctx, regulator, await person("baoyushi level 4"), "baoyushi", level="4"
    )
    await give_certificate(session, ctx, regulator, await person("director_post"), "director_post")
    soon = await person("expires in 30 days")
    await give_certificate(session, ctx, regulator, soon, valid_until=today + timedelta(days=30))
    expired = await person("expired")
    await give_certificate(session, ctx, regulator, expired, valid_until=today - timedelta(days=1))
    for label, action in (("revoked", "revoke"), ("suspended", "suspend")):
        cert = await give_certificate(session, ctx, regulator, await person(label))
        await change_certificate(session, ctx, regulator, cert.serial, action)
    both = await person("revoked and a valid one")
    cert = await give_certificate(session, ctx, regulator, both)
    await change_certificate(session, ctx, regulator, cert.serial, "revoke")
    await give_certificate(session, ctx, regulator, both, "yuyingyuan", level="4")

    await give_certificate(session, ctx, regulator, await person("banned for life"))
    await record_ban(client, regulator, people["banned for life"])
    await person("banned for a fixed term")
    await record_ban(client, regulator, people["banned for a fixed term"], kind="fixed_term")
    await person("banned, then quashed")
    recorded = await record_ban(client, regulator, people["banned, then quashed"])
    response = await client.post(
        f"/api/v1/bans/{recorded['entries'][0]['seq']}/correction"
        if "entries" in recorded
        else f"/api/v1/bans/{recorded['seq']}/correction",
        json={"effect": "quashed", "decision_ref": "(2026)苏01刑终9号"},
        headers=regulator.headers,
    )
    assert response.status_code == 201, response.text

    people["not registered"] = factory.id_number()
    people["not registered, banned"] = factory.id_number()
    await record_ban(client, regulator, people["not registered, banned"])

    punished = await person("credit joint punishment")
    await give_certificate(session, ctx, regulator, punished)
    await punish(client, regulator, punished.id)
    return people


async def test_fast_path_agrees_with_the_orm_path(
    client: AsyncTestClient[Litestar],
    gate: AdmissionGate,
    factory: Factory,
    session: AsyncSession,
    ctx: AppContext,
) -> None:
    people = await population(client, factory, session, ctx)
    assert gate.reader is not None
    today = idnumber.today_in_china()
    days = [today, today + timedelta(days=31), today + timedelta(days=4 * 366)]
    compared = 0
    denied_codes: set[str] = set()
    for label, number in people.items():
        facts = await gate.reader.read(ctx.vault.subject_key(number), subject_index(ctx, number))
        person = await find_by_id_number(session, ctx, number)
        assert (facts.person_id is None) == (person is None), label
        if person is not None:
            assert facts.person_id == person.id, label
        if label == "credit joint punishment":
            # Credit events: the hot path hands the person to the ORM path.
            assert facts.has_credit_events
            continue
        assert not facts.has_credit_events, label
        for position in ctx.catalog.positions:
            for day in days:
                slow = await admission.evaluate(
                    session, ctx, person=person, id_number=number, position=position, today=day
                )
                fast = admission.evaluate_facts(facts, position, day)
                assert fast == slow, (label, position.code, day)
                denied_codes.update(fast.codes)
                compared += 1
    assert compared == (len(people) - 1) * len(ctx.catalog.positions) * len(days)
    # The population reaches every reason the hot path decides.
    assert denied_codes >= {
        "not_registered",
        "banned",
        "no_valid_certificate",
        "certificate_revoked",
        "certificate_suspended",
        "certificate_expired",
    }
    # The snapshot's checkpoint is the one the ORM path signs against.
    facts = await gate.reader.read(b"\0" * 32, b"\0" * 32)
    assert sources.checkpoint_ref(
        ctx, facts.checkpoint_size, facts.checkpoint_root, facts.checkpoint_note
    ) == await sources.latest_checkpoint(session, ctx)
    assert facts.checkpoint_size >= 4


async def test_empty_ledger_checkpoint_matches(
    gate: AdmissionGate, session: AsyncSession, ctx: AppContext
) -> None:
    assert gate.reader is not None
    facts = await gate.reader.read(b"\0" * 32, b"\0" * 32)
    assert facts.checkpoint_size == 0
    assert sources.checkpoint_ref(
        ctx, facts.checkpoint_size, facts.checkpoint_root, facts.checkpoint_note
    ) == await sources.latest_checkpoint(session, ctx)


async def test_http_checks_take_the_hot_path_except_with_credit_events(
    client: AsyncTestClient[Litestar],
    app: Litestar,
    factory: Factory,
    session: AsyncSession,
    ctx: AppContext,
) -> None:
    regulator, inst, plain, plain_number = await qualified(factory, session, ctx)
    punished, punished_number = await factory.practitioner(by=inst)
    await give_certificate(session, ctx, regulator, punished)
    await punish(client, regulator, punished.id)
    plain_id, punished_id = plain.id, punished.id  # the session is rolled back below
    gate = gate_of(app)
    before = gate.writer.batches
    response = await check(client, inst, plain_number)
    assert response.status_code == 201, response.text
    assert response.json()["decision"] == "admitted"
    assert gate.writer.batches == before + 1
    # The row written by the group commit reads back through the ORM as it was answered.
    body = response.json()
    row = await session.get(AdmissionCheck, uuid.UUID(body["check_id"]))
    assert row is not None
    assert (row.decision, row.position, row.receipt, row.reasons) == (
        "admitted",
        "caregiver",
        body["receipt"],
        [],
    )
    assert row.created_at.isoformat().replace("+00:00", "Z") == body["checked_at"]
    await session.rollback()  # a new snapshot
    denied = (await check(client, inst, factory.id_number())).json()
    row = await session.get(AdmissionCheck, uuid.UUID(denied["check_id"]))
    assert row is not None and row.reasons == denied["reasons"]
    assert gate.writer.batches == before + 2
    await session.rollback()
    response = await check(client, inst, punished_number)
    assert response.status_code == 201, response.text
    assert codes(response.json()) == ["credit_joint_punishment"]
    assert gate.writer.batches == before + 2  # the ORM path stored this one
    stored = {
        r.practitioner_id: r.decision for r in (await session.scalars(select(AdmissionCheck)))
    }
    assert stored == {plain_id: "admitted", punished_id: "denied", None: "denied"}


async def test_concurrent_checks_share_a_commit_and_all_are_kept(
    client: AsyncTestClient[Litestar],
    app: Litestar,
    factory: Factory,
    session: AsyncSession,
) -> None:
    inst = await factory.org("institution")
    numbers = [factory.id_number() for _ in range(24)]
    gate = gate_of(app)
    before = gate.writer.batches
    responses = await asyncio.gather(*(check(client, inst, n) for n in numbers))
    assert [r.status_code for r in responses] == [201] * len(numbers)
    assert all(codes(r.json()) == ["not_registered"] for r in responses)
    ids = {uuid.UUID(r.json()["check_id"]) for r in responses}
    stored = set((await session.scalars(select(AdmissionCheck.id))).all())
    assert stored == ids
    logged = await session.scalar(select(func.count()).where(AccessLog.action == "admission_check"))
    assert logged == len(numbers)
    # Fewer transactions than checks (how many depends on how the requests interleave).
    assert gate.writer.batches - before <= len(numbers)


# --------------------------------------------------------------------------- GroupCommit


def _rows(org_id: uuid.UUID, n: int) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    out = []
    for _ in range(n):
        check_id = new_id()
        out.append(
            (
                {
                    "id": check_id,
                    "created_at": utcnow(),
                    "org_id": org_id,
                    "region_code": "320102",
                    "client_id": "client",
                    "practitioner_id": None,
                    "subject_commitment": b"\1" * 32,
                    "position": "caregiver",
                    "decision": "denied",
                    "reasons": [{"code": "not_registered", "detail": "x"}],
                    "purpose": "check",
                    "checkpoint_size": 0,
                    "checkpoint_root": b"\2" * 32,
                    "receipt": "a.b.c",
                },
                {
                    "org_id": org_id,
                    "client_id": "client",
                    "practitioner_id": None,
                    "action": "admission_check",
                    "route": "POST /api/v1/admission-checks",
                    "outcome": "denied",
                },
            )
        )
    return out


async def _count(session: AsyncSession) -> tuple[int, int]:
    await session.rollback()
    checks = await session.scalar(select(func.count()).select_from(AdmissionCheck))
    logged = await session.scalar(select(func.count()).select_from(AccessLog))
    return int(checks or 0), int(logged or 0)


async def test_group_commit_one_transaction_for_waiting_rows(
    engine: AsyncEngine, factory: Factory, session: AsyncSession
) -> None:
    inst = await factory.org("institution")
    writer = GroupCommit(engine)
    await asyncio.gather(*(writer.store(c, a) for c, a in _rows(inst.org.id, 20)))
    assert writer.batches == 1
    assert await _count(session) == (20, 20)
    await writer.store(*_rows(inst.org.id, 1)[0])
    assert writer.batches == 2
    assert await _count(session) == (21, 21)


async def test_group_commit_a_bad_row_fails_alone(
    engine: AsyncEngine, factory: Factory, session: AsyncSession
) -> None:
    inst = await factory.org("institution")
    rows = _rows(inst.org.id, 5)
    rows[2][0]["org_id"] = uuid.uuid4()  # no such organisation: the foreign key refuses it
    writer = GroupCommit(engine)
    results = await asyncio.gather(*(writer.store(c, a) for c, a in rows), return_exceptions=True)
    failed = [i for i, r in enumerate(results) if isinstance(r, BaseException)]
    assert failed == [2]
    assert await _count(session) == (4, 4)


async def test_group_commit_failed_batch_keeps_nothing(
    engine: AsyncEngine, factory: Factory, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    inst = await factory.org("institution")
    writer = GroupCommit(engine)
    # The access-log insert fails after the check rows were written in the same transaction.
    missing = Table("no_such_table", MetaData(), Column("org_id", Integer))
    monkeypatch.setattr(writer, "_tables", (writer._tables[0], missing))
    results = await asyncio.gather(
        *(writer.store(c, a) for c, a in _rows(inst.org.id, 6)), return_exceptions=True
    )
    assert all(isinstance(r, RuntimeError) for r in results)
    assert "nothing was kept" in str(results[0])
    assert await _count(session) == (0, 0)
    assert writer.batches == 0


async def test_in_memory_database_uses_the_orm_path(engine: AsyncEngine) -> None:
    settings = Settings(database_url="sqlite+aiosqlite:///:memory:", environment="test")
    gate = AdmissionGate.for_settings(settings, engine)
    assert gate.reader is None
    await gate.close()


async def test_group_commits_of_two_processes_take_turns(settings: Settings) -> None:
    """The writers' lock file gives one group commit at a time its turn, and wakes the next."""
    from workforce.sqlitewrite import SqliteWriter

    url = settings.effective_database_url
    if not url.startswith("sqlite"):
        pytest.skip("the writers' lock file is for SQLite")
    path = url.split("///", 1)[1]
    first, second = SqliteWriter(path), SqliteWriter(path)
    entered = asyncio.Event()

    async def take_second() -> None:
        async with second.turn():
            entered.set()

    async with first.turn():
        waiting = asyncio.create_task(take_second())
        await asyncio.sleep(0.2)
        assert not entered.is_set()  # the second one waits while the first holds its turn
    await asyncio.wait_for(waiting, 5)
    assert entered.is_set()
    first.start_checkpoints()
    await asyncio.sleep(0.4)  # at least one passive checkpoint ran
    assert first._conn is not None
    await first.close()
    await second.close()
    assert first._checkpoints is not None and first._checkpoints.cancelled()


async def test_two_group_commits_on_one_database_keep_every_row(
    settings: Settings, factory: Factory, session: AsyncSession
) -> None:
    inst = await factory.org("institution")
    gates = [
        AdmissionGate.for_settings(settings, make_engine(settings.effective_database_url))
        for _ in range(2)
    ]
    rows = _rows(inst.org.id, 40)
    await asyncio.gather(*(gates[i % 2].writer.store(c, a) for i, (c, a) in enumerate(rows)))
    assert await _count(session) == (40, 40)
    for gate in gates:
        await gate.close()
        await gate.writer._engine.dispose()


async def test_postgres_reader_replaces_a_lost_connection(
    settings: Settings, session: AsyncSession
) -> None:
    url = settings.effective_database_url
    if not url.startswith("postgresql"):
        pytest.skip("the PostgreSQL reader")
    from sqlalchemy import text

    from workforce.hiring.gate import PostgresReader

    reader = PostgresReader(url.replace("postgresql+asyncpg", "postgresql"), size=1)
    try:
        first = await reader.read(b"\0" * 32, b"\0" * 32)
        slot = reader._slots[asyncio.get_running_loop()][0]
        pid = slot.conn.get_server_pid()
        await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await session.commit()
        failures = 0
        for _ in range(2):  # the read that meets the dead connection fails; the next reconnects
            try:
                again = await reader.read(b"\0" * 32, b"\0" * 32)
                break
            except Exception:
                failures += 1
        else:
            raise AssertionError("the reader did not reconnect")
        assert failures <= 1
        assert again.checkpoint_size == first.checkpoint_size
        assert slot.conn.get_server_pid() != pid
    finally:
        await reader.close()


async def test_direct_sqlite_writes_store_what_the_orm_stores(
    settings: Settings, engine: AsyncEngine, factory: Factory
) -> None:
    """The group commit's own sqlite3 writes encode every column as SQLAlchemy does."""
    url = settings.effective_database_url
    if not url.startswith("sqlite"):
        pytest.skip("the direct writes are SQLite's")
    import sqlite3

    from sqlalchemy import insert

    inst = await factory.org("institution")
    person, _ = await factory.practitioner(by=inst)
    (check_row, access_row), (twin_check, twin_access) = _rows(inst.org.id, 2)
    for row in (check_row, twin_check, access_row, twin_access):
        row["practitioner_id"] = person.id
    for row in (check_row, twin_check):
        row["reasons"] = [{"code": "banned", "detail": "当事人在托育从业禁止名单中。 Banned."}]
        row["created_at"] = twin_check["created_at"]
    twin_access = {**twin_access, "id": new_id(), "created_at": twin_check["created_at"]}
    writer = GroupCommit(engine, sqlite_path=url.split("///", 1)[1])
    await writer.store(check_row, access_row)  # direct sqlite3 write
    await writer.close()
    async with engine.begin() as conn:  # the ORM's Core path
        await conn.execute(insert(AdmissionCheck.__table__), [twin_check])
        await conn.execute(insert(AccessLog.__table__), [twin_access])
    raw = sqlite3.connect(url.split("///", 1)[1])
    try:
        for table, ids in (
            ("admission_checks", (check_row["id"], twin_check["id"])),
            ("access_log", (None, twin_access["id"])),
        ):
            rows = raw.execute(f"SELECT * FROM {table}").fetchall()  # noqa: S608 - fixed names
            names = [d[0] for d in raw.execute(f"SELECT * FROM {table}").description]  # noqa: S608
            assert len(rows) == 2
            without_id = [
                tuple(v for n, v in zip(names, r, strict=True) if n != "id") for r in rows
            ]
            assert without_id[0] == without_id[1], table
            assert ids[1] is None or ids[1].hex in {r[names.index("id")] for r in rows}
    finally:
        raw.close()
