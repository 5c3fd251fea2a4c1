"""Compliance: boundaries through the API, visibility, and equality with the pure engine."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from tests.factories import Factory
from tests.unit.training.support import accredited_base, add_course, log
from workforce.rules.engine import RecordHours, evaluate
from workforce.security.idnumber import today_in_china
from workforce.training import aggregates, service
from workforce.training.models import TrainingRecord

pytestmark = pytest.mark.anyio


def _by_rule(body: dict) -> dict[str, dict]:
    return {r["rule_id"]: r for r in body["rules"]}


async def _compliance(client, actor, pid, year: int | None = 2025):
    query = f"?year={year}" if year is not None else ""
    return await client.get(f"/api/v1/practitioners/{pid}/compliance{query}", headers=actor.headers)


async def test_hours_boundary_71_9_vs_72(client, factory: Factory) -> None:
    base, _ = await accredited_base(client, factory)
    person, number = await factory.practitioner(by=base, positions=["caregiver"])
    await add_course(client, base, "SK", hours=12)
    for day in range(1, 6):
        assert (
            await log(client, base, person.id, "SK", 12, dt.date(2025, 4, day), f"d{day}")
        ).status_code == 201
    assert (
        await log(client, base, person.id, "SK", "11.9", dt.date(2025, 4, 6), "d6")
    ).status_code == 201
    response = await _compliance(client, base, person.id)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["year"] == 2025 and body["practitioner_id"] == str(person.id)
    skills = _by_rule(body)["nj-yearly-skills-2021"]
    assert (skills["required_hours"], skills["earned_hours"], skills["met"]) == (72.0, 71.9, False)
    assert skills["period"] == "2025"
    assert '"earned_hours":71.9' in response.text  # one decimal on the wire
    assert number not in response.text
    assert (
        await log(client, base, person.id, "SK", "0.1", dt.date(2025, 4, 7), "d7")
    ).status_code == 201
    skills = _by_rule((await _compliance(client, base, person.id)).json())["nj-yearly-skills-2021"]
    assert (skills["earned_hours"], skills["met"]) == (72.0, True)
    # Ethics (40 h) applies to everyone in Nanjing; the director round does not apply to a caregiver.
    rules = _by_rule((await _compliance(client, base, person.id)).json())
    assert set(rules) == {
        "nj-yearly-skills-2021",
        "nj-yearly-ethics-2021",
        "js-caregiver-round-2021-2025",
    }
    assert rules["nj-yearly-ethics-2021"]["earned_hours"] == 0.0


async def test_year_boundary_dec_31_vs_jan_1(client, factory: Factory) -> None:
    base, _ = await accredited_base(client, factory)
    person, _ = await factory.practitioner(by=base, positions=["caregiver"])
    await add_course(client, base, "SK", hours=12)
    await add_course(client, base, "ROUND", category="caregiver_round", hours=12)
    assert (
        await log(client, base, person.id, "SK", 12, dt.date(2024, 12, 31), "dec31")
    ).status_code == 201
    assert (
        await log(client, base, person.id, "SK", 3, dt.date(2025, 1, 1), "jan1")
    ).status_code == 201
    assert (
        await log(client, base, person.id, "ROUND", 10, dt.date(2024, 6, 1), "r24")
    ).status_code == 201
    assert (
        await log(client, base, person.id, "ROUND", 5, dt.date(2025, 6, 1), "r25")
    ).status_code == 201
    assert (
        await log(client, base, person.id, "ROUND", 7, dt.date(2026, 1, 1), "r26")
    ).status_code == 201
    y2024 = _by_rule((await _compliance(client, base, person.id, 2024)).json())
    y2025 = _by_rule((await _compliance(client, base, person.id, 2025)).json())
    assert y2024["nj-yearly-skills-2021"]["earned_hours"] == 12.0
    assert y2025["nj-yearly-skills-2021"]["earned_hours"] == 3.0
    # The 2021–2025 cycle counts 2024 and 2025, not 2026 (a new cycle, a new rule version).
    assert y2024["js-caregiver-round-2021-2025"]["earned_hours"] == 15.0
    assert y2025["js-caregiver-round-2021-2025"]["period"] == "2021\u20132025"
    y2026 = _by_rule((await _compliance(client, base, person.id, 2026)).json())
    assert y2026["js-caregiver-round-2026-2030"]["earned_hours"] == 7.0


async def test_rules_depend_on_region_and_positions(client, factory: Factory) -> None:
    base, _ = await accredited_base(client, factory, region="320505")
    suzhou_director, _ = await factory.practitioner(by=base, positions=["director"])
    beijing = await factory.org("regulator", region="110000")
    bj_person, _ = await factory.practitioner(by=beijing, positions=["caregiver"], region="110101")
    rules = _by_rule((await _compliance(client, base, suzhou_director.id)).json())
    assert set(rules) == {"js-director-round-2021-2025"}
    assert (await _compliance(client, beijing, bj_person.id)).json()["rules"] == []


async def test_visibility(client, factory: Factory) -> None:
    base, regulator = await accredited_base(client, factory)
    other_base, _ = await accredited_base(client, factory, region="320104", regulator=regulator)
    employer = await factory.org("institution", region="320102")
    stranger_inst = await factory.org("institution", region="320102")
    suzhou = await factory.org("regulator", region="320500")
    admin = await factory.org("admin", region=None)
    person, _ = await factory.practitioner(by=employer)
    await add_course(client, base, "SK", hours=12)
    assert (
        await log(client, base, person.id, "SK", 2, dt.date(2025, 3, 1), "v1")
    ).status_code == 201
    for allowed in (base, employer, regulator):
        assert (await _compliance(client, allowed, person.id)).status_code == 200
    for hidden in (other_base, stranger_inst, suzhou):
        response = await _compliance(client, hidden, person.id)
        assert response.status_code == 404
        assert response.json()["type"] == "urn:workforce:practitioner_not_found"
    assert (await _compliance(client, admin, person.id)).status_code == 403
    assert (await client.get(f"/api/v1/practitioners/{person.id}/compliance")).status_code == 401
    bad_year = await _compliance(client, base, person.id, 1800)
    assert bad_year.status_code == 422 and bad_year.json()["reasons"][0]["code"] == "invalid_year"
    this_year = await _compliance(client, base, person.id, None)
    assert this_year.json()["year"] == today_in_china().year


async def test_running_totals_equal_engine_over_records(
    client, factory: Factory, session, ctx
) -> None:
    """Random completions and voids: compliance from the totals == the engine over the records."""
    rng = random.Random(7)
    base, regulator = await accredited_base(client, factory)
    other, _ = await accredited_base(client, factory, region="320104", regulator=regulator)
    people = [
        (
            await factory.practitioner(
                by=base,
                positions=rng.choice([["caregiver"], ["director"], ["caregiver", "director"]]),
            )
        )[0]
        for _ in range(4)
    ]
    for actor in (base, other):
        await add_course(client, actor, "SK", hours=8)
        await add_course(client, actor, "ETH", category="ethics", hours=6)
        await add_course(client, actor, "RD", category="caregiver_round", hours=8)
        await add_course(client, actor, "DR", category="director_round", hours=8, mode="online")
    logged = []
    for i in range(60):
        actor = rng.choice((base, other))
        person = rng.choice(people)
        day = dt.date(rng.choice((2024, 2025)), rng.randint(1, 12), rng.randint(1, 28))
        hours = rng.randint(1, 40) / 10
        response = await log(
            client, actor, person.id, rng.choice(("SK", "ETH", "RD", "DR")), hours, day, f"rnd-{i}"
        )
        if response.status_code == 201:
            logged.append((actor, response.json()["record_id"]))
    for actor, record_id in rng.sample(logged, 8):
        assert (
            await client.post(
                f"/api/v1/training-records/{record_id}/void",
                json={"reason": "更正"},
                headers=actor.headers,
            )
        ).status_code == 200
    for person in people:
        rows = (
            await session.execute(
                TrainingRecord.__table__.select().where(
                    TrainingRecord.practitioner_id == person.id, TrainingRecord.voided_at.is_(None)
                )
            )
        ).all()
        records = [
            RecordHours(
                category=r.category,
                completed_on=r.completed_on,
                hours_tenths=r.hours_tenths,
                mode=r.mode,
            )
            for r in rows
        ]
        for year in (2024, 2025):
            expected = evaluate(ctx.rules, person.region_code, person.positions, year, records)
            assert await service.compliance(session, ctx, person, year) == expected
    # The rule-met counts kept on the way equal a recount from scratch.
    recount = await aggregates.count_rules_met(session, ctx.rules, "")
    from sqlalchemy import select

    from workforce.training.models import RuleMetCount

    kept = {
        (r.region_code, r.rule_id, r.period_label): r.met
        for r in (await session.scalars(select(RuleMetCount))).all()
        if r.met
    }
    assert kept == dict(recount)
