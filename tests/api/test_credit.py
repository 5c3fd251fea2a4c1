"""Credit events, appeals, grades, the public institution summary and the export."""

from __future__ import annotations

import csv
import hashlib
import hmac
import importlib.util
import io
import json
import uuid
from datetime import timedelta
from typing import Any

import msgspec
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from httpx import Response
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.test_admission import change_certificate, give_certificate
from tests.factories import Actor, Factory
from workforce import hooks
from workforce.context import AppContext
from workforce.credit import export as credit_export
from workforce.credit.models import CreditEvent, CreditEventStep, CreditEvidenceSalt
from workforce.credit.schemas import ExportRecord
from workforce.security import idnumber

pytestmark = pytest.mark.anyio

Client = AsyncTestClient[Litestar]

EVENTS = "/api/v1/credit-events"
TODAY = idnumber.today_in_china()
RECENT = TODAY - timedelta(days=30)


async def count(session: AsyncSession, model: Any) -> int:
    await session.rollback()  # a fresh snapshot (WAL readers keep theirs until they end)
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def record(client: Client, actor: Actor, **body: Any) -> Response:
    body.setdefault("occurred_on", RECENT.isoformat())
    return await client.post(EVENTS, json=body, headers=actor.headers)


async def grade_of(
    client: Client, regulator: Actor, practitioner_id: uuid.UUID, **params: Any
) -> dict[str, Any]:
    response = await client.get(
        f"/api/v1/credit/practitioners/{practitioner_id}", headers=regulator.headers, params=params
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def assert_problem(response: Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:workforce:{code}"
    assert body["status"] == status
    assert {"title", "detail", "reasons"} <= body.keys()
    assert code in [r["code"] for r in body["reasons"]]
    return body


@pytest.fixture
async def world(factory: Factory) -> dict[str, Any]:
    """Nanjing (regulator, institution, staff member), Suzhou, Jiangsu."""
    nanjing = await factory.org("regulator", region="320100")
    suzhou = await factory.org("regulator", region="320500", name="苏州市卫生健康委员会")
    jiangsu = await factory.org("regulator", region="320000", name="江苏省卫生健康委员会")
    inst = await factory.org("institution", region="320102")
    other_inst = await factory.org("institution", region="320104", name="南京市秦淮区小太阳托育园")
    suzhou_inst = await factory.org("institution", region="320505", name="苏州市虎丘区小月亮托育园")
    base = await factory.org("training_base")
    person, number = await factory.practitioner(by=inst)
    return {
        "nanjing": nanjing,
        "suzhou": suzhou,
        "jiangsu": jiangsu,
        "inst": inst,
        "other_inst": other_inst,
        "suzhou_inst": suzhou_inst,
        "base": base,
        "person": person,
        "number": number,
    }


# --- recording ------------------------------------------------------------------------------


async def test_record_practitioner_event_and_grade(
    client: Client, world: dict[str, Any], session: AsyncSession
) -> None:
    person, number = world["person"], world["number"]
    response = await record(
        client,
        world["nanjing"],
        practitioner_id=str(person.id),
        type="substantiated_complaint",
        severity="serious",
        evidence_ref="宁卫投诉〔2026〕12号",
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["subject_type"] == "practitioner"
    assert body["practitioner_id"] == str(person.id)
    assert body["institution_id"] is None
    assert body["type_name"] == "投诉属实"
    assert (body["polarity"], body["severity"], body["severity_level"]) == (
        "negative",
        "serious",
        2,
    )
    assert (body["status"], body["counts"]) == ("recorded", True)
    assert body["recorded_by"] == str(world["nanjing"].org.id)
    assert len(body["evidence_commitment"]) == 64
    assert "宁卫投诉" not in response.text
    assert number not in response.text

    credit = await grade_of(client, world["nanjing"], person.id)
    assert (credit["grade"], credit["score"], credit["points"]) == ("B", 92, -8)
    assert credit["label"] == "基本守信"
    assert credit["joint_punishment"] is False
    assert credit["id_number_masked"] == idnumber.mask(number)
    assert credit["ban_status"] == "not_banned"
    (item,) = credit["explanation"]
    assert item["event_id"] == body["event_id"]
    assert item["rule"] == "points.substantiated_complaint.serious"
    assert (item["counted"], item["points"]) == (True, -8)
    assert credit["window_to"] == TODAY.isoformat()
    assert number not in json.dumps(credit)
    assert await count(session, CreditEvent) == 1


async def test_default_severity_comes_from_the_type(client: Client, world: dict[str, Any]) -> None:
    response = await record(
        client, world["nanjing"], institution_id=str(world["inst"].org.id), type="failed_inspection"
    )
    assert response.status_code == 201, response.text
    assert response.json()["severity"] == "serious"
    numeric = await record(
        client,
        world["nanjing"],
        institution_id=str(world["inst"].org.id),
        type="failed_inspection",
        severity=3,
        polarity="negative",
    )
    assert numeric.json()["severity"] == "grave"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"type": "gossip"}, 422, "unknown_event_type"),
        ({"type": "commendation", "occurred_on": "FUTURE"}, 422, "future_date"),
        ({"type": "failed_inspection"}, 422, "event_type_not_applicable"),
        ({"type": "commendation", "polarity": "negative"}, 422, "polarity_mismatch"),
        ({"type": "commendation", "institution_id": "INST"}, 422, "subject_required"),
        ({"type": "commendation", "practitioner_id": None}, 422, "subject_required"),
        ({"type": "commendation", "severity": 4}, 400, "validation_failed"),
        ({"type": "commendation", "surprise": 1}, 400, "validation_failed"),
        (
            {"type": "commendation", "corrects_event_id": str(uuid.uuid4())},
            404,
            "credit_event_not_found",
        ),
    ],
)
async def test_bad_input_is_refused_and_changes_nothing(
    client: Client,
    world: dict[str, Any],
    session: AsyncSession,
    caplog_all: pytest.LogCaptureFixture,
    body: dict[str, Any],
    status: int,
    code: str,
) -> None:
    payload: dict[str, Any] = {
        "practitioner_id": str(world["person"].id),
        "occurred_on": RECENT.isoformat(),
    }
    payload.update(body)
    if payload["occurred_on"] == "FUTURE":
        payload["occurred_on"] = (TODAY + timedelta(days=1)).isoformat()
    if payload.get("institution_id") == "INST":
        payload["institution_id"] = str(world["inst"].org.id)
    response = await client.post(EVENTS, json=payload, headers=world["nanjing"].headers)
    if status == 400:
        assert response.status_code in {400, 422}, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
    else:
        assert_problem(response, status, code)
    assert world["number"] not in response.text
    assert world["number"] not in caplog_all.text
    assert await count(session, CreditEvent) == 0


