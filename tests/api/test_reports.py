"""The regional workforce report: figures, sub-regions, jurisdiction filter, running == recount."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete

from tests.factories import Factory
from tests.unit.training.support import accredited_base, add_course, log
from workforce.training.models import AggregateState

pytestmark = pytest.mark.anyio


async def _seed(client, factory: Factory):
    province = await factory.org("regulator", region="320000")
    nanjing = await factory.org("regulator", region="320100")
    nj_base, _ = await accredited_base(client, factory, region="320102", regulator=nanjing)
    sz_base, _ = await accredited_base(client, factory, region="320505", regulator=province)
    await add_course(client, nj_base, "SK", hours=12)
    await add_course(client, nj_base, "ETH", category="ethics", hours=12, mode="online")
    await add_course(client, sz_base, "RD", category="caregiver_round", hours=12)
    xuanwu = [
        (await factory.practitioner(by=nj_base, positions=["caregiver"]))[0] for _ in range(2)
    ]
    qinhuai = (await factory.practitioner(by=nanjing, positions=["director"], region="320104"))[0]
    suzhou = (await factory.practitioner(by=sz_base, positions=["caregiver"]))[0]
    # xuanwu[0] meets the Nanjing skills rule (72 h in 2025); the others do not.
    for day in range(1, 7):
        assert (
            await log(client, nj_base, xuanwu[0].id, "SK", 12, dt.date(2025, 5, day), f"x0-{day}")
        ).status_code == 201
    assert (
        await log(client, nj_base, xuanwu[1].id, "SK", 5, dt.date(2025, 5, 1), "x1")
    ).status_code == 201
    assert (
        await log(client, nj_base, qinhuai.id, "ETH", "2.5", dt.date(2025, 5, 1), "q1")
    ).status_code == 201
    assert (
        await log(client, nj_base, qinhuai.id, "SK", 1, dt.date(2024, 5, 1), "q0")
    ).status_code == 201
    for day in range(1, 11):
        assert (
            await log(client, sz_base, suzhou.id, "RD", 12, dt.date(2024, 3, day), f"s-{day}")
        ).status_code == 201
    return province, nanjing, nj_base, sz_base


def _rules(figures: dict) -> dict[str, tuple[int, int, float | None]]:
    return {r["rule_id"]: (r["applicable"], r["met"], r["share"]) for r in figures["rules"]}


async def test_province_report_by_city(client, factory: Factory) -> None:
    province, nanjing, nj_base, _ = await _seed(client, factory)
    response = await client.get("/api/v1/reports/workforce?year=2025", headers=province.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (
        body["region_code"] == "320000" and body["region_name"] == "江苏省" and body["year"] == 2025
    )
    assert body["rule_counts"] == "running"
    totals = body["totals"]
    assert totals["practitioners"] == 4
    assert {
        h["category"]: (h["hours"], h["online_hours"], h["records"]) for h in totals["hours"]
    } == {
        "skills": (77.0, 0.0, 7),
        "ethics": (2.5, 2.5, 1),
    }
    assert _rules(totals) == {
        "nj-yearly-skills-2021": (3, 1, 0.3333),
        "nj-yearly-ethics-2021": (3, 0, 0.0),
        "js-caregiver-round-2021-2025": (3, 1, 0.3333),  # Suzhou: 120 h in 2024 counts in the cycle
        "js-director-round-2021-2025": (1, 0, 0.0),
    }
    subs = {s["region_code"]: s for s in body["sub_regions"]}
    assert set(subs) == {"320100", "320500"}
    assert subs["320100"]["region_name"] == "江苏省南京市" and subs["320100"]["practitioners"] == 3
    assert _rules(subs["320500"]) == {"js-caregiver-round-2021-2025": (1, 1, 1.0)}
    assert subs["320500"]["hours"] == []  # its hours were delivered in 2024
    # A city regulator: broken down by county; its default region is its jurisdiction.
    city = (await client.get("/api/v1/reports/workforce?year=2025", headers=nanjing.headers)).json()
    assert city["region_code"] == "320100"
    assert {s["region_code"]: s["practitioners"] for s in city["sub_regions"]} == {
        "320102": 2,
        "320104": 1,
    }
    county = (
        await client.get(
            "/api/v1/reports/workforce?year=2025&region=320102", headers=nanjing.headers
        )
    ).json()
    assert county["sub_regions"] == [] and county["totals"]["practitioners"] == 2
    assert _rules(county["totals"])["nj-yearly-skills-2021"] == (2, 1, 0.5)
    assert nj_base  # used by the seed


async def test_jurisdiction_filter_and_access(client, factory: Factory) -> None:
    province, nanjing, nj_base, _ = await _seed(client, factory)
    outside = await client.get(
        "/api/v1/reports/workforce?region=320000&year=2025", headers=nanjing.headers
    )
    assert (
        outside.status_code == 403 and outside.json()["type"] == "urn:workforce:out_of_jurisdiction"
    )
    suzhou = await client.get(
        "/api/v1/reports/workforce?region=320500&year=2025", headers=nanjing.headers
    )
    assert suzhou.status_code == 403
    beijing = await client.get("/api/v1/reports/workforce?region=110000", headers=province.headers)
    assert beijing.status_code == 403
    invalid = await client.get(
        "/api/v1/reports/workforce?region=99&year=2025", headers=province.headers
    )
    assert invalid.status_code == 422 and invalid.json()["reasons"][0]["code"] == "invalid_region"
    bad_year = await client.get("/api/v1/reports/workforce?year=1800", headers=province.headers)
    assert bad_year.status_code == 422
    assert (
        await client.get("/api/v1/reports/workforce", headers=nj_base.headers)
    ).status_code == 403
    assert (await client.get("/api/v1/reports/workforce")).status_code == 401
    national = await factory.org("regulator", region="000000")
    everything = (
        await client.get("/api/v1/reports/workforce?year=2025", headers=national.headers)
    ).json()
    assert everything["region_name"] == "全国" and [
        s["region_code"] for s in everything["sub_regions"]
    ] == ["320000"]


async def test_running_counts_equal_recount(client, factory: Factory, session) -> None:
    province, *_ = await _seed(client, factory)
    running = (
        await client.get("/api/v1/reports/workforce?year=2025", headers=province.headers)
    ).json()
    await session.execute(delete(AggregateState))  # as if the rule set had changed
    await session.commit()
    recounted = (
        await client.get("/api/v1/reports/workforce?year=2025", headers=province.headers)
    ).json()
    assert recounted["rule_counts"] == "recomputed"
    for report in (running, recounted):
        report.pop("generated_at")
        report.pop("rule_counts")
    assert running == recounted
