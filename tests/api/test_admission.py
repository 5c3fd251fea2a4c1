"""Admission checks: every reason code, the receipt verified with only the JWKS, no leaks.

The helpers at the top are shared by the other hiring tests (they import them from here).
"""

from __future__ import annotations

import base64
import hashlib
import warnings
from datetime import date, timedelta
from typing import Any

import pytest
from joserfc import jwt as jose_jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import KeySet
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Actor, Factory
from workforce import hooks
from workforce.audit.models import AccessLog
from workforce.certificates import service as certificates
from workforce.certificates.models import Certificate
from workforce.context import AppContext
from workforce.db import utcnow
from workforce.hiring.models import AdmissionCheck
from workforce.orgs.models import Org
from workforce.practitioners.models import Practitioner
from workforce.security import idnumber

pytestmark = pytest.mark.anyio

HIRING_SUBSCRIBERS = {
    "ban_recorded": "workforce.hiring.alerts:on_ban_recorded",
    "ban_corrected": "workforce.hiring.alerts:on_ban_corrected",
    "certificate_status_changed": "workforce.hiring.alerts:on_certificate_status_changed",
    "training_lapsed": "workforce.hiring.alerts:on_training_lapsed",
}
CHECK_KEYS = {
    "check_id",
    "decision",
    "reasons",
    "position",
    "checked_at",
    "receipt",
    "subject_salt",
    "notice",
}


# --------------------------------------------------------------------------- shared helpers


def wire_hiring(monkeypatch: pytest.MonkeyPatch) -> None:
    """Subscribe the hiring alert handlers (what the lead wires in ``hooks.SUBSCRIBERS``)."""
    subscribers = dict(hooks.SUBSCRIBERS)
    for event, target in HIRING_SUBSCRIBERS.items():
        if target not in subscribers[event]:
            subscribers[event] = (*subscribers[event], target)
    monkeypatch.setattr(hooks, "SUBSCRIBERS", subscribers)


def unwire_hiring(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove the hiring alert handlers (to see what the re-check finds by itself)."""
    subscribers = {
        event: tuple(t for t in targets if t not in HIRING_SUBSCRIBERS.values())
        for event, targets in hooks.SUBSCRIBERS.items()
    }
    monkeypatch.setattr(hooks, "SUBSCRIBERS", subscribers)


async def give_certificate(
    session: AsyncSession,
    ctx: AppContext,
    issuer: Actor,
    person: Practitioner,
    cert_type: str = "caregiver_post",
    level: str | None = None,
    valid_until: date | None = None,
) -> Certificate:
    """Issue a real signed certificate without the training prerequisites (test set-up)."""
    org = await session.get(Org, issuer.org.id)
    assert org is not None
    cert = await certificates._sign_and_insert(
        session,
        ctx,
        org,
        issuer.principal.role,
        person,
        ctx.catalog.certificate_type(cert_type),
        level,
        hours_tenths=0,
        assessment_ref=None,
        moment=utcnow(),
    )
    if valid_until is not None:
        cert.valid_until = valid_until
    await session.commit()
    return cert


async def change_certificate(
    session: AsyncSession, ctx: AppContext, regulator: Actor, serial: str, action: str
) -> None:
    """Revoke, suspend or reinstate through the certificates service (emits the hook)."""
    await certificates.change_status(
        session, ctx, regulator.principal, serial, action, "核查发现问题"
    )
    await session.commit()


async def record_ban(client: Any, regulator: Actor, number: str, kind: str = "lifetime") -> Any:
    """Record a ban through the public API (the ledger emits ``ban_recorded``)."""
    body: dict[str, Any] = {
        "id_number": number,
        "kind": kind,
        "reason_code": "child_abuse",
        "decision_ref": "宁卫禁〔2026〕1号",
        "related_case": "（2026）苏0102刑初1号",
    }
    if kind == "fixed_term":
        body["until"] = (date.today() + timedelta(days=3 * 365)).isoformat()
    response = await client.post("/api/v1/bans", json=body, headers=regulator.headers)
    assert response.status_code in (200, 201), response.text
    return response.json()


async def punish(client: Any, regulator: Actor, practitioner_id: Any) -> None:
    """Record credit events until the practitioner is under joint punishment (grade D)."""
    for n in range(3):
        response = await client.post(
            "/api/v1/credit-events",
            json={
                "practitioner_id": str(practitioner_id),
                "type": "falsified_training_record",
                "severity": "grave",
                "occurred_on": (date.today() - timedelta(days=10 + n)).isoformat(),
                "evidence_ref": f"宁卫罚〔2026〕{n + 10}号",
            },
            headers=regulator.headers,
        )
        assert response.status_code in (200, 201), response.text


async def check(client: Any, inst: Actor, number: str, position: str = "caregiver") -> Any:
    return await client.post(
        "/api/v1/admission-checks",
        json={"id_number": number, "position": position},
        headers=inst.headers,
    )


async def qualified(
    factory: Factory, session: AsyncSession, ctx: AppContext, region: str = "320102"
) -> tuple[Actor, Actor, Practitioner, str]:
    """A regulator, an institution and a registered caregiver holding a valid certificate."""
    regulator = await factory.org("regulator", region="320100")
    inst = await factory.org("institution", region=region)
    person, number = await factory.practitioner(by=inst, positions=["caregiver"])
    await give_certificate(session, ctx, regulator, person)
    return regulator, inst, person, number


def codes(body: dict[str, Any]) -> list[str]:
    return [r["code"] for r in body["reasons"]]


def jwks_verify(jwks: dict[str, Any], token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify a compact JWS with only the published JWK Set (joserfc, independent of us)."""
    keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]  # a parsed JWK Set document
    with warnings.catch_warnings():
        # joserfc flags the polymorphic "EdDSA" name (RFC 9864); the contract fixes it.
        warnings.simplefilter("ignore", SecurityWarning)
        decoded = jose_jwt.decode(token, keys, algorithms=["EdDSA"])
    return dict(decoded.header), dict(decoded.claims)


