"""Certificates: issued only when earned, signed, verifiable, revocable, expiring."""

from __future__ import annotations

import base64
import json
import uuid
import warnings
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc import jwt as jose_jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import KeySet
from sqlalchemy import select, text, update

from tests.api import cert_helpers as h
from tests.factories import Factory
from workforce import hooks
from workforce.certificates import service
from workforce.certificates.credential import (
    CertificateSubject,
    Issuer,
    StatusPointer,
    build_credential,
    sign_vc_jwt,
)
from workforce.certificates.models import Certificate, CertificateEvent
from workforce.policy.catalog import HeldCert
from workforce.security.idnumber import today_in_china

pytestmark = pytest.mark.anyio


@pytest.fixture
def keys_dir(tmp_path):
    """Keys of this test only: the key-rotation tests must not rotate everyone's keyring."""
    return tmp_path / "keys"


@pytest.fixture
def capture_events(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    monkeypatch.setitem(
        hooks.SUBSCRIBERS, "certificate_status_changed", ("tests.api.cert_helpers:capture",)
    )
    h.EVENTS.clear()
    return h.EVENTS


def _codes(response) -> list[str]:
    return [r["code"] for r in response.json()["reasons"]]


# --- issuance: prerequisites ------------------------------------------------------------------


async def test_boundary_119_9_refused_120_0_issued(client, factory: Factory, ctx) -> None:
    regulator, base = await h.setup(factory)
    person, number = await factory.practitioner(by=base)
    await h.record_hours(factory, base, person.id, "caregiver_round", 1199)

    refused = await h.issue(client, base, person.id, "caregiver_post")
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    body = refused.json()
    assert body["type"] == "urn:workforce:prerequisites_unmet"
    assert _codes(refused) == ["caregiver_round_hours_short"]
    assert body["reasons"][0]["detail"].endswith(": 120.0 hours required, 119.9 earned")

    await h.record_hours(factory, base, person.id, "caregiver_round", 1, days_ago=30)
    issued = await h.issue(client, base, person.id, "caregiver_post")
    assert issued.status_code == 201, issued.text
    cert = issued.json()
    assert cert["status"] == "valid" and cert["type"] == "caregiver_post" and cert["level"] is None
    assert cert["hours"] == 120.0
    assert cert["holder"] == {"name": person.name, "id_number_masked": person.id_masked}
    assert number not in issued.text
    today = today_in_china()
    assert cert["valid_from"] == today.isoformat()
    assert (
        cert["valid_until"] == (today.replace(year=today.year + 3) - timedelta(days=1)).isoformat()
    )
    assert cert["serial"].startswith("TY-") and len(cert["serial"]) == 32
    assert cert["verify_url"].endswith(f"/verify/{cert['serial']}")
    assert cert["qr"]["svg_url"].endswith(f"/api/v1/certificates/{cert['serial']}/qr.svg")
    assert cert["issuer"]["org_id"] == str(base.org.id)
    del regulator, ctx


async def test_every_unmet_prerequisite_is_a_reason(client, factory: Factory) -> None:
    _, base = await h.setup(factory)
    person, _ = await factory.practitioner(by=base)
    response = await client.post(
        "/api/v1/certificates",
        json={"practitioner_id": str(person.id), "type": "caregiver_post"},
        headers=base.headers,
    )
    assert response.status_code == 422
    assert _codes(response) == ["caregiver_round_hours_short", "assessment_not_passed"]
    assert "0.0 earned" in response.json()["reasons"][0]["detail"]

    passed_no_ref = await h.issue(client, base, person.id, "caregiver_post", assessment_ref=None)
    assert _codes(passed_no_ref) == ["caregiver_round_hours_short", "assessment_ref_missing"]

    level4 = await h.issue(client, base, person.id, "baoyushi", "4")
    assert _codes(level4) == ["lower_level_not_held"]
    level5 = await h.issue(client, base, person.id, "baoyushi", "5")
    assert _codes(level5) == ["skills_hours_short"]
    assert "120.0 hours required, 0.0 earned" in level5.json()["reasons"][0]["detail"]


async def test_skills_window_counts_only_the_last_24_months(client, factory: Factory) -> None:
    _, base = await h.setup(factory)
    person, _ = await factory.practitioner(by=base)
    await h.record_hours(factory, base, person.id, "skills", 1200, days_ago=800)
    old = await h.issue(client, base, person.id, "baoyushi", "5")
    assert old.status_code == 422 and _codes(old) == ["skills_hours_short"]
    await h.record_hours(factory, base, person.id, "skills", 1200, days_ago=2)
    level5 = await h.issue(client, base, person.id, "baoyushi", "5")
    assert level5.status_code == 201, level5.text
    assert level5.json()["hours"] == 120.0 and level5.json()["valid_until"] is None
    assert level5.json()["level_name"] == "五级/初级工"
    level4 = await h.issue(client, base, person.id, "baoyushi", "4")
    assert level4.status_code == 201, level4.text
    # a holder of level 4 asked for level 5 again: already held
    again = await h.issue(client, base, person.id, "baoyushi", "5")
    assert (
        again.status_code == 409
        and again.json()["type"] == "urn:workforce:certificate_already_held"
    )


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"type": "pilot_licence"}, "unknown_certificate_type"),
        ({"type": "baoyushi", "level": "9"}, "unknown_level"),
        ({"type": "caregiver_post", "level": "5"}, "unknown_level"),
        ({"type": "baoyushi"}, "level_required"),
    ],
)
async def test_unknown_type_or_level(client, factory: Factory, body, code) -> None:
    _, base = await h.setup(factory)
    person, _ = await factory.practitioner(by=base)
    response = await client.post(
        "/api/v1/certificates",
        json={"practitioner_id": str(person.id), **body},
        headers=base.headers,
    )
    assert response.status_code == 422, response.text
    assert response.json()["type"] == f"urn:workforce:{code}"
    assert _codes(response) == [code]


