"""Offline certificate verdicts: valid, revoked, suspended, expired, unknown status, invalid."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from workforce.certificates.credential import (
    CertificateSubject,
    Issuer,
    StatusPointer,
    build_credential,
    jwks_document,
    sign_jws,
    sign_vc_jwt,
)
from workforce.certificates.status_list import (
    StatusBitstring,
    build_status_list_credential,
    index_status_lists,
)
from workforce.certificates.verify import (
    CertificateSummary,
    CertificateVerdict,
    Check,
    verify_certificate_offline,
)

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=30)
BASE = "https://registry.example.cn/api/v1/status-lists"
REVOCATION_URL = f"{BASE}/r1"
SUSPENSION_URL = f"{BASE}/s1"
INDEX = 70_001
ISSUER = Issuer(
    id="urn:workforce:org:7d0e2f6a-4a51-4c43-9a3e-0b9b2f1c1d01", name="江苏省托育实训基地"
)


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def jwks(key: Ed25519PrivateKey) -> dict[str, Any]:
    return jwks_document({"2025-01": key.public_key()})


def certificate(key: Ed25519PrivateKey, *, years: int = 3) -> str:
    credential = build_credential(
        credential_id="urn:uuid:5a1c0e3e-2b8d-4f59-8d55-1f7f6a9d2c11",
        issuer=ISSUER,
        subject=CertificateSubject(
            masked_id_number="320102********123X",
            name="王芳",
            type_code="caregiver",
            type_name="保育师",
            level_code="3",
            level_name="三级",
            hours_tenths=965,
            serial="TY-2025-000042",
        ),
        valid_from=NOW,
        valid_until=NOW + timedelta(days=365 * years),
        status=[
            StatusPointer("revocation", REVOCATION_URL, INDEX),
            StatusPointer("suspension", SUSPENSION_URL, INDEX),
        ],
    )
    return sign_vc_jwt(credential, key, "2025-01", issued_at=NOW)


def status_lists(
    key: Ed25519PrivateKey, *, revoked: bool = False, suspended: bool = False
) -> dict[str, str]:
    tokens = []
    for url, purpose, flagged in (
        (REVOCATION_URL, "revocation", revoked),
        (SUSPENSION_URL, "suspension", suspended),
    ):
        bits = StatusBitstring()
        bits.set(INDEX, flagged)
        credential = build_status_list_credential(url, purpose, bits.encode(), ISSUER, NOW)
        tokens.append(sign_vc_jwt(credential, key, "2025-01", issued_at=NOW))
    return index_status_lists(tokens)


def test_valid_certificate(key: Ed25519PrivateKey, jwks: dict[str, Any]) -> None:
    verdict = verify_certificate_offline(certificate(key), jwks, status_lists(key), LATER)
    assert verdict.verdict == "valid"
    assert verdict.kid == "2025-01"
    assert verdict.checks.signature == Check(ok=True)
    assert verdict.checks.expiry == Check(ok=True)
    assert verdict.checks.revocation == Check(ok=True)
    assert verdict.checks.suspension == Check(ok=True)
    assert verdict.certificate == CertificateSummary(
        credential_id="urn:uuid:5a1c0e3e-2b8d-4f59-8d55-1f7f6a9d2c11",
        serial="TY-2025-000042",
        type="caregiver",
        type_name="保育师",
        level="3",
        level_name="三级",
        hours="96.5",
        holder_masked_id="320102********123X",
        holder_name="王芳",
        issuer_id=ISSUER.id,
        issuer_name="江苏省托育实训基地",
        valid_from="2025-03-01T08:00:00Z",
        valid_until="2028-02-29T08:00:00Z",
    )


def test_verdict_serialises_to_json(key: Ed25519PrivateKey, jwks: dict[str, Any]) -> None:
    verdict = verify_certificate_offline(certificate(key), jwks, status_lists(key), LATER)
    decoded = msgspec.json.decode(msgspec.json.encode(verdict))
    assert decoded["verdict"] == "valid"
    assert decoded["checks"]["revocation"] == {"ok": True, "reason": None}
    assert msgspec.convert(decoded, CertificateVerdict) == verdict


def test_revoked(key: Ed25519PrivateKey, jwks: dict[str, Any]) -> None:
    verdict = verify_certificate_offline(
        certificate(key), jwks, status_lists(key, revoked=True), LATER
    )
    assert verdict.verdict == "revoked"
    assert verdict.checks.revocation == Check(ok=False, reason="revoked")
    assert verdict.checks.suspension == Check(ok=True)
    assert verdict.certificate is not None


def test_suspended(key: Ed25519PrivateKey, jwks: dict[str, Any]) -> None:
    lists = status_lists(key, suspended=True)
    verdict = verify_certificate_offline(certificate(key), jwks, lists, LATER)
    assert verdict.verdict == "suspended"
    assert verdict.checks.suspension == Check(ok=False, reason="suspended")


def test_revocation_outranks_suspension(key: Ed25519PrivateKey, jwks: dict[str, Any]) -> None:
    lists = status_lists(key, revoked=True, suspended=True)
    assert verify_certificate_offline(certificate(key), jwks, lists, LATER).verdict == "revoked"


def test_expired(key: Ed25519PrivateKey, jwks: dict[str, Any]) -> None:
    token = certificate(key, years=1)
    verdict = verify_certificate_offline(token, jwks, status_lists(key), NOW + timedelta(days=400))
    assert verdict.verdict == "expired"
    assert verdict.checks.signature.ok is True
    assert verdict.checks.expiry == Check(ok=False, reason="expired")
    assert verdict.certificate is not None
    assert verdict.certificate.serial == "TY-2025-000042"


def test_revoked_outranks_expired(key: Ed25519PrivateKey, jwks: dict[str, Any]) -> None:
    token = certificate(key, years=1)
    lists = status_lists(key, revoked=True)
    assert (
        verify_certificate_offline(token, jwks, lists, NOW + timedelta(days=400)).verdict
        == "revoked"
    )


def test_not_yet_valid_is_invalid(key: Ed25519PrivateKey, jwks: dict[str, Any]) -> None:
    verdict = verify_certificate_offline(
        certificate(key), jwks, status_lists(key), NOW - timedelta(days=1)
    )
    assert verdict.verdict == "invalid"
    assert verdict.checks.expiry == Check(ok=False, reason="not_yet_valid")


def test_without_status_lists_the_status_is_unknown(
    key: Ed25519PrivateKey, jwks: dict[str, Any]
) -> None:
    verdict = verify_certificate_offline(certificate(key), jwks, None, LATER)
    assert verdict.verdict == "status_unknown"
    assert verdict.checks.revocation == Check(ok=None, reason="status_not_supplied")
    assert verdict.checks.signature.ok is True


def test_one_missing_list_leaves_status_unknown(
    key: Ed25519PrivateKey, jwks: dict[str, Any]
) -> None:
    lists = status_lists(key)
    del lists[SUSPENSION_URL]
    verdict = verify_certificate_offline(certificate(key), jwks, lists, LATER)
    assert verdict.verdict == "status_unknown"
    assert verdict.checks.revocation == Check(ok=True)
    assert verdict.checks.suspension == Check(ok=None, reason="status_list_missing")


def test_a_missing_list_does_not_hide_a_revocation(
    key: Ed25519PrivateKey, jwks: dict[str, Any]
) -> None:
    lists = status_lists(key, revoked=True)
    del lists[SUSPENSION_URL]
    assert verify_certificate_offline(certificate(key), jwks, lists, LATER).verdict == "revoked"


def test_forged_status_list_is_not_trusted(key: Ed25519PrivateKey, jwks: dict[str, Any]) -> None:
    forged = status_lists(Ed25519PrivateKey.generate())
    verdict = verify_certificate_offline(certificate(key), jwks, forged, LATER)
    assert verdict.verdict == "status_unknown"
    assert verdict.checks.revocation == Check(ok=None, reason="status_list_bad_signature")


def test_tampered_certificate_is_invalid(key: Ed25519PrivateKey, jwks: dict[str, Any]) -> None:
    token = certificate(key)
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BA'}"
    verdict = verify_certificate_offline(forged, jwks, status_lists(key), LATER)
    assert verdict.verdict == "invalid"
    assert verdict.checks.signature.ok is False
    assert verdict.checks.revocation == Check(ok=None, reason="not_checked")
    assert verdict.certificate is None


def test_unknown_key_is_invalid(key: Ed25519PrivateKey) -> None:
    other = jwks_document({"2024-01": Ed25519PrivateKey.generate().public_key()})
    verdict = verify_certificate_offline(certificate(key), other, None, LATER)
    assert verdict.verdict == "invalid"
    assert verdict.checks.signature == Check(ok=False, reason="unknown_key")


def test_a_status_list_is_not_a_certificate(key: Ed25519PrivateKey, jwks: dict[str, Any]) -> None:
    list_token = status_lists(key)[REVOCATION_URL]
    verdict = verify_certificate_offline(list_token, jwks, None, LATER)
    assert verdict.verdict == "invalid"
    assert verdict.checks.signature == Check(ok=False, reason="not_a_certificate")


def test_signed_receipt_is_not_a_certificate(key: Ed25519PrivateKey, jwks: dict[str, Any]) -> None:
    receipt = sign_jws({"decision": "admitted"}, key, "2025-01", "workforce-receipt+jwt")
    verdict = verify_certificate_offline(receipt, jwks, None, LATER)
    assert verdict.checks.signature == Check(ok=False, reason="wrong_type")


def test_certificate_with_hostile_status_entries(
    key: Ed25519PrivateKey, jwks: dict[str, Any]
) -> None:
    credential = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential", "ChildcareWorkforceCertificate"],
        "issuer": ISSUER.id,
        "credentialSubject": {"certificate": {"serial": 5, "hoursEarned": 12.5}, "name": ["x"]},
        "credentialStatus": [{"type": "BitstringStatusListEntry", "statusPurpose": "revocation"}],
    }
    token = sign_vc_jwt(credential, key, "2025-01")
    verdict = verify_certificate_offline(token, jwks, status_lists(key), LATER)
    assert verdict.verdict == "status_unknown"
    assert verdict.checks.revocation == Check(ok=None, reason="invalid_entry")
    assert verdict.checks.suspension == Check(ok=True, reason="no_status_entry")
    assert verdict.certificate is not None
    assert verdict.certificate.serial is None
    assert verdict.certificate.hours is None
    assert verdict.certificate.issuer_name is None


@settings(max_examples=200, deadline=None)
@given(
    token=st.one_of(st.text(max_size=200), st.none(), st.integers(), st.binary(max_size=50)),
    jwks=st.one_of(
        st.none(), st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3)
    ),
    lists=st.one_of(
        st.none(), st.dictionaries(st.text(max_size=20), st.text(max_size=40), max_size=3)
    ),
)
def test_hostile_input_never_raises(
    token: object, jwks: object, lists: dict[str, str] | None
) -> None:
    verdict = verify_certificate_offline(token, jwks, lists, NOW)
    assert verdict.verdict == "invalid"
    assert verdict.certificate is None
