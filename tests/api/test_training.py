"""Training routes: accreditation, courses, completions (idempotency, refusals, voids), rules."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select

from tests.factories import Factory
from tests.unit.training.support import CATEGORIES, accredited_base, add_course, log
from workforce.practitioners.models import PractitionerLink
from workforce.security.idnumber import today_in_china
from workforce.training import service
from workforce.training.models import TrainingRecord, TrainingTotal

pytestmark = pytest.mark.anyio

DAY = dt.date(2025, 3, 10)


# --------------------------------------------------------------------------- accreditation


async def test_accreditation_supersedes_and_keeps_history(
    client, factory: Factory, session
) -> None:
    base, regulator = await accredited_base(
        client, factory, valid_from=dt.date(2020, 1, 1), valid_until=dt.date(2030, 12, 31)
    )
    url = f"/api/v1/training-bases/{base.org.id}/accreditation"
    second = await client.post(
        url,
        json={
            "level": "county",
            "valid_from": "2026-01-01",
            "valid_until": "2028-12-31",
            "categories": ["skills"],
            "certificate_types": [],
        },
        headers=regulator.headers,
    )
    assert second.status_code == 201, second.text
    current = await client.get(url, headers=base.headers)
    assert current.status_code == 200
    body = current.json()
    assert body["accreditation_id"] == second.json()["accreditation_id"]
    assert body["categories"] == ["skills"] and body["status"] == "active"
    assert (await client.get(url, headers=regulator.headers)).status_code == 200
    history = await client.get(f"{url}s", headers=regulator.headers)
    assert [a["level"] for a in history.json()["items"]] == ["county", "city"]
    # The newer one governs from its valid_from on; earlier days stay under the first.
    old = await service.current_accreditation(session, base.org.id, dt.date(2025, 6, 1))
    new = await service.current_accreditation(session, base.org.id, dt.date(2027, 6, 1))
    assert old is not None and old.categories == sorted(CATEGORIES)
    assert new is not None and new.categories == ["skills"]
    assert await service.current_accreditation(session, base.org.id, dt.date(2029, 6, 1)) is None
    assert await service.current_accreditation(session, base.org.id, dt.date(2019, 6, 1)) is None


async def test_accreditation_guards(client, factory: Factory) -> None:
    base = await factory.org("training_base", region="320102")
    suzhou = await factory.org("regulator", region="320500")
    county = await factory.org("regulator", region="320102")
    other_base = await factory.org("training_base", region="320104")
    url = f"/api/v1/training-bases/{base.org.id}/accreditation"
    body = {
        "level": "city",
        "valid_from": "2025-01-01",
        "valid_until": "2026-12-31",
        "categories": ["skills"],
    }
    assert (await client.post(url, json=body)).status_code == 401
    wrong_role = await client.post(url, json=body, headers=base.headers)
    assert (
        wrong_role.status_code == 403
        and wrong_role.json()["type"] == "urn:workforce:role_not_allowed"
    )
    outside = await client.post(url, json=body, headers=suzhou.headers)
    assert (
        outside.status_code == 403 and outside.json()["type"] == "urn:workforce:out_of_jurisdiction"
    )
    too_high = await client.post(url, json=body, headers=county.headers)
    assert too_high.status_code == 422
    assert too_high.json()["reasons"][0]["code"] == "level_above_regulator"
    bad = await client.post(
        url,
        json={
            **body,
            "level": "county",
            "valid_until": "2024-01-01",
            "certificate_types": ["nope"],
        },
        headers=county.headers,
    )
    assert bad.status_code == 422
    assert {r["code"] for r in bad.json()["reasons"]} == {
        "invalid_validity",
        "unknown_certificate_type",
    }
    assert bad.headers["content-type"].startswith("application/problem+json")
    missing = await client.post(
        f"/api/v1/training-bases/{uuid.uuid4()}/accreditation", json=body, headers=suzhou.headers
    )
    assert missing.status_code == 404
    assert (await client.get(url, headers=base.headers)).status_code == 404  # not yet accredited
    assert (await client.get(url, headers=other_base.headers)).status_code == 404
    assert (await client.get(url, headers=suzhou.headers)).status_code == 404


# --------------------------------------------------------------------------- courses


async def test_courses_per_catalogue_and_shared(client, factory: Factory) -> None:
    base, regulator = await accredited_base(client, factory)
    other, _ = await accredited_base(client, factory, region="320104", regulator=regulator)
    suzhou_base, _ = await accredited_base(client, factory, region="320505")
    await add_course(client, base, "SK-01", hours="12.5")
    duplicate = await client.post(
        "/api/v1/courses",
        json={"code": "SK-01", "title": "重复", "category": "skills", "hours": 2},
        headers=base.headers,
    )
    assert (
        duplicate.status_code == 409
        and duplicate.json()["type"] == "urn:workforce:course_code_taken"
    )
    await add_course(client, other, "SK-01", hours=3)  # another catalogue: fine
    shared = await add_course(client, regulator, "NJ-ETH", category="ethics", hours=40)
    assert shared["owner_kind"] == "regulator" and shared["region_code"] == "320100"
    listed = await client.get("/api/v1/courses", headers=base.headers)
    codes = sorted((c["code"], c["hours"]) for c in listed.json()["items"])
    assert codes == [("NJ-ETH", 40.0), ("SK-01", 12.5)]
    suzhou_codes = [
        c["code"]
        for c in (await client.get("/api/v1/courses", headers=suzhou_base.headers)).json()["items"]
    ]
    assert "NJ-ETH" not in suzhou_codes
    regulator_view = await client.get(
        "/api/v1/courses?category=skills&limit=1", headers=regulator.headers
    )
    page = regulator_view.json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = await client.get(
        f"/api/v1/courses?category=skills&limit=1&cursor={page['next_cursor']}",
        headers=regulator.headers,
    )
    assert len(rest.json()["items"]) == 1
    bad_hours = await client.post(
        "/api/v1/courses",
        json={"code": "X1", "title": "x", "category": "skills", "hours": 1.25},
        headers=base.headers,
    )
    assert (
        bad_hours.status_code == 422 and bad_hours.json()["reasons"][0]["code"] == "invalid_hours"
    )
    inst = await factory.org("institution")
    assert (
        await client.post(
            "/api/v1/courses",
            json={"code": "X", "title": "x", "category": "skills", "hours": 1},
            headers=inst.headers,
        )
    ).status_code == 403


# --------------------------------------------------------------------------- records


async def test_log_is_idempotent_and_links(client, factory: Factory, session) -> None:
    base, _ = await accredited_base(client, factory)
    person, number = await factory.practitioner(by=await factory.org("institution"))
    await add_course(client, base, "SK-01", hours=8)
    first = await log(client, base, person.id, "SK-01", "2.5", DAY, "R-1")
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["hours"] == 2.5 and body["category"] == "skills" and not body["voided"]
    assert number not in first.text
    again = await log(client, base, person.id, "SK-01", 2.5, DAY, "R-1")
    assert again.status_code == 200 and again.json() == body
    conflict = await log(client, base, person.id, "SK-01", 3, DAY, "R-1")
    assert (
        conflict.status_code == 409
        and conflict.json()["type"] == "urn:workforce:external_ref_conflict"
    )
    assert await session.scalar(select(func.count()).select_from(TrainingRecord)) == 1
    totals = await service.hours_totals(session, person.id)
    assert totals == {("skills", 2025, "in_person"): 25}
    link = await session.scalar(
        select(func.count())
        .select_from(PractitionerLink)
        .where(PractitionerLink.org_id == base.org.id, PractitionerLink.relation == "trained")
    )
    assert link == 1
    # The link lets the base see the practitioner now.
    assert (
        await client.get(f"/api/v1/practitioners/{person.id}", headers=base.headers)
    ).status_code == 200


async def test_each_refusal_code(client, factory: Factory, settings) -> None:
    base, regulator = await accredited_base(
        client,
        factory,
        categories=["skills"],
        valid_from=dt.date(2024, 1, 1),
        valid_until=dt.date(2025, 12, 31),
    )
    never = await factory.org("training_base")
    person, _ = await factory.practitioner(by=base)
    await add_course(client, base, "SK", hours=10)
    await add_course(client, base, "ETH", category="ethics", hours=10)
    await add_course(client, never, "SK", hours=10)

    async def codes(actor, **kw) -> set[str]:
        args = {
            "pid": person.id,
            "code": "SK",
            "hours": 2,
            "day": DAY,
            "ref": str(uuid.uuid4()),
        } | kw
        response = await log(
            client, actor, args["pid"], args["code"], args["hours"], args["day"], args["ref"]
        )
        assert response.status_code == 422, response.text
        body = response.json()
        assert response.headers["content-type"].startswith("application/problem+json")
        assert (
            body["status"] == 422 and body["type"] == f"urn:workforce:{body['reasons'][0]['code']}"
        )
        return {r["code"] for r in body["reasons"]}

    tomorrow = today_in_china() + dt.timedelta(days=1)
    assert "completed_in_future" in await codes(base, day=tomorrow)
    assert await codes(base, day=dt.date(2023, 12, 31)) == {"outside_accreditation"}
    assert await codes(never) == {"base_not_accredited"}
    assert await codes(base, code="ETH") == {"course_out_of_scope"}
    assert await codes(base, hours=10.5) == {"hours_exceed_course"}
    assert await codes(base, code="NOPE") == {"unknown_course"}
    assert await codes(base, pid=uuid.uuid4()) == {"practitioner_not_found"}
    assert await codes(base, hours="1.25") == {"invalid_hours"}
    assert await codes(base, hours=0) == {"invalid_hours"}
    assert await codes(base, hours="abc") == {"invalid_hours"}
    # Daily cap across all bases: 12 hours a day.
    other, _ = await accredited_base(client, factory, region="320104", regulator=regulator)
    await add_course(client, other, "SK", hours=12)
    assert (await log(client, base, person.id, "SK", 8, DAY, "cap-1")).status_code == 201
    assert (await log(client, other, person.id, "SK", 4, DAY, "cap-2")).status_code == 201
    assert await codes(other, hours="0.1") == {"daily_hours_exceeded"}
    assert (
        await log(client, other, person.id, "SK", 4, DAY + dt.timedelta(days=1), "cap-3")
    ).status_code == 201
    # Several at once.
    many = await codes(base, code="NOPE", day=tomorrow, pid=uuid.uuid4())
    assert many == {
        "unknown_course",
        "completed_in_future",
        "practitioner_not_found",
        "outside_accreditation",
    }
    assert settings.max_hours_per_day_tenths == 120


async def test_record_auth_and_validation(client, factory: Factory) -> None:
    base, regulator = await accredited_base(client, factory)
    person, _ = await factory.practitioner(by=base)
    body = {
        "practitioner_id": str(person.id),
        "course_code": "SK",
        "hours": 1,
        "completed_on": "2025-01-01",
        "external_ref": "x",
    }
    assert (await client.post("/api/v1/training-records", json=body)).status_code == 401
    assert (
        await client.post("/api/v1/training-records", json=body, headers=regulator.headers)
    ).status_code == 403
    unknown = await client.post(
        "/api/v1/training-records", json={**body, "extra": 1}, headers=base.headers
    )
    assert unknown.status_code == 400
    bad_ref = await client.post(
        "/api/v1/training-records", json={**body, "external_ref": "有 空格"}, headers=base.headers
    )
    assert bad_ref.status_code == 400


async def test_void_keeps_history_and_updates_totals(client, factory: Factory, session) -> None:
    base, regulator = await accredited_base(client, factory)
    other, _ = await accredited_base(client, factory, region="320104", regulator=regulator)
    inst = await factory.org("institution")
    person, _ = await factory.practitioner(by=inst)
    await add_course(client, base, "SK", hours=12)
    await add_course(client, other, "SK", hours=12)
    first = (await log(client, base, person.id, "SK", 10, DAY, "A")).json()
    await log(client, other, person.id, "SK", 2, DAY, "B")
    url = f"/api/v1/training-records/{first['record_id']}/void"
    assert (
        await client.post(url, json={"reason": "录入错误"}, headers=other.headers)
    ).status_code == 404
    voided = await client.post(url, json={"reason": "录入错误"}, headers=base.headers)
    assert voided.status_code == 200, voided.text
    assert voided.json()["voided"] and voided.json()["void_reason"] == "录入错误"
    again = await client.post(url, json={"reason": "录入错误"}, headers=base.headers)
    assert again.status_code == 409 and again.json()["type"] == "urn:workforce:already_voided"
    pid = person.id
    assert await service.hours_totals(session, pid) == {("skills", 2025, "in_person"): 20}
    await session.rollback()  # end the read (it expires the ORM objects: use pid from here)
    # The day's hours are free again.
    assert (await log(client, base, pid, "SK", 10, DAY, "C")).status_code == 201
    # History: a base sees its own records only; the employer and the regulator see all.
    own = await client.get(f"/api/v1/practitioners/{pid}/training-records", headers=base.headers)
    assert own.status_code == 200
    assert sorted((r["external_ref"], r["voided"]) for r in own.json()["items"]) == [
        ("A", True),
        ("C", False),
    ]
    for viewer in (inst, regulator):
        everything = await client.get(
            f"/api/v1/practitioners/{pid}/training-records", headers=viewer.headers
        )
        assert len(everything.json()["items"]) == 3
    stranger, _ = await accredited_base(client, factory, region="320106", regulator=regulator)
    hidden = await client.get(
        f"/api/v1/practitioners/{pid}/training-records", headers=stranger.headers
    )
    assert hidden.status_code == 404
    total = await session.scalar(
        select(TrainingTotal.hours_tenths).where(TrainingTotal.practitioner_id == pid)
    )
    assert total == 120


async def test_regulator_course_usable_by_covered_bases(client, factory: Factory) -> None:
    base, regulator = await accredited_base(client, factory)
    province = await factory.org("regulator", region="320000")
    await add_course(client, province, "JS-SK", hours=6)
    await add_course(client, regulator, "JS-SK", hours=10)  # Nanjing's wins over Jiangsu's there
    person, _ = await factory.practitioner(by=base)
    ok = await log(client, base, person.id, "JS-SK", 8, DAY, "shared-1")
    assert ok.status_code == 201, ok.text
    suzhou, _ = await accredited_base(client, factory, region="320505")
    # In Suzhou only the province's 6-hour course applies.
    refused = await log(
        client, suzhou, person.id, "JS-SK", 8, DAY + dt.timedelta(days=1), "shared-2"
    )
    assert (
        refused.status_code == 422 and refused.json()["reasons"][0]["code"] == "hours_exceed_course"
    )
    fine = await log(client, suzhou, person.id, "JS-SK", 6, DAY + dt.timedelta(days=1), "shared-2")
    assert fine.status_code == 201 and fine.json()["hours"] == 6


# --------------------------------------------------------------------------- rules


async def test_rules_are_public(client, ctx) -> None:
    response = await client.get("/api/v1/rules")
    assert response.status_code == 200
    body = response.json()
    assert body["version"] == ctx.rules.version and body["digest"] == ctx.rules.digest
    skills = next(r for r in body["rules"] if r["rule_id"] == "nj-yearly-skills-2021")
    assert skills["hours"] == 72.0 and skills["positions"] == ["all"] and skills["region"] == "3201"
    assert skills["categories"] == ["skills"] and skills["source"]["title"]
    round_rule = next(r for r in body["rules"] if r["rule_id"] == "js-caregiver-round-2026-2030")
    assert round_rule["period"] == "cycle" and round_rule["cycles"][0]["label"] == "2026\u20132030"