async def test_issuer_scope(client, factory: Factory) -> None:
    regulator, base = await h.setup(factory, certificate_types=("director_post",))
    person, _ = await factory.practitioner(by=base)
    await h.record_hours(factory, base, person.id, "caregiver_round", 1200)

    out_of_scope = await h.issue(client, base, person.id, "caregiver_post")
    assert out_of_scope.status_code == 403
    assert out_of_scope.json()["type"] == "urn:workforce:issuer_out_of_scope"

    _, unaccredited = await h.setup(factory, accredit_base=False)
    other, _ = await factory.practitioner(by=unaccredited)
    refused = await h.issue(client, unaccredited, other.id, "caregiver_post")
    assert refused.status_code == 403
    assert refused.json()["type"] == "urn:workforce:issuer_not_accredited"

    # 1+X certificates are issued by training bases only
    by_regulator = await h.issue(client, regulator, person.id, "1x_infant_care", "junior")
    assert by_regulator.status_code == 403
    assert by_regulator.json()["type"] == "urn:workforce:issuer_out_of_scope"

    # a regulator covering the practitioner's region may issue; another one cannot see it
    issued = await h.issue(client, regulator, person.id, "caregiver_post")
    assert issued.status_code == 201, issued.text
    assert issued.json()["issuer"]["role"] == "regulator"
    suzhou = await factory.org("regulator", region="320500")
    hidden = await h.issue(client, suzhou, person.id, "director_post")
    assert hidden.status_code == 404
    assert hidden.json()["type"] == "urn:workforce:practitioner_not_found"


async def test_authentication_roles_and_visibility(client, factory: Factory) -> None:
    _, base = await h.setup(factory)
    person, _ = await factory.practitioner(by=base)
    body = {"practitioner_id": str(person.id), "type": "caregiver_post"}
    assert (await client.post("/api/v1/certificates", json=body)).status_code == 401
    institution = await factory.org("institution")
    wrong_role = await client.post("/api/v1/certificates", json=body, headers=institution.headers)
    assert wrong_role.status_code == 403
    assert wrong_role.json()["type"] == "urn:workforce:role_not_allowed"
    _, other_base = await h.setup(factory)
    hidden = await h.issue(client, other_base, person.id)
    assert hidden.status_code == 404
    missing = await h.issue(client, base, uuid.uuid4())
    assert missing.status_code == 404
    unknown_field = await client.post(
        "/api/v1/certificates", json={**body, "holder": "x"}, headers=base.headers
    )
    assert unknown_field.status_code in (400, 422)


