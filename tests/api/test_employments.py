"""Employments: hiring through the gate, departures, lists, staff and institutions at risk."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.test_admission import (
    change_certificate,
    codes,
    give_certificate,
    jwks_verify,
    qualified,
    wire_hiring,
)
from tests.factories import Actor, Factory
from workforce.context import AppContext
from workforce.hiring.models import AdmissionCheck, Employment

pytestmark = pytest.mark.anyio


async def hire(
    client: Any,
    inst: Actor,
    number: str,
    position: str = "caregiver",
    key: str | None = None,
    **extra: Any,
) -> Any:
    headers = dict(inst.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    return await client.post(
        "/api/v1/employments",
        json={"id_number": number, "position": position, **extra},
        headers=headers,
    )


async def test_hire_refused_then_accepted(
    client: AsyncTestClient[Litestar],
    factory: Factory,
    session: AsyncSession,
    ctx: AppContext,
    caplog_all: pytest.LogCaptureFixture,
) -> None:
    regulator = await factory.org("regulator", region="320100")
    base = await factory.org("training_base")
    inst = await factory.org("institution")
    person, number = await factory.practitioner(by=base)

    refused = await hire(client, inst, number)
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    body = refused.json()
    assert body["type"] == "urn:workforce:admission_denied"
    assert codes(body) == ["no_valid_certificate"]
    assert "复查" in body["notice"]
    assert await session.scalar(select(func.count()).select_from(Employment)) == 0
    stored = await session.get(AdmissionCheck, __import__("uuid").UUID(body["check_id"]))
    assert stored is not None
    assert stored.purpose == "hire"
    assert stored.decision == "denied"
    # The institution cannot see the person (no employment link was made).
    assert (
        await client.get(f"/api/v1/practitioners/{person.id}", headers=inst.headers)
    ).status_code == 404

    await give_certificate(session, ctx, regulator, person)
    accepted = await hire(client, inst, number, started_on="2026-09-01")
    assert accepted.status_code == 201, accepted.text
    employment = accepted.json()
    assert employment["practitioner_id"] == str(person.id)
    assert employment["position"] == "caregiver"
    assert employment["started_on"] == "2026-09-01"
    assert employment["current"] is True
    assert employment["passes"] is True
    assert employment["id_number_masked"] == person.id_masked
    jwks = (await client.get("/.well-known/jwks.json")).json()
    _, claims = jwks_verify(jwks, employment["receipt"])
    assert claims["decision"] == "admitted"
    assert claims["check_id"] == employment["admission_check_id"]
    # Now employed: the institution sees the person.
    assert (
        await client.get(f"/api/v1/practitioners/{person.id}", headers=inst.headers)
    ).status_code == 200
    for response in (refused, accepted):
        assert number not in response.text
    assert number not in caplog_all.text


async def test_bad_input_changes_nothing(
    client: AsyncTestClient[Litestar], factory: Factory, session: AsyncSession, ctx: AppContext
) -> None:
    _, inst, _, number = await qualified(factory, session, ctx)
    not_registered = await hire(client, inst, factory.id_number())
    assert not_registered.status_code == 422
    assert not_registered.json()["type"] == "urn:workforce:not_registered"
    invalid = await hire(client, inst, number[:-1] + ("0" if number[-1] != "0" else "1"))
    assert invalid.status_code == 422
    assert "invalid_id_number" in codes(invalid.json())
    unknown = await hire(client, inst, number, position="pilot")
    assert unknown.status_code == 422
    assert unknown.json()["type"] == "urn:workforce:unknown_position"
    assert await session.scalar(select(func.count()).select_from(Employment)) == 0
    assert await session.scalar(select(func.count()).select_from(AdmissionCheck)) == 0


async def test_already_employed_and_a_second_employer(
    client: AsyncTestClient[Litestar], factory: Factory, session: AsyncSession, ctx: AppContext
) -> None:
    _, inst, _, number = await qualified(factory, session, ctx)
    other = await factory.org("institution")
    assert (await hire(client, inst, number)).status_code == 201
    twice = await hire(client, inst, number, position="cook")
    assert twice.status_code == 409
    assert twice.json()["type"] == "urn:workforce:already_employed"
    assert (await hire(client, other, number)).status_code == 201
    assert await session.scalar(select(func.count()).select_from(Employment)) == 2


async def test_idempotency_key(
    client: AsyncTestClient[Litestar], factory: Factory, session: AsyncSession, ctx: AppContext
) -> None:
    _, inst, _, number = await qualified(factory, session, ctx)
    first = await hire(client, inst, number, key="hire-0001")
    again = await hire(client, inst, number, key="hire-0001")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    assert await session.scalar(select(func.count()).select_from(Employment)) == 1
    reused = await hire(client, inst, number, position="cook", key="hire-0001")
    assert reused.status_code == 409
    assert reused.json()["type"] == "urn:workforce:idempotency_key_reused"


async def test_end_employment(
    client: AsyncTestClient[Litestar], factory: Factory, session: AsyncSession, ctx: AppContext
) -> None:
    regulator = await factory.org("regulator", region="320100")
    base = await factory.org("training_base")
    inst = await factory.org("institution")
    other = await factory.org("institution")
    person, number = await factory.practitioner(by=base)
    await give_certificate(session, ctx, regulator, person)
    employment = (await hire(client, inst, number, started_on="2026-01-05")).json()
    url = f"/api/v1/employments/{employment['employment_id']}/end"
    assert (await client.post(url, json={}, headers=other.headers)).status_code == 404
    assert (await client.post(url, json={}, headers=regulator.headers)).status_code == 403
    early = await client.post(url, json={"ended_on": "2025-12-31"}, headers=inst.headers)
    assert early.status_code == 422
    ended = await client.post(
        url, json={"ended_on": "2026-06-30", "reason": "合同到期"}, headers=inst.headers
    )
    assert ended.status_code == 200, ended.text
    assert ended.json()["current"] is False
    assert ended.json()["ended_on"] == "2026-06-30"
    assert ended.json()["end_reason"] == "合同到期"
    again = await client.post(url, headers=inst.headers)  # the body is optional
    assert again.status_code == 409
    assert again.json()["type"] == "urn:workforce:employment_ended"
    # The link ended with the employment; the person can be hired again.
    assert (
        await client.get(f"/api/v1/practitioners/{person.id}", headers=inst.headers)
    ).status_code == 404
    assert (await hire(client, inst, number)).status_code == 201


async def test_lists_and_visibility(
    client: AsyncTestClient[Litestar], factory: Factory, session: AsyncSession, ctx: AppContext
) -> None:
    regulator = await factory.org("regulator", region="320100")
    suzhou = await factory.org("regulator", region="320500")
    inst = await factory.org("institution", region="320102")
    other = await factory.org("institution", region="320102")
    numbers = []
    for _ in range(3):
        person, number = await factory.practitioner(by=inst)
        await give_certificate(session, ctx, regulator, person)
        numbers.append(number)
    ids = [(await hire(client, inst, n)).json()["employment_id"] for n in numbers[:2]]
    ids.append((await hire(client, other, numbers[2])).json()["employment_id"])
    await client.post(f"/api/v1/employments/{ids[0]}/end", json={}, headers=inst.headers)

    own = (await client.get("/api/v1/employments", headers=inst.headers)).json()
    assert [e["employment_id"] for e in own["items"]] == ids[:2]
    current = (await client.get("/api/v1/employments?current=true", headers=inst.headers)).json()
    assert [e["employment_id"] for e in current["items"]] == [ids[1]]
    page = (await client.get("/api/v1/employments?limit=2", headers=regulator.headers)).json()
    assert len(page["items"]) == 2
    rest = (
        await client.get(
            f"/api/v1/employments?limit=2&cursor={page['next_cursor']}", headers=regulator.headers
        )
    ).json()
    assert [e["employment_id"] for e in page["items"] + rest["items"]] == ids
    assert rest["next_cursor"] is None
    assert (await client.get("/api/v1/employments", headers=suzhou.headers)).json()["items"] == []
    assert (
        await client.get(f"/api/v1/employments/{ids[2]}", headers=inst.headers)
    ).status_code == 404
    assert (
        await client.get(f"/api/v1/employments/{ids[2]}", headers=regulator.headers)
    ).status_code == 200
    assert (await client.get("/api/v1/employments")).status_code == 401
    base = await factory.org("training_base")
    assert (await client.get("/api/v1/employments", headers=base.headers)).status_code == 403
    for response in (own, page, rest):
        for number in numbers:
            assert number not in str(response)
    bad_cursor = await client.get("/api/v1/employments?cursor=%%%", headers=inst.headers)
    assert bad_cursor.status_code == 400


async def test_staff_and_certificate_holding_rate(
    client: AsyncTestClient[Litestar],
    factory: Factory,
    session: AsyncSession,
    ctx: AppContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wire_hiring(monkeypatch)
    regulator = await factory.org("regulator", region="320100")
    suzhou = await factory.org("regulator", region="320500")
    inst = await factory.org("institution", region="320102")
    other = await factory.org("institution", region="320102")
    certs = []
    numbers = []
    for _ in range(2):
        person, number = await factory.practitioner(by=inst)
        certs.append(await give_certificate(session, ctx, regulator, person))
        numbers.append(number)
        assert (await hire(client, inst, number)).status_code == 201
    cook, cook_number = await factory.practitioner(by=inst, positions=["cook"])
    assert (await hire(client, inst, cook_number, position="cook")).status_code == 201
    await change_certificate(session, ctx, regulator, certs[1].serial, "revoke")

    url = f"/api/v1/institutions/{inst.org.id}/staff"
    response = await client.get(url, headers=inst.headers)
    assert response.status_code == 200, response.text
    staff = response.json()
    assert staff["staff_count"] == 3
    assert staff["certificate_required_count"] == 2
    assert staff["certificate_holding_count"] == 1
    assert staff["certificate_holding_rate"] == 0.5
    by_position = {(m["position"], m["certificate_status"]) for m in staff["items"]}
    assert by_position == {
        ("caregiver", "valid"),
        ("caregiver", "certificate_revoked"),
        ("cook", "not_required"),
    }
    assert all(m["compliance_status"] in ("met", "not_met", "no_rules") for m in staff["items"])
    assert {m["id_number_masked"] for m in staff["items"]} >= {cook.id_masked}
    for number in [*numbers, cook_number]:
        assert number not in response.text
    first = (await client.get(url + "?limit=2", headers=regulator.headers)).json()
    assert len(first["items"]) == 2
    assert first["certificate_holding_rate"] == 0.5
    second = (
        await client.get(url + f"?limit=2&cursor={first['next_cursor']}", headers=inst.headers)
    ).json()
    assert len(second["items"]) == 1
    assert second["next_cursor"] is None
    assert (await client.get(url, headers=other.headers)).status_code == 404
    assert (await client.get(url, headers=suzhou.headers)).status_code == 404

    at_risk = await client.get("/api/v1/reports/institutions-at-risk", headers=regulator.headers)
    assert at_risk.status_code == 200, at_risk.text
    items = at_risk.json()["items"]
    assert [i["org_id"] for i in items] == [str(inst.org.id)]
    assert items[0]["failing_count"] == 1
    assert items[0]["staff_count"] == 3
    assert items[0]["reasons"] == {"certificate_revoked": 1}
    far = await client.get("/api/v1/reports/institutions-at-risk", headers=suzhou.headers)
    assert far.json()["items"] == []
    denied = await client.get("/api/v1/reports/institutions-at-risk", headers=inst.headers)
    assert denied.status_code == 403
