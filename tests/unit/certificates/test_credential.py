"""VC 2.0 credentials secured as vc+jwt: round trips, interop, tampering, hostile input."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st
from joserfc import jwt as jose_jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import KeySet, OKPKey

from workforce.certificates.credential import (
    BAD_SIGNATURE,
    EXPIRED,
    INVALID_CREDENTIAL,
    MALFORMED,
    NOT_YET_VALID,
    UNKNOWN_KEY,
    UNSUPPORTED_ALG,
    VC_V2_CONTEXT,
    WRONG_TYPE,
    CertificateSubject,
    CredentialError,
    Issuer,
    StatusPointer,
    b64url_decode,
    b64url_encode,
    build_credential,
    format_hours,
    jwks_document,
    jwks_keys,
    public_jwk,
    sign_jws,
    sign_vc_jwt,
    verify_jws,
    verify_vc_jwt,
)

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
LIST = "https://registry.example.cn/api/v1/status-lists"
ISSUER = Issuer(
    id="urn:workforce:org:7d0e2f6a-4a51-4c43-9a3e-0b9b2f1c1d01", name="南京市托育实训基地"
)
ALL_REASONS = {
    MALFORMED,
    UNSUPPORTED_ALG,
    UNKNOWN_KEY,
    BAD_SIGNATURE,
    WRONG_TYPE,
    EXPIRED,
    NOT_YET_VALID,
    INVALID_CREDENTIAL,
}


def make_credential(**overrides: Any) -> dict[str, Any]:
    subject = CertificateSubject(
        masked_id_number="320102********123X",
        name="张三",
        type_code="caregiver",
        type_name="保育师",
        level_code="4",
        level_name="四级",
        hours_tenths=1205,
        serial="TY-2025-000001",
    )
    arguments: dict[str, Any] = {
        "credential_id": "urn:uuid:0b5e2c1e-8f0a-4c8e-9d1f-3a2b1c0d9e8f",
        "issuer": ISSUER,
        "subject": subject,
        "valid_from": NOW,
        "valid_until": NOW + timedelta(days=3 * 365),
        "status": [
            StatusPointer("revocation", f"{LIST}/r1", 4242),
            StatusPointer("suspension", f"{LIST}/s1", 4242),
        ],
        "contexts": ["https://registry.example.cn/contexts/workforce/v1"],
    }
    arguments.update(overrides)
    return build_credential(**arguments)


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def jwks(key: Ed25519PrivateKey) -> dict[str, Any]:
    return jwks_document({"k1": key.public_key()})


@pytest.fixture
def token(key: Ed25519PrivateKey) -> str:
    return sign_vc_jwt(make_credential(), key, "k1", issued_at=NOW)


def segment(data: dict[str, Any]) -> str:
    return b64url_encode(json.dumps(data, separators=(",", ":")).encode())


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    header, payload, signature = token.split(".")
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(payload)), signature


# --- building and the wire format ---------------------------------------------------------------


def test_credential_follows_vc_data_model_2() -> None:
    credential = make_credential()
    assert credential["@context"][0] == VC_V2_CONTEXT
    assert credential["type"] == ["VerifiableCredential", "ChildcareWorkforceCertificate"]
    assert credential["issuer"] == {"id": ISSUER.id, "name": "南京市托育实训基地"}
    assert credential["validFrom"] == "2025-03-01T08:00:00Z"
    assert credential["validUntil"] == "2028-02-29T08:00:00Z"
    subject = credential["credentialSubject"]
    assert "id" not in subject
    assert subject["maskedIdNumber"] == "320102********123X"
    assert subject["certificate"] == {
        "type": "caregiver",
        "typeName": "保育师",
        "level": "4",
        "levelName": "四级",
        "hoursEarned": "120.5",
        "serial": "TY-2025-000001",
    }
    assert credential["credentialStatus"] == [
        {
            "id": f"{LIST}/r1#4242",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": "4242",
            "statusListCredential": f"{LIST}/r1",
        },
        {
            "id": f"{LIST}/s1#4242",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "suspension",
            "statusListIndex": "4242",
            "statusListCredential": f"{LIST}/s1",
        },
    ]


def test_levelless_certificate_without_end_omits_those_fields() -> None:
    subject = CertificateSubject(
        masked_id_number="320102********123X",
        name="李四",
        type_code="director",
        type_name="托育机构负责人",
        hours_tenths=0,
        serial="TY-2025-000002",
    )
    credential = make_credential(subject=subject, valid_until=None)
    assert "validUntil" not in credential
    assert set(credential["credentialSubject"]["certificate"]) == {
        "type",
        "typeName",
        "hoursEarned",
        "serial",
    }


@pytest.mark.parametrize(("tenths", "text"), [(0, "0.0"), (5, "0.5"), (1200, "120.0"), (25, "2.5")])
def test_hours_are_exact_one_decimal_strings(tenths: int, text: str) -> None:
    assert format_hours(tenths) == text


def test_naive_or_negative_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        make_credential(valid_from=datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="negative"):
        format_hours(-1)


def test_header_and_registered_claims(token: str) -> None:
    header, payload, _ = parts(token)
    assert header == {"alg": "EdDSA", "typ": "vc+jwt", "cty": "vc", "kid": "k1"}
    assert payload["iss"] == ISSUER.id
    assert payload["jti"] == "urn:uuid:0b5e2c1e-8f0a-4c8e-9d1f-3a2b1c0d9e8f"
    assert payload["iat"] == int(NOW.timestamp())
    assert payload["nbf"] == int(NOW.timestamp())
    assert payload["exp"] == int((NOW + timedelta(days=3 * 365)).timestamp())
    assert "vc" not in payload
    assert "vp" not in payload


def test_round_trip_returns_the_credential(token: str, jwks: dict[str, Any]) -> None:
    result = verify_vc_jwt(token, jwks, NOW + timedelta(days=1))
    assert result.valid
    assert result.reason is None
    assert result.kid == "k1"
    assert result.credential == make_credential()


def test_plain_jwt_libraries_also_see_expiry(token: str, key: Ed25519PrivateKey) -> None:
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(
            sign_vc_jwt(make_credential(valid_until=NOW + timedelta(seconds=1)), key, "k1"),
            key.public_key(),
            algorithms=["EdDSA"],
        )
    assert jwt.decode(token, key.public_key(), algorithms=["EdDSA"])["jti"].startswith("urn:uuid")


def test_signing_refuses_a_malformed_credential(key: Ed25519PrivateKey) -> None:
    with pytest.raises(CredentialError) as caught:
        sign_vc_jwt({"type": ["VerifiableCredential"]}, key, "k1")
    assert caught.value.code == INVALID_CREDENTIAL
    with pytest.raises(CredentialError):
        sign_vc_jwt({**make_credential(), "exp": 1}, key, "k1")


# --- interoperability with an independent JOSE library (joserfc) --------------------------------


def test_independent_library_verifies_with_only_the_jwks(token: str, jwks: dict[str, Any]) -> None:
    key_set = KeySet.import_key_set(json.loads(json.dumps(jwks)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)  # RFC 9864 deprecates "EdDSA"
        decoded = jose_jwt.decode(token, key_set, algorithms=["EdDSA"])
    assert decoded.header["typ"] == "vc+jwt"
    assert decoded.header["kid"] == "k1"
    assert decoded.claims["credentialSubject"]["name"] == "张三"
    assert {
        k: v for k, v in decoded.claims.items() if k not in {"iss", "jti", "iat", "nbf", "exp"}
    } == (make_credential())


def test_we_verify_a_token_signed_by_the_independent_library() -> None:
    jose_key = OKPKey.generate_key("Ed25519", {"kid": "ext-1"})
    credential = make_credential()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        token = jose_jwt.encode(
            {"alg": "EdDSA", "typ": "vc+jwt", "kid": "ext-1"},
            credential,
            jose_key,
            algorithms=["EdDSA"],
        )
    public = jose_key.as_dict(private=False)
    result = verify_vc_jwt(token, {"keys": [public]}, NOW)
    assert result.valid
    assert result.credential == credential


def test_public_jwk_matches_pyjwt_and_rfc_8037(key: Ed25519PrivateKey) -> None:
    jwk = public_jwk(key.public_key(), "k1")
    reference = jwt.algorithms.OKPAlgorithm.to_jwk(key.public_key(), as_dict=True)
    assert jwk == {**reference, "kid": "k1", "alg": "EdDSA", "use": "sig"}
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert b64url_decode(jwk["x"]) == raw


def test_jwks_keys_keeps_only_usable_ed25519_keys(key: Ed25519PrivateKey) -> None:
    good = public_jwk(key.public_key(), "good")
    other = public_jwk(Ed25519PrivateKey.generate().public_key(), "dup")
    jwks = {
        "keys": [
            good,
            {**good, "kid": "ed448", "crv": "Ed448"},
            {"kty": "RSA", "kid": "rsa", "n": "AQAB", "e": "AQAB"},
            {"kty": "oct", "kid": "oct", "k": good["x"]},
            {**good, "kid": "short", "x": good["x"][:20]},
            {**good, "kid": "padded", "x": good["x"] + "="},
            {**good, "kid": "enc", "use": "enc"},
            {**good, "kid": "hs", "alg": "HS256"},
            {**good, "kid": 7},
            other,
            {**good, "kid": "dup"},
            "garbage",
            None,
        ]
    }
    assert set(jwks_keys(jwks)) == {"good"}
    hostiles: list[object] = [None, [], "x", {"keys": "x"}, {"keys": None}, {"nokeys": []}, 3]
    for hostile in hostiles:
        assert jwks_keys(hostile) == {}


# --- tampering ----------------------------------------------------------------------------------


def test_every_single_character_change_is_rejected(token: str, jwks: dict[str, Any]) -> None:
    for position, char in enumerate(token):
        if char == ".":
            continue
        forged = token[:position] + ("A" if char != "A" else "B") + token[position + 1 :]
        result = verify_vc_jwt(forged, jwks, NOW)
        assert not result.valid, position
        assert result.credential is None, position
        assert result.reason in ALL_REASONS


def test_one_changed_payload_byte_is_a_bad_signature(token: str, jwks: dict[str, Any]) -> None:
    header, payload, signature = token.split(".")
    raw = bytearray(b64url_decode(payload))
    raw[raw.index(b"TY-2025-000001") + len("TY-2025-00000")] = ord("9")
    forged = f"{header}.{b64url_encode(bytes(raw))}.{signature}"
    assert verify_vc_jwt(forged, jwks, NOW).reason == BAD_SIGNATURE


def test_signature_bytes_flipped_is_a_bad_signature(token: str, jwks: dict[str, Any]) -> None:
    header, payload, signature = token.split(".")
    raw = bytearray(b64url_decode(signature))
    raw[10] ^= 0x01
    forged = f"{header}.{payload}.{b64url_encode(bytes(raw))}"
    assert verify_vc_jwt(forged, jwks, NOW).reason == BAD_SIGNATURE


def test_changed_header_is_rejected(token: str, jwks: dict[str, Any]) -> None:
    header, payload, signature = parts(token)
    _, payload_segment, signature_segment = token.split(".")
    forged = f"{segment({**header, 'cty': 'json'})}.{payload_segment}.{signature_segment}"
    assert verify_vc_jwt(forged, jwks, NOW).reason == BAD_SIGNATURE
    del payload, signature


def test_alg_none_is_unsupported(token: str, jwks: dict[str, Any]) -> None:
    _, payload, _ = token.split(".")
    for alg in ("none", "None", "NONE"):
        unsigned = f"{segment({'alg': alg, 'typ': 'vc+jwt', 'kid': 'k1'})}.{payload}."
        assert verify_vc_jwt(unsigned, jwks, NOW).reason == UNSUPPORTED_ALG


def test_hs256_forged_with_the_public_key_is_refused(
    token: str, key: Ed25519PrivateKey, jwks: dict[str, Any]
) -> None:
    _, payload, _ = token.split(".")
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    secrets = [raw, jwks["keys"][0]["x"].encode(), json.dumps(jwks["keys"][0]).encode()]
    for secret in secrets:
        for alg in ("HS256", "EdDSA"):
            signing_input = f"{segment({'alg': alg, 'typ': 'vc+jwt', 'kid': 'k1'})}.{payload}"
            mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
            result = verify_vc_jwt(f"{signing_input}.{b64url_encode(mac)}", jwks, NOW)
            assert not result.valid
            assert result.reason == (UNSUPPORTED_ALG if alg == "HS256" else BAD_SIGNATURE)


@pytest.mark.parametrize("alg", ["RS256", "ES256", "HS256", "PS256", "Ed25519", "", None, 1])
def test_only_eddsa_is_accepted(alg: object, token: str, jwks: dict[str, Any]) -> None:
    _, payload, signature = token.split(".")
    forged = f"{segment({'alg': alg, 'typ': 'vc+jwt', 'kid': 'k1'})}.{payload}.{signature}"
    assert verify_vc_jwt(forged, jwks, NOW).reason == UNSUPPORTED_ALG


def test_unknown_or_missing_kid(key: Ed25519PrivateKey, jwks: dict[str, Any]) -> None:
    assert verify_vc_jwt(sign_vc_jwt(make_credential(), key, "k9"), jwks, NOW).reason == UNKNOWN_KEY
    no_kid = jwt.encode(make_credential(), key, algorithm="EdDSA", headers={"typ": "vc+jwt"})
    assert verify_vc_jwt(no_kid, jwks, NOW).reason == UNKNOWN_KEY


def test_kid_reused_by_another_key_is_a_bad_signature(jwks: dict[str, Any]) -> None:
    impostor = Ed25519PrivateKey.generate()
    token = sign_vc_jwt(make_credential(), impostor, "k1")
    assert verify_vc_jwt(token, jwks, NOW).reason == BAD_SIGNATURE


def test_wrong_typ(key: Ed25519PrivateKey, jwks: dict[str, Any]) -> None:
    for typ in ("JWT", "vp+jwt", "vc+sd-jwt", "receipt+jwt"):
        token = sign_jws(make_credential(), key, "k1", typ)
        assert verify_vc_jwt(token, jwks, NOW).reason == WRONG_TYPE
    untyped = jwt.encode(
        make_credential(), key, algorithm="EdDSA", headers={"kid": "k1", "typ": ""}
    )
    assert verify_vc_jwt(untyped, jwks, NOW).reason == WRONG_TYPE


def test_media_type_form_of_typ_is_accepted(key: Ed25519PrivateKey, jwks: dict[str, Any]) -> None:
    token = sign_jws(make_credential(), key, "k1", "application/VC+JWT")
    assert verify_vc_jwt(token, jwks, NOW).valid


# --- validity period ----------------------------------------------------------------------------


def test_expired_keeps_the_verified_credential(token: str, jwks: dict[str, Any]) -> None:
    result = verify_vc_jwt(token, jwks, NOW + timedelta(days=3 * 365))
    assert result.reason == EXPIRED
    assert not result.valid
    assert result.signature_ok
    assert result.credential == make_credential()
    assert verify_vc_jwt(token, jwks, NOW + timedelta(days=3 * 365, seconds=-1)).valid


def test_not_yet_valid_with_a_little_clock_skew(token: str, jwks: dict[str, Any]) -> None:
    assert verify_vc_jwt(token, jwks, NOW - timedelta(minutes=1)).valid
    result = verify_vc_jwt(token, jwks, NOW - timedelta(hours=1))
    assert result.reason == NOT_YET_VALID
    assert result.signature_ok


def test_exp_claim_stricter_than_valid_until_wins(
    key: Ed25519PrivateKey, jwks: dict[str, Any]
) -> None:
    payload = {**make_credential(), "exp": int((NOW + timedelta(days=1)).timestamp())}
    token = sign_jws(payload, key, "k1", "vc+jwt")
    assert verify_vc_jwt(token, jwks, NOW + timedelta(days=2)).reason == EXPIRED


def test_naive_now_is_a_programming_error(token: str, jwks: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="timezone"):
        verify_vc_jwt(token, jwks, datetime(2025, 3, 1))


# --- structure ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"@context": ["https://www.w3.org/2018/credentials/v1"]},
        {"@context": "https://www.w3.org/ns/credentials/v2"},
        {"type": ["ChildcareWorkforceCertificate"]},
        {"issuer": {"name": "无 id"}},
        {"issuer": 5},
        {"credentialSubject": "张三"},
        {"credentialStatus": "revoked"},
        {"validFrom": "2025-03-01"},
        {"validUntil": "2025-03-01T08:00:00"},
        {"vc": {"type": ["VerifiableCredential"]}},
        {"iss": "urn:workforce:org:someone-else"},
        {"jti": "urn:uuid:other"},
        {"nbf": "yesterday"},
        {"exp": True},
        {"id": 12},
    ],
)
def test_structural_problems_are_invalid_credential(
    change: dict[str, Any], key: Ed25519PrivateKey, jwks: dict[str, Any]
) -> None:
    token = sign_jws({**make_credential(), **change}, key, "k1", "vc+jwt")
    result = verify_vc_jwt(token, jwks, NOW)
    assert result.reason == INVALID_CREDENTIAL
    assert result.credential is None


def test_missing_required_member_is_invalid(key: Ed25519PrivateKey, jwks: dict[str, Any]) -> None:
    for member in ("@context", "type", "issuer", "credentialSubject"):
        credential = make_credential()
        del credential[member]
        token = sign_jws(credential, key, "k1", "vc+jwt")
        assert verify_vc_jwt(token, jwks, NOW).reason == INVALID_CREDENTIAL


def test_absurd_time_claims_do_not_crash(key: Ed25519PrivateKey, jwks: dict[str, Any]) -> None:
    for exp in (10**30, -(10**30), 1e308):
        token = sign_jws({**make_credential(), "exp": exp}, key, "k1", "vc+jwt")
        assert not verify_vc_jwt(token, jwks, NOW).valid


# --- key rotation -------------------------------------------------------------------------------


def test_old_key_verifies_while_it_is_published() -> None:
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    token = sign_vc_jwt(make_credential(), old, "2024-01")
    both = jwks_document({"2025-01": new.public_key(), "2024-01": old.public_key()})
    assert verify_vc_jwt(token, both, NOW).valid
    assert verify_vc_jwt(sign_vc_jwt(make_credential(), new, "2025-01"), both, NOW).valid
    only_new = jwks_document({"2025-01": new.public_key()})
    assert verify_vc_jwt(token, only_new, NOW).reason == UNKNOWN_KEY


# --- hostile input ------------------------------------------------------------------------------


GARBAGE = [
    "",
    " ",
    ".",
    "..",
    "a.b.c",
    "a.b",
    "a.b.c.d",
    "eyJ.eyJ.eyJ",
    "eyJhbGciOiJFZERTQSJ9.e30=.AA",
    "!!!.@@@.###",
    "Bearer abc.def.ghi",
    "\x00\x00",
    "张三.李四.王五",
    "A" * 100_000,
    "A" * 70_000 + ".B.C",
    f"{b64url_encode(b'[' * 5000)}.e30.AA",
    f"{b64url_encode(b'nul')}.e30.AA",
    f"{b64url_encode(b'[]')}.e30.AA",
    f"{b64url_encode(b'1' * 5000)}.e30.AA",
]


@pytest.mark.parametrize("garbage", GARBAGE, ids=[f"garbage{i}" for i in range(len(GARBAGE))])
def test_garbage_is_malformed(garbage: str, jwks: dict[str, Any]) -> None:
    assert verify_vc_jwt(garbage, jwks, NOW).reason == MALFORMED


@pytest.mark.parametrize("garbage", [None, b"a.b.c", 7, ["a"], {"token": "x"}])
def test_non_strings_are_malformed(garbage: object, jwks: dict[str, Any]) -> None:
    assert verify_vc_jwt(garbage, jwks, NOW).reason == MALFORMED


def test_hostile_header_values(token: str, jwks: dict[str, Any]) -> None:
    _, payload, signature = token.split(".")
    headers: list[dict[str, Any]] = [
        {"alg": "EdDSA", "typ": "vc+jwt", "kid": 5},
        {"alg": "EdDSA", "typ": "vc+jwt", "kid": ["k1"]},
        {"alg": "EdDSA", "typ": "vc+jwt", "kid": "k1", "crit": ["exp"]},
        {"alg": "EdDSA", "typ": "vc+jwt", "kid": "k1", "b64": False, "crit": ["b64"]},
        {"alg": "EdDSA", "typ": 7, "kid": "k1"},
        {"alg": "EdDSA", "typ": "vc+jwt", "kid": "k1", "jku": "https://evil.example/jwks"},
    ]
    for header in headers:
        result = verify_vc_jwt(f"{segment(header)}.{payload}.{signature}", jwks, NOW)
        assert not result.valid
        assert result.reason in ALL_REASONS


def test_payload_that_is_not_an_object(key: Ed25519PrivateKey, jwks: dict[str, Any]) -> None:
    header = segment({"alg": "EdDSA", "typ": "vc+jwt", "kid": "k1"})
    for body in (b"[]", b"null", b"\xff\xfe", b"{" * 3000):
        signing_input = f"{header}.{b64url_encode(body)}"
        signature = b64url_encode(key.sign(signing_input.encode()))
        result = verify_vc_jwt(f"{signing_input}.{signature}", jwks, NOW)
        assert result.reason == MALFORMED


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=300)
    | st.from_regex(r"[A-Za-z0-9_\-]{0,40}\.[A-Za-z0-9_\-]{0,80}\.[A-Za-z0-9_\-]{0,90}")
)
def test_fuzzed_input_never_raises(garbage: str) -> None:
    jwks = jwks_document({"k1": Ed25519PrivateKey.generate().public_key()})
    result = verify_vc_jwt(garbage, jwks, NOW)
    assert not result.valid
    assert result.reason in ALL_REASONS


def test_padded_base64_segments_are_malformed(token: str, jwks: dict[str, Any]) -> None:
    header, payload, signature = token.split(".")
    assert verify_vc_jwt(f"{header}=.{payload}.{signature}", jwks, NOW).reason == MALFORMED
    assert verify_vc_jwt(f"{header}.{payload}.{signature}==", jwks, NOW).reason == MALFORMED


def test_surrounding_whitespace_is_tolerated(token: str, jwks: dict[str, Any]) -> None:
    assert verify_vc_jwt(f"  {token}\n", jwks, NOW).valid


# --- generic JWS for receipts -------------------------------------------------------------------


def test_jws_round_trip(key: Ed25519PrivateKey, jwks: dict[str, Any]) -> None:
    payload = {"decision": "admitted", "checked_at": "2025-03-01T08:00:00Z", "tree_size": 42}
    token = sign_jws(payload, key, "k1", "workforce-receipt+jwt")
    header, _, _ = parts(token)
    assert header == {"alg": "EdDSA", "typ": "workforce-receipt+jwt", "kid": "k1"}
    assert verify_jws(token, jwks, "workforce-receipt+jwt", NOW) == payload


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda t: t[:-3] + ("AAA" if t[-3:] != "AAA" else "BBB"), None),
        (lambda t: "garbage", MALFORMED),
    ],
)
def test_jws_rejections_raise_typed_errors(
    mutate: Any, code: str | None, key: Ed25519PrivateKey, jwks: dict[str, Any]
) -> None:
    token = mutate(sign_jws({"a": 1}, key, "k1", "receipt+jwt"))
    with pytest.raises(CredentialError) as caught:
        verify_jws(token, jwks, "receipt+jwt", NOW)
    assert caught.value.code in ALL_REASONS
    if code is not None:
        assert caught.value.code == code


def test_jws_wrong_typ_unknown_key_and_expiry(key: Ed25519PrivateKey, jwks: dict[str, Any]) -> None:
    token = sign_jws({"exp": int(NOW.timestamp())}, key, "k1", "receipt+jwt")
    cases = [
        (token, "vc+jwt", NOW - timedelta(hours=1), WRONG_TYPE),
        (token, "receipt+jwt", NOW, EXPIRED),
        (sign_jws({"a": 1}, key, "k2", "receipt+jwt"), "receipt+jwt", NOW, UNKNOWN_KEY),
        (
            sign_jws({"nbf": "soon"}, key, "k1", "receipt+jwt"),
            "receipt+jwt",
            NOW,
            INVALID_CREDENTIAL,
        ),
    ]
    for candidate, typ, now, code in cases:
        with pytest.raises(CredentialError) as caught:
            verify_jws(candidate, jwks, typ, now)
        assert caught.value.code == code


def test_b64url_helpers_are_strict() -> None:
    assert b64url_decode(b64url_encode(b"\xff\xfe\x00")) == b"\xff\xfe\x00"
    for bad in ("a", "ab=", "a+b/", "ab c", "abcde"):
        with pytest.raises(ValueError, match="base64url"):
            b64url_decode(bad)
    assert base64.urlsafe_b64encode(b"\xfb").decode().rstrip("=") == b64url_encode(b"\xfb")