async def test_tenancy_and_roles(
    client: Client, world: dict[str, Any], session: AsyncSession
) -> None:
    person, inst, suzhou_inst = world["person"], world["inst"], world["suzhou_inst"]
    event = {"type": "commendation", "practitioner_id": str(person.id)}
    assert_problem(await record(client, world["suzhou"], **event), 404, "practitioner_not_found")
    outside = await record(
        client, world["nanjing"], type="failed_inspection", institution_id=str(suzhou_inst.org.id)
    )
    assert_problem(outside, 403, "out_of_jurisdiction")
    assert_problem(await record(client, inst, **event), 403, "role_not_allowed")
    assert_problem(await record(client, world["base"], **event), 403, "role_not_allowed")
    anonymous = await client.post(EVENTS, json={**event, "occurred_on": RECENT.isoformat()})
    assert anonymous.status_code == 401
    unknown_inst = await record(
        client, world["nanjing"], type="failed_inspection", institution_id=str(uuid.uuid4())
    )
    assert_problem(unknown_inst, 404, "institution_not_found")
    assert await count(session, CreditEvent) == 0
    # The province covers Nanjing.
    assert (await record(client, world["jiangsu"], **event)).status_code == 201
    # Reading grades: regulators of the jurisdiction only.
    url = f"/api/v1/credit/practitioners/{person.id}"
    assert (await client.get(url, headers=world["jiangsu"].headers)).status_code == 200
    assert_problem(
        await client.get(url, headers=world["suzhou"].headers), 404, "practitioner_not_found"
    )
    assert_problem(await client.get(url, headers=inst.headers), 403, "role_not_allowed")
    assert (await client.get(url)).status_code == 401


