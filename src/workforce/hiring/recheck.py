"""The re-check: expire certificates, re-evaluate every current employment, year-end training.

``recheck_all`` is idempotent: run twice on the same day it raises no alert twice (each alert
has a dedupe key ``<employment>|<cause>|<period>``) and a code already alerted this year by an
event (a ban, a revocation…) is not alerted again by the re-check.  Steps, each in its own
transactions so a long run never holds the write lock for long:

1. ``certificates.expire_due`` (its ``certificate_status_changed`` events alert employers);
2. every current employment, in batches: the admission logic without a receipt; the stored
   status is updated, and an alert is raised for each reason not already alerted this year;
3. once per year, for the year just finished (the first run in January to March; any time with
   ``lapse_year``): each currently employed person's calendar-year training rules; a missed one
   emits ``training_lapsed`` (alerting the current employers);
4. a row in the insert-only ``recheck_runs`` journal.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Final

from sqlalchemy import func, select

from workforce import hooks
from workforce.db import begin_write, utcnow
from workforce.hiring import alerts, sources
from workforce.hiring.admission import BANNED, evaluate
from workforce.hiring.models import Alert, Employment, RecheckRun
from workforce.policy.catalog import UnknownPositionError
from workforce.practitioners.models import Practitioner
from workforce.practitioners.service import id_number_of

if TYPE_CHECKING:
    import uuid

    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from workforce.context import AppContext

BATCH: Final = 200
LAPSE_WINDOW_MONTHS: Final = 3
"""The year-end training pass runs by itself in the first months of the new year only."""
_ALERT_KIND_OF_CODE: Final = {
    BANNED: alerts.KIND_BANNED,
    "certificate_revoked": "certificate_revoked",
    "certificate_suspended": "certificate_suspended",
    "certificate_expired": "certificate_expired",
}
_CODE_WORDS: Final = {
    "banned": "已被列入托育从业禁止名单",
    "no_valid_certificate": "未持有该岗位要求的有效证书",
    "certificate_revoked": "该岗位证书已被撤销",
    "certificate_suspended": "该岗位证书已被暂停",
    "certificate_expired": "该岗位证书已过有效期",
    "credit_joint_punishment": "正处于信用联合惩戒期内",
}
_SUBSCRIBER: Final = "workforce.hiring.alerts:on_training_lapsed"


@dataclasses.dataclass
class RecheckSummary:
    """What one run did."""

    day: date
    expired: int = 0
    checked: int = 0
    failing: int = 0
    alerts: int = 0
    lapse_year: int | None = None
    lapsed: int = 0


async def _recheck_batch(
    session: AsyncSession, ctx: AppContext, rows: list[Employment], today: date
) -> int:
    """Re-evaluate a batch of employments; returns how many fail."""
    people = {
        p.id: p
        for p in await session.scalars(
            select(Practitioner).where(Practitioner.id.in_({r.practitioner_id for r in rows}))
        )
    }
    year_start = datetime(today.year, 1, 1, tzinfo=UTC)
    failing = 0
    for employment in rows:
        person = people[employment.practitioner_id]
        try:
            position = ctx.catalog.position(employment.position)
        except UnknownPositionError:
            continue
        number = id_number_of(ctx, person)
        result = await evaluate(
            session, ctx, person=person, id_number=number, position=position, today=today
        )
        alerts.set_status(employment, result.codes)
        if result.admitted:
            continue
        failing += 1
        alerted = set(
            (
                await session.scalars(
                    select(Alert.kind).where(
                        Alert.employment_id == employment.id, Alert.created_at >= year_start
                    )
                )
            ).all()
        )
        for code in result.codes:
            kind = _ALERT_KIND_OF_CODE.get(code, alerts.KIND_RECHECK_FAILED)
            if kind != alerts.KIND_RECHECK_FAILED and kind in alerted:
                continue
            await alerts.raise_alert(
                session,
                employment,
                person,
                kind=kind,
                cause=f"recheck:{code}",
                period=str(today.year),
                message=(
                    f"【年度复核未通过】贵机构在职人员{person.name}（{person.id_masked}，"
                    f"岗位：{position.name}）复核未通过：{_CODE_WORDS.get(code, code)}。"
                    "请核实并及时调整其岗位。"
                ),
                details={"reason": code, "checked_on": today.isoformat()},
            )
    await session.flush()
    return failing


async def _lapse_done(session: AsyncSession, year: int) -> bool:
    found = await session.scalar(
        select(func.count()).select_from(RecheckRun).where(RecheckRun.lapse_year == year)
    )
    return bool(found)


async def _lapse_pass(
    session_factory: async_sessionmaker[AsyncSession], ctx: AppContext, year: int
) -> int:
    """Emit ``training_lapsed`` for each currently employed person who missed a yearly rule."""
    yearly = sources.yearly_rule_ids(ctx)
    direct = _SUBSCRIBER not in hooks.SUBSCRIBERS.get("training_lapsed", ())
    lapsed = 0
    after: uuid.UUID | None = None
    while True:
        async with session_factory() as session:
            await begin_write(session)
            stmt = (
                select(Employment.practitioner_id)
                .where(Employment.ended_on.is_(None))
                .group_by(Employment.practitioner_id)
                .order_by(Employment.practitioner_id)
                .limit(BATCH)
            )
            if after is not None:
                stmt = stmt.where(Employment.practitioner_id > after)
            ids = list((await session.scalars(stmt)).all())
            if not ids:
                await session.commit()
                return lapsed
            after = ids[-1]
            for person in await session.scalars(
                select(Practitioner).where(Practitioner.id.in_(ids))
            ):
                results = await sources.compliance(session, ctx, person, year)
                missed = sorted({r.rule_id for r in results if r.rule_id in yearly and not r.met})
                if not missed:
                    continue
                lapsed += 1
                await hooks.emit(
                    "training_lapsed",
                    session,
                    ctx,
                    practitioner_id=person.id,
                    year=year,
                    rule_ids=missed,
                )
                if direct:
                    await alerts.on_training_lapsed(
                        session, ctx, practitioner_id=person.id, year=year, rule_ids=missed
                    )
            await session.commit()


async def recheck_all(
    session_factory: async_sessionmaker[AsyncSession],
    ctx: AppContext,
    today: date,
    *,
    lapse_year: int | None = None,
) -> RecheckSummary:
    """Run the re-check for ``today`` (see the module docstring).

    Args:
        session_factory: Sessions on the service database.
        ctx: The application context.
        today: The day evaluated (China civil date).
        lapse_year: Check this year's training rules even if done before (default: the year
            before ``today``, once, when ``today`` is in the first three months).
    """
    started = utcnow()
    summary = RecheckSummary(day=today)
    async with session_factory() as session:
        await begin_write(session)
        summary.expired = await sources.expire_due(session, ctx, today)
        await session.commit()
    after: uuid.UUID | None = None
    while True:
        async with session_factory() as session:
            await begin_write(session)
            stmt = (
                select(Employment)
                .where(Employment.ended_on.is_(None))
                .order_by(Employment.id)
                .limit(BATCH)
            )
            if after is not None:
                stmt = stmt.where(Employment.id > after)
            rows = list((await session.scalars(stmt)).all())
            if not rows:
                await session.commit()
                break
            after = rows[-1].id
            summary.failing += await _recheck_batch(session, ctx, rows, today)
            summary.checked += len(rows)
            await session.commit()
    year = lapse_year if lapse_year is not None else today.year - 1
    async with session_factory() as session:
        run_lapse = lapse_year is not None or (
            today.month <= LAPSE_WINDOW_MONTHS and not await _lapse_done(session, year)
        )
    if run_lapse:
        summary.lapse_year = year
        summary.lapsed = await _lapse_pass(session_factory, ctx, year)
    async with session_factory() as session:
        await begin_write(session)
        summary.alerts = int(
            await session.scalar(
                select(func.count()).select_from(Alert).where(Alert.created_at >= started)
            )
            or 0
        )
        session.add(
            RecheckRun(
                run_on=today,
                lapse_year=summary.lapse_year,
                expired=summary.expired,
                checked=summary.checked,
                failing=summary.failing,
                alerts=summary.alerts,
                lapsed=summary.lapsed,
            )
        )
        await session.commit()
    return summary