async def test_idempotency_key_replays_the_first_certificate(client, factory: Factory) -> None:
    _, base = await h.setup(factory)
    person, _ = await factory.practitioner(by=base)
    await h.record_hours(factory, base, person.id, "caregiver_round", 1200)
    body = {
        "practitioner_id": str(person.id),
        "type": "caregiver_post",
        "assessment_passed": True,
        "assessment_ref": "KH-1",
    }
    headers = {**base.headers, "Idempotency-Key": "issue-1"}
    first = await client.post("/api/v1/certificates", json=body, headers=headers)
    second = await client.post("/api/v1/certificates", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["serial"] == second.json()["serial"]
    assert second.headers.get("idempotent-replayed") == "true"
    count = await factory.session.scalar(text("SELECT count(*) FROM certificates"))
    assert count == 1
    other = await client.post(
        "/api/v1/certificates", json={**body, "assessment_ref": "KH-2"}, headers=headers
    )
    assert other.status_code == 409


async def test_renewal_window(client, factory: Factory) -> None:
    _, base, person, cert = await h.certified(client, factory)
    again = await h.issue(client, base, person.id)
    assert again.status_code == 409
    await factory.session.execute(
        update(Certificate)
        .where(Certificate.serial == cert["serial"])
        .values(valid_until=today_in_china() + timedelta(days=30))
    )
    await factory.session.commit()
    renewed = await h.issue(client, base, person.id)
    assert renewed.status_code == 201, renewed.text


# --- the token ---------------------------------------------------------------------------------


async def test_token_verifies_with_an_independent_library_and_only_the_jwks(
    client, factory: Factory
) -> None:
    _, _, _, cert = await h.certified(client, factory)
    jwks = (await client.get("/.well-known/jwks.json")).json()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=SecurityWarning)  # EdDSA deprecated by RFC 9864
        decoded = jose_jwt.decode(cert["token"], KeySet.import_key_set(jwks), algorithms=["EdDSA"])
    jose_jwt.JWTClaimsRegistry(exp={"essential": True}, nbf={"essential": True}).validate(
        decoded.claims
    )
    assert decoded.header["typ"] == "vc+jwt" and decoded.header["cty"] == "vc"
    assert decoded.header["kid"] in {k["kid"] for k in jwks["keys"]}
    vc = decoded.claims
    assert vc["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    assert vc["type"] == ["VerifiableCredential", "ChildcareWorkforceCertificate"]
    assert vc["issuer"]["id"] == vc["iss"]
    subject = vc["credentialSubject"]
    assert subject["certificate"]["serial"] == cert["serial"]
    assert subject["certificate"]["hoursEarned"] == "120.0"
    assert subject["maskedIdNumber"] == cert["holder"]["id_number_masked"]
    purposes = {s["statusPurpose"]: s for s in vc["credentialStatus"]}
    assert set(purposes) == {"revocation", "suspension"}
    for entry in purposes.values():
        assert entry["type"] == "BitstringStatusListEntry"
        assert entry["statusListCredential"].startswith(
            "http://127.0.0.1:8000/api/v1/status-lists/"
        )
    # tampering with one byte of the payload breaks the signature for the independent library too
    head, payload, signature = cert["token"].split(".")
    tampered = f"{head}.{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{signature}"
    with warnings.catch_warnings(), pytest.raises(Exception):  # noqa: B017
        warnings.filterwarnings("ignore", category=SecurityWarning)
        jose_jwt.decode(tampered, KeySet.import_key_set(jwks), algorithms=["EdDSA"])


# --- public view, listing ----------------------------------------------------------------------


async def test_public_view_masks_the_holder(client, factory: Factory) -> None:
    _, base, person, cert = await h.certified(client, factory)
    response = await client.get(f"/api/v1/certificates/{cert['serial']}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "valid" and body["status_label"] == "有效"
    assert body["holder"]["id_number_masked"] == person.id_masked
    assert (
        body["holder"]["name_masked"] != person.name
        and body["holder"]["name_masked"][0] == person.name[0]
    )
    assert "token" not in body and person.name not in response.text
    assert body["issuer_name"] == base.org.name
    # a person retyping the serial in lower case, with O for 0 and without dashes still finds it
    typed = cert["serial"].lower().replace("-", "").replace("0", "o")
    assert (await client.get(f"/api/v1/certificates/{typed}")).json()["serial"] == cert["serial"]
    unknown = await client.get("/api/v1/certificates/TY-0000-0000-0000-0000-0000-0000")
    assert unknown.status_code == 404
    assert unknown.json()["type"] == "urn:workforce:certificate_not_found"
    assert (await client.get("/api/v1/certificates/%3Cscript%3E")).status_code == 404


async def test_practitioner_certificates_for_those_who_see_it(client, factory: Factory) -> None:
    regulator, base, person, cert = await h.certified(client, factory)
    url = f"/api/v1/practitioners/{person.id}/certificates"
    for actor in (base, regulator):
        listed = await client.get(url, headers=actor.headers)
        assert listed.status_code == 200, listed.text
        assert [c["serial"] for c in listed.json()["items"]] == [cert["serial"]]
        assert listed.json()["items"][0]["token"] == cert["token"]
    stranger = await factory.org("institution", region="320104")
    assert (await client.get(url, headers=stranger.headers)).status_code == 404
    assert (await client.get(url)).status_code == 401


# --- status changes ----------------------------------------------------------------------------


async def test_revoke_suspend_reinstate(client, factory: Factory, capture_events) -> None:
    regulator, base, person, cert = await h.certified(client, factory)
    url = f"/api/v1/certificates/{cert['serial']}/revocation"

    suspended = await client.post(
        url, json={"action": "suspend", "reason": "投诉核查中"}, headers=regulator.headers
    )
    assert suspended.status_code == 200, suspended.text
    assert suspended.json()["status"] == "suspended"
    twice = await client.post(
        url, json={"action": "suspend", "reason": "x"}, headers=regulator.headers
    )
    assert (
        twice.status_code == 409
        and twice.json()["type"] == "urn:workforce:certificate_already_suspended"
    )
    reinstated = await client.post(
        url, json={"action": "reinstate", "reason": "核查完毕"}, headers=regulator.headers
    )
    assert reinstated.json()["status"] == "valid"
    not_suspended = await client.post(
        url, json={"action": "reinstate", "reason": "x"}, headers=regulator.headers
    )
    assert not_suspended.status_code == 409
    assert not_suspended.json()["type"] == "urn:workforce:certificate_not_suspended"

    revoked = await client.post(
        url, json={"action": "revoke", "reason": "弄虚作假"}, headers=regulator.headers
    )
    assert revoked.json()["status"] == "revoked"
    for action in ("reinstate", "suspend", "revoke"):
        final = await client.post(
            url, json={"action": action, "reason": "x"}, headers=regulator.headers
        )
        assert final.status_code == 409
        assert final.json()["type"] == "urn:workforce:certificate_revoked_final"
    public = await client.get(f"/api/v1/certificates/{cert['serial']}")
    assert public.json()["status"] == "revoked" and public.json()["status_label"] == "已撤销"

    rows = (
        await factory.session.scalars(
            select(CertificateEvent)
            .join(Certificate)
            .where(Certificate.serial == cert["serial"])
            .order_by(CertificateEvent.id)
        )
    ).all()
    assert [(r.action, r.status) for r in rows] == [
        ("issue", "valid"),
        ("suspend", "suspended"),
        ("reinstate", "valid"),
        ("revoke", "revoked"),
    ]
    assert rows[-1].reason == "弄虚作假" and rows[-1].actor_org_id == regulator.org.id
    assert [(e["status"], e["reason"]) for e in capture_events] == [
        ("suspended", "投诉核查中"),
        ("valid", "核查完毕"),
        ("revoked", "弄虚作假"),
    ]
    assert all(
        e["practitioner_id"] == person.id and e["serial"] == cert["serial"] for e in capture_events
    )
    del base


async def test_history_is_insert_only(client, factory: Factory) -> None:
    await h.certified(client, factory)
    with pytest.raises(Exception, match="append-only"):
        await factory.session.execute(text("UPDATE certificate_events SET reason = 'x'"))
    await factory.session.rollback()
    with pytest.raises(Exception, match="append-only"):
        await factory.session.execute(text("DELETE FROM certificate_events"))
    await factory.session.rollback()


async def test_status_change_permissions(client, factory: Factory) -> None:
    _, base, _, cert = await h.certified(client, factory)
    url = f"/api/v1/certificates/{cert['serial']}/revocation"
    body = {"action": "revoke", "reason": "x"}
    assert (await client.post(url, json=body)).status_code == 401
    assert (await client.post(url, json=body, headers=base.headers)).status_code == 403
    suzhou = await factory.org("regulator", region="320500")
    hidden = await client.post(url, json=body, headers=suzhou.headers)
    assert hidden.status_code == 404
    assert hidden.json()["type"] == "urn:workforce:certificate_not_found"
    province = await factory.org("regulator", region="320000")
    assert (await client.post(url, json=body, headers=province.headers)).status_code == 200
    bad = await client.post(url, json={"action": "delete", "reason": "x"}, headers=province.headers)
    assert bad.status_code in (400, 422)


async def test_ban_revokes_every_certificate(client, factory: Factory, ctx, capture_events) -> None:
    _, base, person, first = await h.certified(client, factory)
    await h.record_hours(factory, base, person.id, "director_round", 600, days_ago=40)
    second = await h.issue(client, base, person.id, "director_post")
    assert second.status_code == 201, second.text
    regulator = await factory.org("regulator", region="320100")
    suspended = await client.post(
        f"/api/v1/certificates/{second.json()['serial']}/revocation",
        json={"action": "suspend", "reason": "x"},
        headers=regulator.headers,
    )
    assert suspended.status_code == 200
    capture_events.clear()
    await service.on_ban_recorded(
        factory.session,
        ctx,
        id_number="(not used)",
        practitioner_id=person.id,
        kind="lifetime",
        until=None,
        seq=7,
        reason_code="child_abuse",
    )
    await factory.session.commit()
    held = await service.held_certificates(factory.session, person.id, today_in_china())
    assert held == [
        HeldCert(cert_type="caregiver_post", status="revoked"),
        HeldCert(cert_type="director_post", status="revoked"),
    ]
    assert sorted((e["serial"], e["status"], e["reason"]) for e in capture_events) == sorted(
        [(first["serial"], "revoked", "banned"), (second.json()["serial"], "revoked", "banned")]
    )
    verdict = await client.post("/api/v1/certificates/verify", json={"token": first["token"]})
    assert verdict.json()["verdict"] == "revoked"
    # a ban on someone who is not registered changes nothing
    await service.on_ban_recorded(
        factory.session,
        ctx,
        id_number="x",
        practitioner_id=None,
        kind="lifetime",
        until=None,
        seq=8,
    )


async def test_expiry(client, factory: Factory, ctx, capture_events) -> None:
    _, _, person, cert = await h.certified(client, factory)
    last_day = today_in_china().replace(year=today_in_china().year + 3) - timedelta(days=1)
    assert cert["valid_until"] == last_day.isoformat()
    assert await service.expire_due(factory.session, ctx, last_day) == 0
    held = await service.held_certificates(factory.session, person.id, last_day)
    assert held[0].status == "valid"
    after = last_day + timedelta(days=1)
    assert await service.expire_due(factory.session, ctx, after) == 1
    await factory.session.commit()
    assert await service.expire_due(factory.session, ctx, after + timedelta(days=1)) == 0
    assert capture_events == [
        {
            "practitioner_id": person.id,
            "serial": cert["serial"],
            "status": "expired",
            "reason": "validity_ended",
        }
    ]
    held = await service.held_certificates(factory.session, person.id, after)
    assert held == [HeldCert(cert_type="caregiver_post", status="expired")]
    assert await service.certificate_holding_rate(factory.session, [person.id], after) == (0, 1)
    assert await service.certificate_holding_rate(
        factory.session, [person.id, uuid.uuid4()], last_day
    ) == (1, 2)
    # the token itself carries validUntil: offline verification says expired on the next day
    verdict = await service.verify_token(
        factory.session, ctx, cert["token"], service.end_of_day(last_day)
    )
    assert verdict.verdict == "expired"
    assert verdict.checks.expiry.reason == "expired"


async def test_held_certificates_many(client, factory: Factory) -> None:
    _, base, person, _ = await h.certified(client, factory)
    other, _ = await factory.practitioner(by=base)
    found = await service.held_certificates_many(
        factory.session, [person.id, other.id], today_in_china()
    )
    assert found == {person.id: [HeldCert(cert_type="caregiver_post", status="valid")]}


# --- verification ------------------------------------------------------------------------------


async def test_verify_route_verdicts(client, factory: Factory, ctx) -> None:
    regulator, _, _, cert = await h.certified(client, factory)
    ok = await client.post("/api/v1/certificates/verify", json={"token": cert["token"]})
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert body["verdict"] == "valid" and body["valid"] is True
    assert body["checks"]["signature"]["ok"] is True and body["checks"]["revocation"]["ok"] is True
    assert body["certificate"]["serial"] == cert["serial"]
    assert body["kid"] == ctx.keyring.current.kid
    url = f"/api/v1/certificates/{cert['serial']}/revocation"
    await client.post(url, json={"action": "suspend", "reason": "x"}, headers=regulator.headers)
    suspended = await client.post("/api/v1/certificates/verify", json={"token": cert["token"]})
    assert suspended.json()["verdict"] == "suspended"
    assert suspended.json()["checks"]["suspension"] == {"ok": False, "reason": "suspended"}


async def test_key_rotation_keeps_old_certificates_verifiable(
    client, factory: Factory, ctx
) -> None:
    _, base, person, old = await h.certified(client, factory)
    old_kid = jwt.get_unverified_header(old["token"])["kid"]
    assert old_kid == ctx.keyring.current.kid
    ctx.keyring.rotate()
    assert ctx.keyring.current.kid != old_kid
    await h.record_hours(factory, base, person.id, "director_round", 600, days_ago=40)
    new = await h.issue(client, base, person.id, "director_post")
    assert new.status_code == 201, new.text
    jwks = (await client.get("/.well-known/jwks.json")).json()
    assert {old_kid, ctx.keyring.current.kid} <= {k["kid"] for k in jwks["keys"]}
    for token, kid in ((old["token"], old_kid), (new.json()["token"], ctx.keyring.current.kid)):
        verdict = await client.post("/api/v1/certificates/verify", json={"token": token})
        assert verdict.json()["verdict"] == "valid", verdict.text
        assert verdict.json()["kid"] == kid


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def test_hostile_tokens_get_a_clear_invalid_verdict(client, factory: Factory, ctx) -> None:
    _, _, _, cert = await h.certified(client, factory)
    token = cert["token"]
    head, payload, signature = token.split(".")
    claims = h.claims(token)
    rogue = Ed25519PrivateKey.generate()
    kid = jwt.get_unverified_header(token)["kid"]
    flipped = payload[:10] + ("B" if payload[10] != "B" else "C") + payload[11:]
    cases = {
        "malformed": [
            "",
            "not-a-token",
            "a.b",
            "é.é.é",
            "x" * 150_000,
            f"{head}.{payload}.{signature}.x",
        ],
        "unsupported_alg": [
            f"{_b64(json.dumps({'alg': 'none', 'typ': 'vc+jwt'}).encode())}.{payload}.",
            jwt.encode(
                claims,
                "secret-but-long-enough-for-hmac-32b",
                algorithm="HS256",
                headers={"kid": kid, "typ": "vc+jwt"},
            ),
        ],
        "unknown_key": [
            jwt.encode(claims, rogue, algorithm="EdDSA", headers={"kid": "rogue", "typ": "vc+jwt"})
        ],
        "bad_signature": [
            f"{head}.{flipped}.{signature}",
            jwt.encode(claims, rogue, algorithm="EdDSA", headers={"kid": kid, "typ": "vc+jwt"}),
        ],
        "wrong_type": [
            jwt.encode(
                claims,
                ctx.keyring.current.private,
                algorithm="EdDSA",
                headers={"kid": kid, "typ": "JWT"},
            )
        ],
    }
    for reason, tokens in cases.items():
        for bad in tokens:
            response = await client.post("/api/v1/certificates/verify", json={"token": bad})
            assert response.status_code == 200, (reason, response.text)
            body = response.json()
            assert body["verdict"] == "invalid" and body["valid"] is False, (reason, body)
            assert body["checks"]["signature"] == {"ok": False, "reason": reason}, (reason, body)
            assert body["certificate"] is None
    for not_a_string in ({"token": 5}, {"token": None}, {}, {"token": "x" * 250_000}):
        response = await client.post("/api/v1/certificates/verify", json=not_a_string)
        assert response.status_code in (400, 413, 422), response.text
    garbage = await client.post(
        "/api/v1/certificates/verify",
        content=b"\xff\xfe{",
        headers={"content-type": "application/json"},
    )
    assert garbage.status_code in (400, 422)


async def test_an_expired_token_says_so(client, factory: Factory, ctx) -> None:
    credential = build_credential(
        credential_id=f"urn:uuid:{uuid.uuid4()}",
        issuer=Issuer(id="urn:workforce:org:x", name="某实训基地"),
        subject=CertificateSubject(
            masked_id_number="320102********123X",
            name="王芳",
            type_code="caregiver_post",
            type_name="保育人员岗位培训合格证",
            serial="TY-0000-0000-0000-0000-0000-0000",
        ),
        valid_from=datetime(2020, 1, 1, tzinfo=UTC),
        valid_until=datetime(2023, 1, 1, tzinfo=UTC),
        status=[
            StatusPointer(
                "revocation", f"http://127.0.0.1:8000/api/v1/status-lists/{uuid.uuid4()}", 3
            )
        ],
    )
    key = ctx.keyring.current
    token = sign_vc_jwt(
        credential, key.private, key.kid, issued_at=datetime(2020, 1, 1, tzinfo=UTC)
    )
    body = (await client.post("/api/v1/certificates/verify", json={"token": token})).json()
    assert body["verdict"] == "expired"
    assert body["checks"]["signature"]["ok"] is True
    assert body["checks"]["expiry"] == {"ok": False, "reason": "expired"}
    assert body["certificate"]["holder_masked_id"] == "320102********123X"


async def test_a_ban_recorded_through_the_api_revokes_and_blocks_issuance(
    client, factory: Factory, monkeypatch: pytest.MonkeyPatch, capture_events, caplog_all
) -> None:
    monkeypatch.setitem(
        hooks.SUBSCRIBERS, "ban_recorded", ("workforce.certificates.service:on_ban_recorded",)
    )
    regulator, base = await h.setup(factory)
    person, number = await factory.practitioner(by=base)
    await h.record_hours(factory, base, person.id, "caregiver_round", 1200)
    await h.record_hours(factory, base, person.id, "director_round", 600, days_ago=40)
    cert = (await h.issue(client, base, person.id)).json()
    ban = await client.post(
        "/api/v1/bans",
        json={
            "id_number": number,
            "kind": "lifetime",
            "reason_code": "child_abuse",
            "decision_ref": "宁卫罚〔2026〕12号",
            "related_case": "(2026)苏0102刑初88号",
        },
        headers=regulator.headers,
    )
    assert ban.status_code == 201, ban.text
    assert [(e["serial"], e["status"], e["reason"]) for e in capture_events] == [
        (cert["serial"], "revoked", "banned")
    ]
    public = await client.get(f"/api/v1/certificates/{cert['serial']}")
    assert public.json()["status"] == "revoked"
    refused = await h.issue(client, base, person.id, "director_post")
    assert refused.status_code == 422
    assert _codes(refused) == ["holder_banned"]
    assert number not in refused.text
    assert number not in caplog_all.text


async def test_a_suspended_certificate_expires_when_reinstated(
    client, factory: Factory, ctx, capture_events
) -> None:
    regulator, _, _, cert = await h.certified(client, factory)
    url = f"/api/v1/certificates/{cert['serial']}/revocation"
    await client.post(url, json={"action": "suspend", "reason": "核查"}, headers=regulator.headers)
    await factory.session.execute(
        update(Certificate)
        .where(Certificate.serial == cert["serial"])
        .values(valid_until=today_in_china() - timedelta(days=1))
    )
    await factory.session.commit()
    capture_events.clear()
    assert await service.expire_due(factory.session, ctx, today_in_china()) == 0
    await factory.session.commit()
    reinstated = await client.post(
        url, json={"action": "reinstate", "reason": "核查完毕"}, headers=regulator.headers
    )
    assert reinstated.json()["status"] == "expired"
    assert await service.expire_due(factory.session, ctx, today_in_china()) == 0
    assert [(e["status"], e["reason"]) for e in capture_events] == [("expired", "核查完毕")]


def test_serials_are_random_and_normalized() -> None:
    serials = {service.new_serial() for _ in range(2000)}
    assert len(serials) == 2000
    for serial in list(serials)[:50]:
        assert service.normalize_serial(serial) == serial
        assert service.normalize_serial(serial.lower().replace("-", " ")) == serial
        assert service.normalize_serial(serial[3:]) == serial  # without the prefix
    assert service.normalize_serial("TY-0000") is None
    assert service.normalize_serial("TY-UUUU-0000-0000-0000-0000-0000") is None  # U is not used
    assert service.normalize_serial("x" * 10_000) is None