async def test_idempotent_retry(
    client: Client, world: dict[str, Any], session: AsyncSession
) -> None:
    body = {
        "practitioner_id": str(world["person"].id),
        "type": "commendation",
        "occurred_on": RECENT.isoformat(),
    }
    headers = {**world["nanjing"].headers, "Idempotency-Key": "evt-1"}
    first = await client.post(EVENTS, json=body, headers=headers)
    again = await client.post(EVENTS, json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert again.headers.get("idempotent-replayed") == "true"
    reused = await client.post(
        EVENTS, json={**body, "type": "skills_competition_award"}, headers=headers
    )
    assert_problem(reused, 409, "idempotency_key_reused")
    assert await count(session, CreditEvent) == 1


# --- appeals --------------------------------------------------------------------------------


async def _appeal(client: Client, actor: Actor, event_id: str) -> Response:
    return await client.post(
        f"{EVENTS}/{event_id}/appeal",
        json={"grounds": "投诉内容与事实不符，申请复查"},
        headers=actor.headers,
    )


async def _decide(client: Client, actor: Actor, event_id: str, outcome: str) -> Response:
    return await client.post(
        f"{EVENTS}/{event_id}/appeal-decision",
        json={"outcome": outcome, "reason": "经复查，原记录依据不足"},
        headers=actor.headers,
    )


async def test_appeal_overturned_stops_counting(
    client: Client, world: dict[str, Any], session: AsyncSession
) -> None:
    person, inst, nanjing = world["person"], world["inst"], world["nanjing"]
    created = await record(
        client,
        nanjing,
        practitioner_id=str(person.id),
        type="code_of_conduct_violation",
        severity=2,
    )
    event_id = created.json()["event_id"]
    assert (await grade_of(client, nanjing, person.id))["grade"] == "B"  # 100 - 15

    appealed = await _appeal(client, inst, event_id)
    assert appealed.status_code == 201, appealed.text
    assert (appealed.json()["status"], appealed.json()["counts"]) == ("contested", True)
    assert [s["step"] for s in appealed.json()["steps"]] == ["appeal"]
    # A contested event still counts until decided.
    contested = await grade_of(client, nanjing, person.id)
    assert contested["grade"] == "B"
    assert contested["explanation"][0]["status"] == "contested"

    assert_problem(await _appeal(client, inst, event_id), 409, "appeal_pending")
    assert_problem(await _decide(client, inst, event_id, "overturned"), 403, "role_not_allowed")
    assert_problem(
        await _decide(client, world["suzhou"], event_id, "overturned"),
        404,
        "credit_event_not_found",
    )
    assert_problem(
        await _appeal(client, world["other_inst"], event_id), 404, "credit_event_not_found"
    )
    assert_problem(await _appeal(client, nanjing, event_id), 403, "role_not_allowed")

    decided = await _decide(client, nanjing, event_id, "overturned")
    assert decided.status_code == 201, decided.text
    assert (decided.json()["status"], decided.json()["counts"]) == ("overturned", False)
    after = await grade_of(client, nanjing, person.id)
    assert (after["grade"], after["score"]) == ("A", 100)
    assert after["explanation"][0]["why"] == "overturned"

    steps_before = await count(session, CreditEventStep)
    assert_problem(await _appeal(client, inst, event_id), 409, "appeal_already_decided")
    assert_problem(
        await _decide(client, nanjing, event_id, "upheld"), 409, "appeal_already_decided"
    )
    assert await count(session, CreditEventStep) == steps_before == 2


async def test_appeal_upheld_keeps_counting(client: Client, world: dict[str, Any]) -> None:
    inst, jiangsu = world["inst"], world["jiangsu"]
    created = await record(
        client,
        world["nanjing"],
        institution_id=str(inst.org.id),
        type="failed_inspection",
        severity=1,
    )
    event_id = created.json()["event_id"]
    assert (await _appeal(client, inst, event_id)).status_code == 201
    decided = await _decide(client, jiangsu, event_id, "upheld")  # the province covers Nanjing
    assert decided.json()["status"] == "upheld"
    summary = (await client.get(f"/api/v1/credit/institutions/{inst.org.id}")).json()
    assert summary["score"] == 95
    assert summary["inspections"] == [
        {
            "inspected_on": RECENT.isoformat(),
            "result": "failed",
            "status": "upheld",
            "draw_id": None,
        }
    ]


async def test_appeal_guards(client: Client, world: dict[str, Any]) -> None:
    nanjing, inst = world["nanjing"], world["inst"]
    positive = await record(
        client, nanjing, practitioner_id=str(world["person"].id), type="commendation"
    )
    assert_problem(await _appeal(client, inst, positive.json()["event_id"]), 422, "not_appealable")
    negative = await record(
        client, nanjing, institution_id=str(inst.org.id), type="unfiled_operation"
    )
    event_id = negative.json()["event_id"]
    assert_problem(await _decide(client, nanjing, event_id, "upheld"), 409, "no_pending_appeal")
    assert_problem(
        await _appeal(client, world["other_inst"], event_id), 404, "credit_event_not_found"
    )
    assert (
        await client.post(f"{EVENTS}/{event_id}/appeal", json={"grounds": "理由充分"})
    ).status_code == 401
    assert_problem(await _appeal(client, inst, str(uuid.uuid4())), 404, "credit_event_not_found")


async def test_d_means_joint_punishment(client: Client, world: dict[str, Any]) -> None:
    person, nanjing = world["person"], world["nanjing"]
    await record(
        client,
        nanjing,
        practitioner_id=str(person.id),
        type="falsified_training_record",
        severity="grave",
    )
    await record(client, nanjing, practitioner_id=str(person.id), type="commendation", severity=3)
    credit = await grade_of(client, nanjing, person.id)
    assert credit["score"] == 61  # C by score; a grave falsified record is D whatever the score
    assert credit["grade"] == "D"
    assert credit["label"] == "失信"
    assert credit["joint_punishment"] is True
    assert credit["decided_by"] == "ceiling"


async def test_correction_replaces_the_event(
    client: Client, world: dict[str, Any], session: AsyncSession, factory: Factory
) -> None:
    person, nanjing = world["person"], world["nanjing"]
    first = await record(
        client,
        nanjing,
        practitioner_id=str(person.id),
        type="code_of_conduct_violation",
        severity="grave",
    )
    first_id = first.json()["event_id"]
    assert (await grade_of(client, nanjing, person.id))["grade"] == "C"
    fixed = await record(
        client,
        nanjing,
        practitioner_id=str(person.id),
        type="code_of_conduct_violation",
        severity="minor",
        corrects_event_id=first_id,
    )
    assert fixed.status_code == 201, fixed.text
    assert fixed.json()["corrects_event_id"] == first_id
    original = (await client.get(f"{EVENTS}/{first_id}", headers=nanjing.headers)).json()
    assert (original["status"], original["counts"]) == ("corrected", False)
    assert original["corrected_by_event_id"] == fixed.json()["event_id"]
    credit = await grade_of(client, nanjing, person.id)
    assert (credit["grade"], credit["score"]) == ("B", 94)
    again = await record(
        client,
        nanjing,
        practitioner_id=str(person.id),
        type="commendation",
        corrects_event_id=first_id,
    )
    assert_problem(again, 409, "event_corrected")
    other, _ = await factory.practitioner(by=world["inst"])
    mismatch = await record(
        client,
        nanjing,
        practitioner_id=str(other.id),
        type="commendation",
        corrects_event_id=fixed.json()["event_id"],
    )
    assert_problem(mismatch, 422, "correction_subject_mismatch")
    assert_problem(await _appeal(client, world["inst"], first_id), 409, "event_corrected")
    assert await count(session, CreditEvent) == 2


async def test_withdrawal(client: Client, world: dict[str, Any]) -> None:
    person, nanjing = world["person"], world["nanjing"]
    created = await record(
        client, nanjing, practitioner_id=str(person.id), type="administrative_penalty", severity=1
    )
    event_id = created.json()["event_id"]
    url = f"{EVENTS}/{event_id}/withdrawal"
    reason = {"reason": "录入对象错误"}
    assert_problem(
        await client.post(url, json=reason, headers=world["suzhou"].headers),
        404,
        "credit_event_not_found",
    )
    assert_problem(
        await client.post(url, json=reason, headers=world["inst"].headers), 403, "role_not_allowed"
    )
    withdrawn = await client.post(url, json=reason, headers=nanjing.headers)
    assert withdrawn.status_code == 201
    assert withdrawn.json()["status"] == "withdrawn"
    assert (await grade_of(client, nanjing, person.id))["score"] == 100
    assert_problem(
        await client.post(url, json=reason, headers=nanjing.headers), 409, "event_withdrawn"
    )
    assert_problem(await _appeal(client, world["inst"], event_id), 409, "event_withdrawn")


async def test_grade_as_known_on_a_past_date(client: Client, world: dict[str, Any]) -> None:
    person, nanjing = world["person"], world["nanjing"]
    await record(
        client, nanjing, practitioner_id=str(person.id), type="false_information", severity=3
    )
    today = await grade_of(client, nanjing, person.id)
    assert today["score"] == 60
    # Recorded today: on yesterday's date the registry did not know it yet (credit trace-back).
    yesterday = await grade_of(
        client, nanjing, person.id, on=(TODAY - timedelta(days=1)).isoformat()
    )
    assert (yesterday["score"], yesterday["explanation"]) == (100, [])
    future = await client.get(
        f"/api/v1/credit/practitioners/{person.id}",
        headers=nanjing.headers,
        params={"on": (TODAY + timedelta(days=1)).isoformat()},
    )
    assert_problem(future, 422, "future_date")


# --- evidence, triggers ---------------------------------------------------------------------


async def test_evidence_is_only_a_commitment(
    client: Client, world: dict[str, Any], session: AsyncSession, ctx: AppContext
) -> None:
    reference = "宁卫罚字〔2026〕第0042号"
    created = await record(
        client,
        world["nanjing"],
        institution_id=str(world["inst"].org.id),
        type="administrative_penalty",
        evidence_ref=reference,
    )
    event_id = uuid.UUID(created.json()["event_id"])
    await session.rollback()
    row = await session.get(CreditEvent, event_id)
    salt = await session.get(CreditEvidenceSalt, event_id)
    assert row is not None and salt is not None
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"workforce/credit/evidence-key/v1"
    ).derive(ctx.secrets.pii_index_key)
    expected = hmac.new(
        key, b"workforce/credit/evidence/v1" + salt.salt + reference.encode(), hashlib.sha256
    ).digest()
    assert row.evidence_commitment == expected
    raw = await session.execute(text("SELECT * FROM credit_events"))
    assert reference.encode() not in repr(raw.all()).encode()
    url = f"{EVENTS}/{event_id}/evidence-check"
    ok = await client.post(url, json={"evidence_ref": reference}, headers=world["nanjing"].headers)
    assert ok.json() == {"event_id": str(event_id), "matches": True}
    wrong = await client.post(
        url, json={"evidence_ref": "宁卫罚字〔2026〕第0043号"}, headers=world["nanjing"].headers
    )
    assert wrong.json()["matches"] is False
    assert (
        await client.post(url, json={"evidence_ref": reference}, headers=world["inst"].headers)
    ).status_code == 403


