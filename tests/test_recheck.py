"""The re-check: expiry, re-evaluation, year-end training lapses, idempotence, CLI, scheduler."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import anyio.to_thread
import pytest
from click.testing import CliRunner
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.api.test_admission import (
    change_certificate,
    give_certificate,
    punish,
    qualified,
    unwire_hiring,
    wire_hiring,
)
from tests.api.test_employments import hire
from tests.factories import Factory
from workforce.certificates import service as certificates
from workforce.context import AppContext
from workforce.db import make_engine
from workforce.hiring import scheduler
from workforce.hiring.cli import recheck as recheck_command
from workforce.hiring.models import Alert, Employment, RecheckRun
from workforce.hiring.recheck import recheck_all
from workforce.security.idnumber import today_in_china
from workforce.settings import Settings

pytestmark = pytest.mark.anyio


@pytest.fixture
async def sessions(database_url: str) -> Any:
    engine = make_engine(database_url)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


async def _alerts(session: AsyncSession, *, lapses: bool = False) -> list[Alert]:
    """Alerts so far (without year-end training lapses, which a run in January-March adds)."""
    await session.commit()  # end the read snapshot: see what other sessions committed
    stmt = select(Alert).order_by(Alert.id)
    if not lapses:
        stmt = stmt.where(Alert.kind != "training_lapsed")
    return list((await session.scalars(stmt)).all())


async def test_expiry_through_the_recheck_is_alerted_once(
    client: AsyncTestClient[Litestar],
    factory: Factory,
    session: AsyncSession,
    ctx: AppContext,
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wire_hiring(monkeypatch)
    regulator = await factory.org("regulator", region="320100")
    previous = await factory.org("institution")
    current = await factory.org("institution")
    person, number = await factory.practitioner(by=current)
    cert = await give_certificate(session, ctx, regulator, person)
    first = (await hire(client, previous, number)).json()
    await client.post(
        f"/api/v1/employments/{first['employment_id']}/end", json={}, headers=previous.headers
    )
    assert (await hire(client, current, number)).status_code == 201
    row = await certificates.get_by_serial(session, cert.serial)
    row.valid_until = today_in_china() - timedelta(days=1)
    await session.commit()

    today = today_in_china()
    summary = await recheck_all(sessions, ctx, today, lapse_year=None)
    assert summary.expired == 1
    assert summary.checked == 1
    assert summary.failing == 1
    alerts = await _alerts(session)
    assert [(a.kind, a.org_id) for a in alerts] == [
        ("certificate_expired", current.principal.org_id)
    ]
    # Running it again the same day changes nothing.
    again = await recheck_all(sessions, ctx, today)
    assert (again.expired, again.checked, again.failing) == (0, 1, 1)
    assert len(await _alerts(session)) == 1
    runs = await session.scalar(select(func.count()).select_from(RecheckRun))
    assert runs == 2


async def test_recheck_catches_what_no_event_announced(
    client: AsyncTestClient[Litestar],
    factory: Factory,
    session: AsyncSession,
    ctx: AppContext,
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Hooks not wired: the revocation and the credit decision raise nothing by themselves.
    unwire_hiring(monkeypatch)
    regulator, inst, person, number = await qualified(factory, session, ctx)
    cert_holder, holder_number = await factory.practitioner(by=inst)
    cert = await give_certificate(session, ctx, regulator, cert_holder)
    assert (await hire(client, inst, number)).status_code == 201
    assert (await hire(client, inst, holder_number)).status_code == 201
    await change_certificate(session, ctx, regulator, cert.serial, "revoke")
    await punish(client, regulator, person.id)
    assert await _alerts(session) == []

    today = today_in_china()
    summary = await recheck_all(sessions, ctx, today)
    assert (summary.checked, summary.failing) == (2, 2)
    kinds = sorted((a.kind, a.details["reason"]) for a in await _alerts(session))
    assert kinds == [
        ("certificate_revoked", "certificate_revoked"),
        ("recheck_failed", "credit_joint_punishment"),
    ]
    assert all("复核未通过" in a.message for a in await _alerts(session))
    employments = list((await session.scalars(select(Employment))).all())
    assert all(not e.passes for e in employments)
    await recheck_all(sessions, ctx, today)
    assert len(await _alerts(session)) == 2


async def test_no_second_alert_for_what_an_event_already_announced(
    client: AsyncTestClient[Litestar],
    factory: Factory,
    session: AsyncSession,
    ctx: AppContext,
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wire_hiring(monkeypatch)
    regulator = await factory.org("regulator", region="320100")
    inst = await factory.org("institution")
    person, number = await factory.practitioner(by=inst)
    cert = await give_certificate(session, ctx, regulator, person)
    assert (await hire(client, inst, number)).status_code == 201
    await change_certificate(session, ctx, regulator, cert.serial, "revoke")
    assert [a.kind for a in await _alerts(session)] == ["certificate_revoked"]
    await recheck_all(sessions, ctx, today_in_china())
    assert [a.kind for a in await _alerts(session)] == ["certificate_revoked"]


async def test_year_end_training_lapse(
    client: AsyncTestClient[Litestar],
    factory: Factory,
    session: AsyncSession,
    ctx: AppContext,
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wire_hiring(monkeypatch)
    _, inst, person, number = await qualified(factory, session, ctx, region="320102")
    assert (await hire(client, inst, number)).status_code == 201
    # A Nanjing caregiver with no training at all missed the yearly rules of last year.
    today = date(today_in_china().year + 1, 1, 2)
    summary = await recheck_all(sessions, ctx, today)
    assert summary.lapse_year == today.year - 1
    assert summary.lapsed == 1
    lapses = [a for a in await _alerts(session, lapses=True) if a.kind == "training_lapsed"]
    assert len(lapses) == 1
    (lapse,) = lapses
    assert lapse.org_id == inst.principal.org_id
    assert lapse.details["year"] == today.year - 1
    assert "nj-yearly-skills-2021" in lapse.details["rule_ids"]
    assert "年度培训未达标" in lapse.message
    assert person.id_masked in lapse.message
    # The year-end pass runs once per year; forcing it again raises no duplicate.
    assert (await recheck_all(sessions, ctx, today)).lapse_year is None
    forced = await recheck_all(sessions, ctx, today, lapse_year=today.year - 1)
    assert forced.lapsed == 1
    assert len([a for a in await _alerts(session, lapses=True) if a.kind == "training_lapsed"]) == 1
    listed = (await client.get("/api/v1/alerts?kind=training_lapsed", headers=inst.headers)).json()
    assert len(listed["items"]) == 1


async def test_cli_recheck(
    client: AsyncTestClient[Litestar],
    factory: Factory,
    session: AsyncSession,
    ctx: AppContext,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, inst, _, number = await qualified(factory, session, ctx)
    assert (await hire(client, inst, number)).status_code == 201
    monkeypatch.setenv("WORKFORCE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("WORKFORCE_KEYS_DIR", str(settings.effective_keys_dir))
    monkeypatch.setenv("WORKFORCE_VAR_DIR", str(settings.var_dir))
    result = await anyio.to_thread.run_sync(
        lambda: CliRunner().invoke(recheck_command, ["--date", today_in_china().isoformat()])
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["checked"] == 1
    assert out["failing"] == 0
    assert out["day"] == today_in_china().isoformat()


async def test_job_lease_is_exclusive(sessions: async_sessionmaker[AsyncSession]) -> None:
    assert await scheduler.acquire_lease(sessions, "recheck", "worker-a", 60)
    assert not await scheduler.acquire_lease(sessions, "recheck", "worker-b", 60)
    assert await scheduler.acquire_lease(sessions, "recheck", "worker-a", 60)
    assert await scheduler.acquire_lease(sessions, "other-job", "worker-b", 60)
    assert await scheduler.acquire_lease(sessions, "expired", "worker-a", -1)
    assert await scheduler.acquire_lease(sessions, "expired", "worker-b", 60)


async def test_background_runs_the_recheck(
    client: AsyncTestClient[Litestar],
    factory: Factory,
    session: AsyncSession,
    ctx: AppContext,
    settings: Settings,
) -> None:
    _, inst, _, number = await qualified(factory, session, ctx)
    assert (await hire(client, inst, number)).status_code == 201
    background = scheduler.Background(settings, ctx, dispatch_interval=0.05, recheck_interval=3600)
    await background.start()
    try:
        for _ in range(100):
            await session.commit()
            if await session.scalar(select(func.count()).select_from(RecheckRun)):
                break
            await __import__("asyncio").sleep(0.05)
    finally:
        await background.stop()
    run = await session.scalar(select(RecheckRun))
    assert run is not None
    assert run.checked == 1