# --------------------------------------------------------------------------- tests


async def test_admitted_and_receipt_verifies_with_only_the_jwks(
    client: AsyncTestClient[Litestar], factory: Factory, session: AsyncSession, ctx: AppContext
) -> None:
    _, inst, person, number = await qualified(factory, session, ctx)
    response = await check(client, inst, number)
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == CHECK_KEYS
    assert body["decision"] == "admitted"
    assert body["reasons"] == []
    assert body["notice"] is None
    assert body["position"] == "caregiver"
    # Nothing about the person: no name, no number, no practitioner id.
    assert person.name not in response.text
    assert number not in response.text
    assert person.id_masked not in response.text
    assert str(person.id) not in response.text

    jwks = (await client.get("/.well-known/jwks.json")).json()
    header, claims = jwks_verify(jwks, body["receipt"])
    assert header["typ"] == "admission-receipt+jwt"
    assert header["kid"] in {k["kid"] for k in jwks["keys"]}
    assert claims["check_id"] == body["check_id"]
    assert claims["decision"] == "admitted"
    assert claims["reasons"] == []
    assert claims["position"] == "caregiver"
    assert claims["institution"] == str(inst.org.id)
    assert claims["checked_at"].startswith(body["checked_at"][:19])
    checkpoint = claims["ledger_checkpoint"]
    assert isinstance(checkpoint["size"], int)
    assert len(base64.b64decode(checkpoint["root_hash"])) == 32
    # The subject commitment opens with the salt and the ID number, and only with them.
    salt = base64.urlsafe_b64decode(body["subject_salt"] + "=" * (-len(body["subject_salt"]) % 4))
    domain = claims["subject_commitment"]["domain"].encode()
    opened = hashlib.sha256(domain + salt + number.encode()).digest()
    expected = claims["subject_commitment"]["value"]
    assert base64.urlsafe_b64encode(opened).rstrip(b"=").decode() == expected
    other = hashlib.sha256(domain + salt + factory.id_number().encode()).digest()
    assert base64.urlsafe_b64encode(other).rstrip(b"=").decode() != expected
    assert body["subject_salt"] not in body["receipt"]
    assert number not in base64.urlsafe_b64decode(body["receipt"].split(".")[1] + "==").decode()

    # A tampered receipt fails.
    head, payload, sig = body["receipt"].split(".")
    forged = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    with pytest.raises(Exception):  # noqa: B017 - joserfc raises its own error types
        jwks_verify(jwks, f"{head}.{forged}.{sig}")