async def test_event_tables_are_insert_only(
    client: Client, world: dict[str, Any], session: AsyncSession
) -> None:
    created = await record(
        client, world["nanjing"], practitioner_id=str(world["person"].id), type="commendation"
    )
    event_id = uuid.UUID(created.json()["event_id"])
    await _appeal(client, world["inst"], str(event_id))  # refused (positive), so add a real step:
    negative = await record(
        client,
        world["nanjing"],
        practitioner_id=str(world["person"].id),
        type="substantiated_complaint",
    )
    await _appeal(client, world["inst"], negative.json()["event_id"])
    await session.rollback()
    for statement in (
        update(CreditEvent).where(CreditEvent.id == event_id).values(severity=3),
        delete(CreditEvent).where(CreditEvent.id == event_id),
        update(CreditEventStep).values(note="edited"),
        delete(CreditEventStep),
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            await session.execute(statement)
        await session.rollback()
    assert await count(session, CreditEvent) == 2
    assert await count(session, CreditEventStep) == 1


# --- lists and reads ------------------------------------------------------------------------


async def test_list_and_read_events(client: Client, world: dict[str, Any]) -> None:
    nanjing, inst = world["nanjing"], world["inst"]
    person_event = (
        await record(client, nanjing, practitioner_id=str(world["person"].id), type="commendation")
    ).json()
    inst_event = (
        await record(client, nanjing, institution_id=str(inst.org.id), type="passed_inspection")
    ).json()
    other = (
        await record(
            client,
            nanjing,
            institution_id=str(world["other_inst"].org.id),
            type="passed_inspection",
        )
    ).json()

    everything = (await client.get(EVENTS, headers=nanjing.headers)).json()
    assert [e["event_id"] for e in everything["items"]] == [
        person_event["event_id"],
        inst_event["event_id"],
        other["event_id"],
    ]
    assert (await client.get(EVENTS, headers=world["suzhou"].headers)).json()["items"] == []
    own = (await client.get(EVENTS, headers=inst.headers)).json()
    assert [e["event_id"] for e in own["items"]] == [inst_event["event_id"]]
    staff = (
        await client.get(
            EVENTS, headers=inst.headers, params={"practitioner_id": str(world["person"].id)}
        )
    ).json()
    assert [e["event_id"] for e in staff["items"]] == [person_event["event_id"]]
    hidden = await client.get(
        EVENTS,
        headers=world["other_inst"].headers,
        params={"practitioner_id": str(world["person"].id)},
    )
    assert_problem(hidden, 404, "practitioner_not_found")
    foreign = await client.get(
        EVENTS, headers=inst.headers, params={"institution_id": str(world["other_inst"].org.id)}
    )
    assert_problem(foreign, 404, "institution_not_found")
    page = (await client.get(EVENTS, headers=nanjing.headers, params={"limit": 2})).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = (
        await client.get(
            EVENTS, headers=nanjing.headers, params={"limit": 2, "cursor": page["next_cursor"]}
        )
    ).json()
    assert [e["event_id"] for e in rest["items"]] == [other["event_id"]]
    url = f"{EVENTS}/{other['event_id']}"
    assert (await client.get(url, headers=nanjing.headers)).status_code == 200
    assert_problem(await client.get(url, headers=inst.headers), 404, "credit_event_not_found")
    assert_problem(await client.get(url, headers=world["base"].headers), 403, "role_not_allowed")


async def test_policy_data_is_public(client: Client) -> None:
    types = await client.get("/api/v1/credit/event-types")
    assert types.status_code == 200
    by_code = {t["code"]: t for t in types.json()["types"]}
    assert by_code["failed_inspection"]["name"] == "检查不合格"
    assert by_code["failed_inspection"]["points"] == {"minor": 5, "serious": 12, "grave": 25}
    rules = await client.get("/api/v1/credit/grade-rules")
    assert rules.status_code == 200
    assert [g["min_score"] for g in rules.json()["grades"]] == [95, 80, 60, 0]
    assert rules.json()["grades"][-1]["joint_punishment"] is True


# --- public summary -------------------------------------------------------------------------


async def test_public_summary_shows_no_personal_data(
    client: Client, world: dict[str, Any], factory: Factory, session: AsyncSession, ctx: AppContext
) -> None:
    inst, nanjing = world["inst"], world["nanjing"]
    carer, carer_number = await factory.practitioner(by=inst)
    cook, cook_number = await factory.practitioner(by=inst, positions=["cook"])
    staff = [world["person"], carer, cook]
    numbers = [world["number"], carer_number, cook_number]
    # Hired through the hiring gate: two caregivers with certificates, one cook (needs none).
    revoked = None
    for person, number, position in zip(
        staff, numbers, ["caregiver", "caregiver", "cook"], strict=True
    ):
        if position == "caregiver":
            revoked = await give_certificate(session, ctx, nanjing, person)
            await session.commit()
        hired = await client.post(
            "/api/v1/employments",
            json={"id_number": number, "position": position},
            headers=inst.headers,
        )
        assert hired.status_code == 201, hired.text
    assert revoked is not None
    await change_certificate(session, ctx, nanjing, revoked.serial, "revoke")
    for person in staff:
        await record(
            client, nanjing, practitioner_id=str(person.id), type="substantiated_complaint"
        )
    await record(client, nanjing, institution_id=str(inst.org.id), type="passed_inspection")
    await record(client, nanjing, institution_id=str(inst.org.id), type="commendation", severity=2)

    response = await client.get(f"/api/v1/credit/institutions/{inst.org.id}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == inst.org.name
    assert body["uscc"] == inst.org.uscc
    assert body["filing_status"] == "filed"
    assert body["region_name"] == "玄武区"
    assert (body["grade"], body["score"]) == ("A", 105)  # base 100 + 1 + 4 positive points
    assert body["joint_punishment"] is False
    certified = body["certified"]
    assert (certified["staff_count"], certified["certificate_required_count"]) == (3, 2)
    assert (certified["certified_count"], certified["certified_rate"]) == (1, 0.5)
    assert certified["as_of"] == TODAY.isoformat()
    assert body["inspections"] == [
        {
            "inspected_on": RECENT.isoformat(),
            "result": "passed",
            "status": "recorded",
            "draw_id": None,
        }
    ]
    assert {e["type"] for e in body["events"]} == {"passed_inspection", "commendation"}
    for person, number in zip(staff, numbers, strict=True):
        assert person.name not in response.text
        assert str(person.id) not in response.text
        assert number not in response.text
        assert idnumber.mask(number) not in response.text
        assert number[6:14] not in response.text  # birth date
        assert number[:6] + "*" not in response.text
    missing = await client.get(f"/api/v1/credit/institutions/{uuid.uuid4()}")
    assert_problem(missing, 404, "institution_not_found")
    regulator = await client.get(f"/api/v1/credit/institutions/{nanjing.org.id}")
    assert_problem(regulator, 404, "institution_not_found")


async def test_institution_d_is_public(client: Client, world: dict[str, Any]) -> None:
    inst = world["inst"]
    await record(
        client,
        world["nanjing"],
        institution_id=str(inst.org.id),
        type="employing_banned_person",
        severity="grave",
    )
    body = (await client.get(f"/api/v1/credit/institutions/{inst.org.id}")).json()
    assert (body["grade"], body["joint_punishment"], body["label"]) == ("D", True, "失信")


# --- export ---------------------------------------------------------------------------------


async def test_export_json_and_csv(client: Client, world: dict[str, Any]) -> None:
    nanjing, person, number = world["nanjing"], world["person"], world["number"]
    ev1 = (
        await record(
            client,
            nanjing,
            practitioner_id=str(person.id),
            type="substantiated_complaint",
            evidence_ref="x-1",
        )
    ).json()
    ev2 = (
        await record(
            client, nanjing, institution_id=str(world["inst"].org.id), type="failed_inspection"
        )
    ).json()
    await record(
        client,
        world["suzhou"],
        institution_id=str(world["suzhou_inst"].org.id),
        type="passed_inspection",
    )
    await _appeal(client, world["inst"], ev2["event_id"])

    as_json = await client.get(
        "/api/v1/credit/export", headers=nanjing.headers, params={"format": "json"}
    )
    assert as_json.status_code == 200, as_json.text
    document = as_json.json()
    assert document["schema_version"] == "workforce/credit-export/v1"
    assert document["count"] == 2
    records = msgspec.convert(document["records"], list[ExportRecord], strict=False)
    assert [str(r.record_id) for r in records] == [ev1["event_id"], ev2["event_id"]]
    first, second = records
    assert (first.subject_type, first.subject_name) == ("practitioner", person.name)
    assert first.subject_id_number_masked == idnumber.mask(number)
    assert first.subject_uscc is None
    assert first.evidence_commitment == ev1["evidence_commitment"]
    assert (second.subject_type, second.subject_uscc, second.status) == (
        "institution",
        world["inst"].org.uscc,
        "contested",
    )
    assert second.updated_at > second.recorded_at
    assert number not in as_json.text

    as_csv = await client.get(
        "/api/v1/credit/export", headers=nanjing.headers, params={"format": "csv"}
    )
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert (
        list(rows[0].keys())
        == list(credit_export.CSV_FIELDS)
        == list(document["records"][0].keys())
    )
    assert [r["record_id"] for r in rows] == [ev1["event_id"], ev2["event_id"]]
    assert rows[0]["subject_id_number_masked"] == idnumber.mask(number)
    assert rows[0]["subject_uscc"] == ""
    assert rows[1]["counts"] == "true"
    assert number not in as_csv.text
    for row, item in zip(rows, document["records"], strict=True):
        for key, value in item.items():
            expected = (
                ""
                if value is None
                else ("true" if value is True else "false" if value is False else str(value))
            )
            assert row[key] == expected, key

    suzhou = (await client.get("/api/v1/credit/export", headers=world["suzhou"].headers)).json()
    assert [r["subject_id"] for r in suzhou["records"]] == [str(world["suzhou_inst"].org.id)]
    later = (
        await client.get(
            "/api/v1/credit/export",
            headers=nanjing.headers,
            params={"since": (TODAY + timedelta(days=1)).isoformat()},
        )
    ).json()
    assert later["count"] == 0
    since_today = (
        await client.get(
            "/api/v1/credit/export", headers=nanjing.headers, params={"since": TODAY.isoformat()}
        )
    ).json()
    assert since_today["count"] == 2
    assert_problem(
        await client.get("/api/v1/credit/export", headers=world["inst"].headers),
        403,
        "role_not_allowed",
    )
    assert (await client.get("/api/v1/credit/export")).status_code == 401
    bad = await client.get(
        "/api/v1/credit/export", headers=nanjing.headers, params={"format": "xml"}
    )
    assert bad.status_code == 400


def test_documented_export_fields_match_the_schema() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "credit-export.md").read_text(
        encoding="utf-8"
    )
    for field in credit_export.CSV_FIELDS:
        assert f"`{field}`" in doc, field


# --- the ban ledger -------------------------------------------------------------------------

LEDGER = importlib.util.find_spec("workforce.ledger.service") is not None


@pytest.mark.skipif(
    not LEDGER, reason="the ledger domain (workforce.ledger.service) is not installed yet"
)
async def test_a_ban_means_d(client: Client, world: dict[str, Any]) -> None:
    person, number, nanjing = world["person"], world["number"], world["nanjing"]
    await record(client, nanjing, practitioner_id=str(person.id), type="commendation", severity=3)
    before = await grade_of(client, nanjing, person.id)
    assert (before["grade"], before["ban_status"]) == ("A", "not_banned")
    ban = await client.post(
        "/api/v1/bans",
        json={
            "id_number": number,
            "kind": "lifetime",
            "reason_code": "child_abuse",
            "decision_ref": "宁卫禁字〔2026〕1号",
            "related_case": "（2026）苏0102刑初1号",
        },
        headers=nanjing.headers,
    )
    assert ban.status_code == 201, ban.text
    after = await grade_of(client, nanjing, person.id)
    assert (after["grade"], after["joint_punishment"], after["decided_by"]) == (
        "D",
        True,
        "ledger_ban",
    )
    assert after["ban_status"] == "banned"
    assert number not in json.dumps(after)


# --- the credit_grade_changed hook ----------------------------------------------------------

GRADE_CHANGES: list[dict[str, Any]] = []


async def capture_grade_change(session: Any, ctx: Any, **kwargs: Any) -> None:
    """A hook subscriber that records what it receives."""
    del session, ctx
    GRADE_CHANGES.append(kwargs)


async def test_grade_changes_are_emitted(
    client: Client, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(
        hooks.SUBSCRIBERS,
        "credit_grade_changed",
        ("tests.api.test_credit:capture_grade_change",),
    )
    GRADE_CHANGES.clear()
    person, inst, nanjing = world["person"], world["inst"], world["nanjing"]
    await record(client, nanjing, practitioner_id=str(person.id), type="commendation")
    assert GRADE_CHANGES == []  # A stays A
    created = await record(
        client, nanjing, practitioner_id=str(person.id), type="false_information", severity="grave"
    )
    assert [{"practitioner_id": person.id, "grade": "C", "previous": "A"}] == GRADE_CHANGES
    event_id = created.json()["event_id"]
    await _appeal(client, inst, event_id)
    assert len(GRADE_CHANGES) == 1  # an appeal does not change the grade
    await _decide(client, nanjing, event_id, "overturned")
    assert GRADE_CHANGES[-1] == {"practitioner_id": person.id, "grade": "A", "previous": "C"}
    await record(
        client, nanjing, institution_id=str(inst.org.id), type="safety_incident", severity="grave"
    )
    assert GRADE_CHANGES[-1] == {"institution_id": inst.org.id, "grade": "D", "previous": "A"}
