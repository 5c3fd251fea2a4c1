"""Alerts: raised by a ban, a revocation, a suspension and an expiry, for the current employer only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.test_admission import change_certificate, give_certificate, record_ban, wire_hiring
from tests.api.test_employments import hire
from tests.factories import Actor, Factory
from workforce.certificates import service as certificates
from workforce.context import AppContext
from workforce.hiring.models import Alert, WebhookDelivery
from workforce.practitioners.models import Practitioner
from workforce.security.idnumber import today_in_china

pytestmark = pytest.mark.anyio


async def _alerts(client: Any, actor: Actor, query: str = "") -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/alerts{query}", headers=actor.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _employed_twice(
    client: Any, factory: Factory, session: AsyncSession, ctx: AppContext
) -> tuple[Actor, Actor, Actor, Practitioner, str, str]:
    """A caregiver who left ``previous`` and now works at ``current``; returns the cert serial."""
    regulator = await factory.org("regulator", region="320100")
    base = await factory.org("training_base")
    previous = await factory.org("institution", name="南京市玄武区小太阳托育园")
    current = await factory.org("institution", name="南京市玄武区小星星托育园")
    person, number = await factory.practitioner(by=base)
    cert = await give_certificate(session, ctx, regulator, person)
    first = (await hire(client, previous, number)).json()
    ended = await client.post(
        f"/api/v1/employments/{first['employment_id']}/end", json={}, headers=previous.headers
    )
    assert ended.status_code == 200
    assert (await hire(client, current, number)).status_code == 201
    return regulator, previous, current, person, number, cert.serial


async def test_revocation_alerts_the_current_employer_only(
    client: AsyncTestClient[Litestar],
    factory: Factory,
    session: AsyncSession,
    ctx: AppContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wire_hiring(monkeypatch)
    regulator, previous, current, person, number, serial = await _employed_twice(
        client, factory, session, ctx
    )
    await change_certificate(session, ctx, regulator, serial, "revoke")
    alerts = await _alerts(client, current)
    assert [a["kind"] for a in alerts] == ["certificate_revoked"]
    alert = alerts[0]
    assert alert["practitioner_id"] == str(person.id)
    assert alert["name"] == person.name
    assert alert["id_number_masked"] == person.id_masked
    assert "撤销" in alert["message"]
    assert "不再满足" in alert["message"]
    assert alert["details"]["serial"] == serial
    assert alert["details"]["still_qualified"] is False
    assert alert["acknowledged_at"] is None
    assert await _alerts(client, previous) == []
    response = await client.get("/api/v1/alerts", headers=current.headers)
    assert number not in response.text
    # The employment no longer passes.
    listed = (await client.get("/api/v1/employments?current=true", headers=current.headers)).json()
    assert listed["items"][0]["passes"] is False
    assert listed["items"][0]["failing_codes"] == ["certificate_revoked"]


async def test_ban_alerts_the_current_employer_only(
    client: AsyncTestClient[Litestar],
    factory: Factory,
    session: AsyncSession,
    ctx: AppContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wire_hiring(monkeypatch)
    regulator, previous, current, _, number, _ = await _employed_twice(
        client, factory, session, ctx
    )
    await record_ban(client, regulator, number)
    kinds = {a["kind"] for a in await _alerts(client, current)}
    assert "banned" in kinds
    banned = next(a for a in await _alerts(client, current) if a["kind"] == "banned")
    assert "从业禁止" in banned["message"]
    assert await _alerts(client, previous) == []


async def test_quashed_ban_restores_the_employment_status(
    client: AsyncTestClient[Litestar],
    factory: Factory,
    session: AsyncSession,
    ctx: AppContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wire_hiring(monkeypatch)
    regulator = await factory.org("regulator", region="320100")
    inst = await factory.org("institution")
    person, number = await factory.practitioner(by=inst, positions=["cook"])
    assert (await hire(client, inst, number, position="cook")).status_code == 201
    recorded = await record_ban(client, regulator, number)
    listed = (await client.get("/api/v1/employments", headers=inst.headers)).json()
    assert listed["items"][0]["failing_codes"] == ["banned"]
    quashed = await client.post(
        f"/api/v1/bans/{recorded['seq']}/correction",
        json={"effect": "quashed", "decision_ref": "（2026）苏01行终1号"},
        headers=regulator.headers,
    )
    assert quashed.status_code == 201, quashed.text
    listed = (await client.get("/api/v1/employments", headers=inst.headers)).json()
    assert listed["items"][0]["passes"] is True
    assert listed["items"][0]["failing_codes"] == []
    assert person.id_masked == listed["items"][0]["id_number_masked"]


async def test_expiry_alerts_the_current_employer_only(
    client: AsyncTestClient[Litestar],
    factory: Factory,
    session: AsyncSession,
    ctx: AppContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wire_hiring(monkeypatch)
    _, previous, current, person, _, serial = await _employed_twice(client, factory, session, ctx)
    cert = await certificates.get_by_serial(session, serial)
    cert.valid_until = today_in_china() - timedelta(days=1)
    await session.commit()
    assert await certificates.expire_due(session, ctx, today_in_china()) == 1
    await session.commit()
    alerts = await _alerts(client, current)
    assert [a["kind"] for a in alerts] == ["certificate_expired"]
    assert "到期" in alerts[0]["message"]
    assert await _alerts(client, previous) == []
    # expire_due is idempotent, and so are the alerts.
    assert await certificates.expire_due(session, ctx, today_in_china()) == 0
    await session.commit()
    assert len(await _alerts(client, current)) == 1
    assert person.id_masked in alerts[0]["message"]


async def test_suspension_of_one_of_two_certificates_says_still_qualified(
    client: AsyncTestClient[Litestar],
    factory: Factory,
    session: AsyncSession,
    ctx: AppContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wire_hiring(monkeypatch)
    regulator = await factory.org("regulator", region="320100")
    inst = await factory.org("institution")
    person, number = await factory.practitioner(by=inst)
    first = await give_certificate(session, ctx, regulator, person)
    await give_certificate(session, ctx, regulator, person, cert_type="baoyushi", level="5")
    assert (await hire(client, inst, number)).status_code == 201
    await change_certificate(session, ctx, regulator, first.serial, "suspend")
    (alert,) = await _alerts(client, inst)
    assert alert["kind"] == "certificate_suspended"
    assert alert["details"]["still_qualified"] is True
    assert "仍持有" in alert["message"]
    listed = (await client.get("/api/v1/employments", headers=inst.headers)).json()
    assert listed["items"][0]["passes"] is True


async def test_list_filter_ack_and_visibility(
    client: AsyncTestClient[Litestar],
    factory: Factory,
    session: AsyncSession,
    ctx: AppContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wire_hiring(monkeypatch)
    regulator, _, current, _, _, serial = await _employed_twice(client, factory, session, ctx)
    suzhou = await factory.org("regulator", region="320500")
    stranger = await factory.org("institution")
    await change_certificate(session, ctx, regulator, serial, "suspend")
    await change_certificate(session, ctx, regulator, serial, "reinstate")
    await change_certificate(session, ctx, regulator, serial, "revoke")
    alerts = await _alerts(client, current)
    assert [a["kind"] for a in alerts] == ["certificate_revoked", "certificate_suspended"]
    first = await _alerts(client, current, "?limit=1")
    response = await client.get("/api/v1/alerts?limit=1", headers=current.headers)
    cursor = response.json()["next_cursor"]
    second = await _alerts(client, current, f"?limit=1&cursor={cursor}")
    assert [a["alert_id"] for a in first + second] == [a["alert_id"] for a in alerts]

    target = alerts[1]["alert_id"]
    url = f"/api/v1/alerts/{target}/ack"
    assert (await client.post(url, headers=stranger.headers)).status_code == 404
    assert (await client.post(url, headers=regulator.headers)).status_code == 403
    acked = await client.post(url, headers=current.headers)
    assert acked.status_code == 200
    assert acked.json()["acknowledged_at"] is not None
    assert acked.json()["acknowledged_by"] == current.client_id
    again = await client.post(url, headers=current.headers)
    assert again.json()["acknowledged_at"] == acked.json()["acknowledged_at"]
    open_only = await _alerts(client, current, "?unacknowledged=true")
    assert [a["alert_id"] for a in open_only] == [alerts[0]["alert_id"]]
    assert len(await _alerts(client, regulator)) == 2
    assert await _alerts(client, suzhou) == []
    assert await _alerts(client, stranger) == []
    assert (await client.get("/api/v1/alerts")).status_code == 401
    base = await factory.org("training_base")
    assert (await client.get("/api/v1/alerts", headers=base.headers)).status_code == 403


async def test_alert_and_delivery_share_the_change_transaction(
    client: AsyncTestClient[Litestar],
    factory: Factory,
    session: AsyncSession,
    ctx: AppContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wire_hiring(monkeypatch)
    regulator, _, current, _, _, serial = await _employed_twice(client, factory, session, ctx)
    registered = await client.put(
        f"/api/v1/institutions/{current.org.id}/webhook",
        json={"url": "http://127.0.0.1:9/hook"},
        headers=current.headers,
    )
    assert registered.status_code == 200, registered.text
    # A change that rolls back leaves neither an alert nor a delivery.
    await certificates.change_status(session, ctx, regulator.principal, serial, "revoke", "误操作")
    assert await session.scalar(select(func.count()).select_from(Alert)) == 1
    await session.rollback()
    assert await session.scalar(select(func.count()).select_from(Alert)) == 0
    assert await session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0
    # One that commits leaves both.
    await change_certificate(session, ctx, regulator, serial, "revoke")
    assert await session.scalar(select(func.count()).select_from(Alert)) == 1
    delivery = await session.scalar(select(WebhookDelivery))
    assert delivery is not None
    assert delivery.status == "pending"
    assert b"certificate_revoked" in delivery.payload