async def test_not_registered_is_a_denial_not_a_404(
    client: AsyncTestClient[Litestar], factory: Factory, caplog_all: pytest.LogCaptureFixture
) -> None:
    inst = await factory.org("institution")
    number = factory.id_number()
    response = await check(client, inst, number)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["decision"] == "denied"
    assert codes(body) == ["not_registered"]
    assert "not in the registry" in body["reasons"][0]["detail"]
    assert "复查" in body["notice"]
    assert number not in response.text
    assert number not in caplog_all.text


async def test_no_valid_certificate(client: AsyncTestClient[Litestar], factory: Factory) -> None:
    inst = await factory.org("institution")
    _, number = await factory.practitioner(by=inst)
    body = (await check(client, inst, number)).json()
    assert body["decision"] == "denied"
    assert codes(body) == ["no_valid_certificate"]
    assert "复查" in body["reasons"][0]["detail"]
    # A position that requires no certificate admits the same person.
    assert (await check(client, inst, number, "cook")).json()["decision"] == "admitted"


@pytest.mark.parametrize(
    ("action", "code"),
    [("revoke", "certificate_revoked"), ("suspend", "certificate_suspended")],
)
async def test_certificate_revoked_or_suspended(
    client: AsyncTestClient[Litestar],
    factory: Factory,
    session: AsyncSession,
    ctx: AppContext,
    action: str,
    code: str,
) -> None:
    regulator = await factory.org("regulator", region="320100")
    inst = await factory.org("institution")
    person, number = await factory.practitioner(by=inst)
    cert = await give_certificate(session, ctx, regulator, person)
    assert (await check(client, inst, number)).json()["decision"] == "admitted"
    await change_certificate(session, ctx, regulator, cert.serial, action)
    body = (await check(client, inst, number)).json()
    assert body["decision"] == "denied"
    assert codes(body) == [code]


async def test_certificate_expired(
    client: AsyncTestClient[Litestar], factory: Factory, session: AsyncSession, ctx: AppContext
) -> None:
    regulator = await factory.org("regulator", region="320100")
    inst = await factory.org("institution")
    person, number = await factory.practitioner(by=inst)
    await give_certificate(
        session, ctx, regulator, person, valid_until=idnumber.today_in_china() - timedelta(days=1)
    )
    body = (await check(client, inst, number)).json()
    assert codes(body) == ["certificate_expired"]


async def test_banned(
    client: AsyncTestClient[Litestar], factory: Factory, session: AsyncSession, ctx: AppContext
) -> None:
    regulator, inst, _, number = await qualified(factory, session, ctx)
    await record_ban(client, regulator, number)
    response = await check(client, inst, number)
    body = response.json()
    assert body["decision"] == "denied"
    assert "banned" in codes(body)
    # No ban reason, kind or decision reference reaches the institution.
    for leaked in ("child_abuse", "lifetime", "宁卫禁", "刑初"):
        assert leaked not in response.text
    # The receipt names the checkpoint that contains the ban.
    jwks = (await client.get("/.well-known/jwks.json")).json()
    _, claims = jwks_verify(jwks, body["receipt"])
    assert claims["ledger_checkpoint"]["size"] >= 1


async def test_banned_even_when_not_registered(
    client: AsyncTestClient[Litestar], factory: Factory
) -> None:
    regulator = await factory.org("regulator", region="320100")
    inst = await factory.org("institution")
    number = factory.id_number()
    await record_ban(client, regulator, number)
    body = (await check(client, inst, number)).json()
    assert codes(body) == ["not_registered", "banned"]


async def test_credit_joint_punishment(
    client: AsyncTestClient[Litestar], factory: Factory, session: AsyncSession, ctx: AppContext
) -> None:
    regulator, inst, person, number = await qualified(factory, session, ctx)
    await punish(client, regulator, person.id)
    body = (await check(client, inst, number)).json()
    assert body["decision"] == "denied"
    assert codes(body) == ["credit_joint_punishment"]


async def test_unknown_position_and_invalid_id_number(
    client: AsyncTestClient[Litestar], factory: Factory
) -> None:
    inst = await factory.org("institution")
    _, number = await factory.practitioner(by=inst)
    response = await check(client, inst, number, "astronaut")
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] == "urn:workforce:unknown_position"
    assert codes(response.json()) == ["unknown_position"]
    bad = number[:-1] + ("0" if number[-1] != "0" else "1")
    response = await check(client, inst, bad)
    assert response.status_code == 422
    assert "invalid_id_number" in codes(response.json())
    assert bad not in response.text


async def test_every_check_is_stored_and_access_logged(
    client: AsyncTestClient[Litestar], factory: Factory, session: AsyncSession, ctx: AppContext
) -> None:
    _, inst, person, number = await qualified(factory, session, ctx)
    await check(client, inst, number)
    await check(client, inst, factory.id_number())
    rows = list((await session.scalars(select(AdmissionCheck))).all())
    assert sorted(r.decision for r in rows) == ["admitted", "denied"]
    logged = list(
        (
            await session.scalars(select(AccessLog).where(AccessLog.action == "admission_check"))
        ).all()
    )
    assert {(r.practitioner_id, r.outcome) for r in logged} == {
        (person.id, "admitted"),
        (None, "denied"),
    }
    assert {r.route for r in logged} == {"POST /api/v1/admission-checks"}
    # Insert-only: the database refuses to change a stored check.
    with pytest.raises(Exception):  # noqa: B017 - the driver's own error type
        await session.execute(text("UPDATE admission_checks SET decision = 'admitted'"))
    await session.rollback()
    with pytest.raises(Exception):  # noqa: B017
        await session.execute(text("DELETE FROM admission_checks"))
    await session.rollback()


async def test_get_check_visibility(
    client: AsyncTestClient[Litestar], factory: Factory, session: AsyncSession, ctx: AppContext
) -> None:
    _, inst, _, number = await qualified(factory, session, ctx, region="320102")
    other = await factory.org("institution", region="320102")
    nanjing = await factory.org("regulator", region="320100")
    suzhou = await factory.org("regulator", region="320500")
    first = (await check(client, inst, number)).json()
    url = f"/api/v1/admission-checks/{first['check_id']}"
    again = await client.get(url, headers=inst.headers)
    assert again.status_code == 200
    assert again.json() == first
    assert (await client.get(url, headers=nanjing.headers)).status_code == 200
    assert (await client.get(url, headers=other.headers)).status_code == 404
    assert (await client.get(url, headers=suzhou.headers)).status_code == 404
    base = await factory.org("training_base")
    assert (await client.get(url, headers=base.headers)).status_code == 403


async def test_auth_and_roles(client: AsyncTestClient[Litestar], factory: Factory) -> None:
    body = {"id_number": factory.id_number(), "position": "caregiver"}
    response = await client.post("/api/v1/admission-checks", json=body)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    for kind in ("training_base", "regulator", "admin"):
        actor = await factory.org(kind, region=None if kind == "admin" else "320102")
        response = await client.post("/api/v1/admission-checks", json=body, headers=actor.headers)
        assert response.status_code == 403, kind
        assert response.json()["type"] == "urn:workforce:role_not_allowed"


async def test_unknown_fields_refused(client: AsyncTestClient[Litestar], factory: Factory) -> None:
    inst = await factory.org("institution")
    response = await client.post(
        "/api/v1/admission-checks",
        json={"id_number": factory.id_number(), "position": "caregiver", "name": "王芳"},
        headers=inst.headers,
    )
    assert response.status_code in (400, 422)
