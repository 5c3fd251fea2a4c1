"""The fast verification paths agree with PyJWT and keep the caches' semantics exact.

``credential`` parses a compact JWS once instead of going through PyJWT; every outcome here is
compared with the PyJWT pipeline it replaced (kept below as ``reference``). ``status_list`` keeps
verified, decoded lists in an LRU; a cache hit must answer exactly what a fresh check answers,
the validity window included.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st
from jwt.api_jws import PyJWS

from workforce.certificates import credential, status_list
from workforce.certificates.credential import (
    BAD_SIGNATURE,
    INVALID_CREDENTIAL,
    MALFORMED,
    MAX_TOKEN_BYTES,
    UNKNOWN_KEY,
    VC_JWT_TYP,
    CredentialError,
    Issuer,
    StatusPointer,
    b64url_encode,
    jwks_document,
    jwks_fingerprint,
    jwks_keys,
    period_problem,
    public_jwk,
    sign_jws,
    sign_vc_jwt,
    status_entry,
    unverified_claims,
    validity_period,
    verify_vc_jwt,
)
from workforce.certificates.status_list import (
    LIST_TOO_SHORT,
    NOT_A_STATUS_LIST,
    STATUS_LIST_MISMATCH,
    StatusBitstring,
    StatusResult,
    build_status_list_credential,
    check_status,
)

from .test_credential import GARBAGE, make_credential
from .test_status_list import BASE, ISSUER, NOW, REVOCATION_URL

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@pytest.fixture(autouse=True)
def empty_caches() -> Iterator[None]:
    credential.clear_cache()
    status_list.clear_cache()
    yield
    credential.clear_cache()
    status_list.clear_cache()


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def jwks(key: Ed25519PrivateKey) -> dict[str, Any]:
    return jwks_document({"k1": key.public_key()})


# --- the PyJWT pipeline the fast path replaced ----------------------------------------------------

_PYJWT_OPTIONS: Any = {
    "verify_signature": True,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_aud": False,
    "verify_iss": False,
}


_PYJWT_ERRORS: tuple[tuple[type[Exception], str], ...] = (
    (jwt.InvalidSignatureError, BAD_SIGNATURE),
    (jwt.DecodeError, MALFORMED),
    (jwt.PyJWTError, INVALID_CREDENTIAL),
)


def _pyjwt_header(compact: str) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(compact)
    except jwt.PyJWTError as exc:
        raise CredentialError(MALFORMED, "header") from exc
    if "crit" in header or "b64" in header:
        raise CredentialError(MALFORMED, "crit")
    return header


def reference(
    token: object, jwks: object, typ: str = VC_JWT_TYP, max_bytes: int = MAX_TOKEN_BYTES
) -> tuple[str, str]:
    """The JOSE checks as ``credential`` did them through PyJWT 2.15 (before the fast path)."""
    try:
        compact = credential._compact_token(token, max_bytes)
        header = _pyjwt_header(compact)
        credential._check_header(header, typ)
        public = credential._select_key(header, jwks_keys(jwks))
        claims = jwt.decode(compact, public, algorithms=["EdDSA"], options=_PYJWT_OPTIONS)
    except CredentialError as exc:
        return ("error", exc.code)
    except jwt.PyJWTError as exc:
        return ("error", next(code for kind, code in _PYJWT_ERRORS if isinstance(exc, kind)))
    return ("ok", repr((claims, header["kid"])))


def fast(
    token: object, jwks: object, typ: str = VC_JWT_TYP, max_bytes: int = MAX_TOKEN_BYTES
) -> tuple[str, str]:
    try:
        return ("ok", repr(credential._verified_claims(token, jwks, typ, max_bytes)))
    except CredentialError as exc:
        return ("error", exc.code)


def signed(key: Ed25519PrivateKey, header: bytes | dict[str, Any], payload: bytes) -> str:
    """A compact JWS over arbitrary header and payload bytes, correctly signed."""
    raw_header = header if isinstance(header, bytes) else json.dumps(header).encode()
    signing_input = f"{b64url_encode(raw_header)}.{b64url_encode(payload)}"
    return f"{signing_input}.{b64url_encode(key.sign(signing_input.encode()))}"


HEADER = {"alg": "EdDSA", "typ": "vc+jwt", "kid": "k1"}


def hostile_tokens(key: Ed25519PrivateKey) -> list[str]:
    good = sign_vc_jwt(make_credential(), key, "k1", issued_at=NOW)
    head, payload, signature = good.split(".")
    body = json.dumps(make_credential()).encode()
    tokens = [
        good,
        f"  {good}\n",
        sign_jws(make_credential(), key, "k1", "application/VC+JWT"),
        sign_jws(make_credential(), key, "k2", "vc+jwt"),
        sign_jws(make_credential(), key, "k1", "receipt+jwt"),
        # non-canonical last characters and impossible lengths in each segment
        f"{head[:-1]}{'B' if head[-1] == 'A' else 'A'}.{payload}.{signature}",
        f"{head}.{payload[:-1]}{'R' if payload[-1] != 'R' else 'S'}.{signature}",
        f"{head}.{payload}.{signature[:-1]}B",
        f"{head}.{payload}.{signature[:-1]}",
        f"{head}.{payload}.{signature}A",
        f"{head}.{payload}.",
        f"{head}.{payload}A.{signature}",
        f"{head}A.{payload}.{signature}",
        # header JSON as json.loads alone accepts it
        signed(key, json.dumps(HEADER).encode("utf-16"), body),
        signed(key, json.dumps(HEADER).encode("utf-32-le"), body),
        signed(key, b"\xef\xbb\xbf" + json.dumps(HEADER).encode(), body),
        signed(key, b'{"alg":"EdDSA","typ":"vc+jwt","kid":"k1","x":NaN}', body),
        signed(key, b'{"alg":"EdDSA","typ":"vc+jwt","kid":"k\\ud800"}', body),
        signed(key, b'{"alg":"EdDSA","typ":"vc+jwt","kid":"k1","kid":"k1"}', body),
        signed(key, b'{"alg":"none","alg":"EdDSA","typ":"vc+jwt","kid":"k1"}', body),
        signed(key, b'{"alg":"EdDSA","typ":"vc+jwt","kid":"k1","n":1e400}', body),
        signed(key, b"[" * 3000 + b"]" * 3000, body),
        signed(key, b'{"a":' * 3000 + b"1" + b"}" * 3000, body),
        signed(key, b"\xff\xfe", body),
        signed(key, b"null", body),
        # header members
        signed(key, {**HEADER, "kid": 5}, body),
        signed(key, {**HEADER, "kid": None}, body),
        signed(key, {**HEADER, "crit": ["b64"], "b64": False}, body),
        signed(key, {**HEADER, "crit": []}, body),
        signed(key, {**HEADER, "b64": True}, body),
        signed(key, {**HEADER, "alg": "none"}, body),
        signed(key, {**HEADER, "alg": "EdDSA "}, body),
        signed(key, {**HEADER, "typ": None}, body),
        signed(key, {k: v for k, v in HEADER.items() if k != "kid"}, body),
        signed(key, {**HEADER, "jwk": {"kty": "OKP"}, "jku": "https://evil.example/"}, body),
        # payloads: only read after the signature
        signed(key, HEADER, b"[]"),
        signed(key, HEADER, b"null"),
        signed(key, HEADER, b"\xff\xfe"),
        signed(key, HEADER, b"{" * 3000),
        signed(key, HEADER, b"[" * 5000 + b"]" * 5000),
        signed(key, HEADER, json.dumps(HEADER).encode("utf-16")),
        signed(key, HEADER, b"\xef\xbb\xbf" + body),
        signed(key, HEADER, body[:-1] + b',"exp":NaN}'),
        signed(key, HEADER, body[:-1] + b',"exp":1e400}'),
        signed(key, HEADER, body[:-1] + b',"exp":-Infinity}'),
        signed(key, HEADER, body[:-1] + b',"exp":1' + b"0" * 5000 + b"}"),
        signed(key, HEADER, body[:-1] + b',"note":"\\udc00\\ud800"}'),
        signed(key, HEADER, body[:-1] + b',"note":"\xed\xa0\x80"}'),
        signed(key, HEADER, body[:-1] + b',"sub":5}'),
        signed(key, HEADER, body[:-1] + b',"sub":"holder"}'),
        signed(key, HEADER, body[:-1] + b',"jti":["x"]}'),
        signed(key, HEADER, body[:-1] + b',"aud":"someone"}'),
        signed(key, HEADER, body[:-1] + b',"iat":"yesterday"}'),
        signed(key, HEADER, body[:-1] + b',"nbf":"soon"}'),
        signed(key, HEADER, body[:-1] + b',"exp":1e308}'),
        signed(key, HEADER, b'{"a":1,"a":2}'),
        # a broken payload under a bad signature is a bad signature, as with PyJWT
        f"{head}.{b64url_encode(b'[]')}.{signature}",
        f"{head}.{b64url_encode(b'{')}.{signature}",
        *GARBAGE,
    ]
    for position in range(0, len(good), 7):
        if good[position] != ".":
            char = "A" if good[position] != "A" else "B"
            tokens.append(good[:position] + char + good[position + 1 :])
    return tokens


def test_fast_path_agrees_with_pyjwt(key: Ed25519PrivateKey, jwks: dict[str, Any]) -> None:
    tokens = hostile_tokens(key)
    outcomes = {fast(token, jwks)[1] for token in tokens if fast(token, jwks)[0] == "error"}
    assert {MALFORMED, BAD_SIGNATURE, INVALID_CREDENTIAL, UNKNOWN_KEY} <= outcomes
    for index, token in enumerate(tokens):
        assert fast(token, jwks) == reference(token, jwks), index


def test_fast_path_agrees_with_pyjwt_for_other_types(
    key: Ed25519PrivateKey, jwks: dict[str, Any]
) -> None:
    for token in hostile_tokens(key)[:60]:
        for typ in ("receipt+jwt", "JWT"):
            assert fast(token, jwks, typ) == reference(token, jwks, typ)
        assert fast(token, jwks, VC_JWT_TYP, 100) == reference(token, jwks, VC_JWT_TYP, 100)


def test_valid_tokens_give_pyjwts_and_joserfcs_claims(
    key: Ed25519PrivateKey, jwks: dict[str, Any]
) -> None:
    token = sign_vc_jwt(make_credential(), key, "k1", issued_at=NOW)
    claims, kid = credential._verified_claims(token, jwks, VC_JWT_TYP, MAX_TOKEN_BYTES)
    assert kid == "k1"
    assert claims == jwt.decode(token, key.public_key(), algorithms=["EdDSA"])
    assert unverified_claims(token) == claims


@settings(max_examples=400, deadline=None)
@given(
    st.from_regex(
        r"[A-Za-z0-9_\-]{1,40}\.[A-Za-z0-9_\-]{1,80}\.[A-Za-z0-9_\-]{0,90}", fullmatch=True
    )
    | st.text(max_size=120)
)
def test_fuzzed_tokens_get_pyjwts_reason(token: str) -> None:
    jwks = jwks_document({"k1": Ed25519PrivateKey.generate().public_key()})
    assert fast(token, jwks) == reference(token, jwks)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["alg", "typ", "kid", "crit", "b64", "cty", "x"]),
        st.one_of(
            st.sampled_from(["EdDSA", "vc+jwt", "k1", "none"]),
            st.integers(),
            st.booleans(),
            st.none(),
            st.lists(st.sampled_from(["b64", "exp"]), max_size=2),
        ),
    ),
    st.binary(max_size=60) | st.sampled_from([b"{}", b'{"sub":1}', b'{"jti":"x"}']),
)
def test_fuzzed_signed_headers_and_payloads_get_pyjwts_reason(
    header: dict[str, Any], payload: bytes
) -> None:
    key = Ed25519PrivateKey.generate()
    jwks = jwks_document({"k1": key.public_key()})
    token = signed(key, header, payload)
    assert fast(token, jwks) == reference(token, jwks)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=23))
def test_segment_decoding_matches_pyjwt(text: str) -> None:
    try:
        expected: bytes | None = PyJWS._decode_base64url_segment(text.encode(), "x")
    except jwt.DecodeError:
        expected = None
    try:
        actual: bytes | None = credential._segment(text)
    except CredentialError as exc:
        assert exc.code == MALFORMED
        actual = None
    assert actual == expected


JSON_EDGES = [
    b"{}",
    b' {"a" : [1, 2.5, -0, -0.0, 1e-400, "x\\u0000"]} ',
    b'{"a":1,"a":2}',
    b'{"a":NaN}',
    b'{"a":Infinity}',
    b'{"a":1e400}',
    b'{"a":"\\ud800"}',
    b'{"a":"\xed\xa0\x80"}',
    b'{"a":"\x1f"}',
    b'{"a":1' + b"0" * 4400 + b"}",
    b'{"a":1.' + b"0" * 5000 + b"1}",
    b"\xef\xbb\xbf{}",
    '{"a":"张三"}'.encode("utf-16"),
    '{"a":1}'.encode("utf-32-be"),
    b"[" * 3000 + b"]" * 3000,
    b"[]",
    b"1",
    b"",
    b"{}x",
]


def _json_reference(data: bytes) -> str:
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        return "None"
    return repr(value) if isinstance(value, dict) else "None"


@pytest.mark.parametrize("data", JSON_EDGES, ids=range(len(JSON_EDGES)))
def test_json_objects_are_read_as_json_loads_reads_them(data: bytes) -> None:
    assert repr(credential._json_object(data)) == _json_reference(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40) | st.text(alphabet='{}[]":,0123456789.eE-+ aNI\\u', max_size=40))
def test_fuzzed_json_is_read_as_json_loads_reads_it(data: bytes | str) -> None:
    raw = data.encode() if isinstance(data, str) else data
    assert repr(credential._json_object(raw)) == _json_reference(raw)


# --- the JWK Set cache ----------------------------------------------------------------------------


def test_jwks_cache_follows_the_content(key: Ed25519PrivateKey) -> None:
    jwks = jwks_document({"k1": key.public_key()})
    assert set(jwks_keys(jwks)) == {"k1"}
    jwks["keys"][0]["kid"] = "k2"  # the same object, changed in place
    assert set(jwks_keys(jwks)) == {"k2"}
    jwks["keys"].clear()
    assert jwks_keys(jwks) == {}


def test_jwks_cache_never_conflates_lookalike_documents(key: Ed25519PrivateKey) -> None:
    entry = public_jwk(key.public_key(), "k1")
    assert set(jwks_keys({"keys": [entry]})) == {"k1"}
    assert jwks_keys({"keys": (entry,)}) == {}
    assert set(jwks_keys({"keys": [{**entry, "key_ops": ["verify"]}]})) == {"k1"}
    assert jwks_keys({"keys": [{**entry, "key_ops": ("verify",)}]}) == {}

    class Sneaky(str):
        __slots__ = ()

    assert set(jwks_keys({"keys": [{**entry, "kid": Sneaky("k1")}]})) == {"k1"}


def test_jwks_keys_hands_out_a_copy(key: Ed25519PrivateKey) -> None:
    jwks = jwks_document({"k1": key.public_key()})
    jwks_keys(jwks).clear()
    assert set(jwks_keys(jwks)) == {"k1"}


def test_jwks_fingerprint_is_the_usable_keys(key: Ed25519PrivateKey) -> None:
    other = Ed25519PrivateKey.generate().public_key()
    one = jwks_document({"k1": key.public_key(), "k2": other})
    reordered = {"keys": [one["keys"][1], {"kty": "RSA", "kid": "r"}, one["keys"][0]]}
    assert jwks_fingerprint(one) == jwks_fingerprint(reordered)
    assert jwks_fingerprint(one) != jwks_fingerprint(jwks_document({"k1": key.public_key()}))
    assert jwks_fingerprint(one) != jwks_fingerprint(
        jwks_document({"k1": other, "k2": key.public_key()})
    )
    assert jwks_fingerprint(None) == jwks_fingerprint({"keys": []})


# --- the status-list cache ------------------------------------------------------------------------


def list_token(
    key: Ed25519PrivateKey,
    url: str = REVOCATION_URL,
    set_bits: tuple[int, ...] = (),
    *,
    issuer: Issuer = ISSUER,
    valid_until: datetime | None = None,
    bits: StatusBitstring | None = None,
) -> str:
    bitstring = bits if bits is not None else StatusBitstring()
    for index in set_bits:
        bitstring.set(index, True)
    list_credential = build_status_list_credential(
        url, "revocation", bitstring.encode(), issuer, NOW, valid_until=valid_until
    )
    return sign_vc_jwt(list_credential, key, "k1", issued_at=NOW)


def entry(index: int = 4242, url: str = REVOCATION_URL) -> dict[str, str]:
    return status_entry(StatusPointer("revocation", url, index))


@pytest.fixture
def verify_calls(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    calls: list[object] = []

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[0])
        return verify_vc_jwt(*args, **kwargs)

    monkeypatch.setattr(status_list, "verify_vc_jwt", counting)
    return calls


def check(token: str, jwks: object, now: datetime, **kwargs: Any) -> StatusResult:
    [result] = check_status([entry()], {REVOCATION_URL: token}, jwks, now, **kwargs)
    return result


def test_a_list_is_verified_once_across_checks(
    key: Ed25519PrivateKey, jwks: dict[str, Any], verify_calls: list[object]
) -> None:
    token = list_token(key, set_bits=(4242,))
    for _ in range(5):
        assert check(token, jwks, NOW, expected_issuer=ISSUER.id).set is True
    assert len(verify_calls) == 1
    # a JWK Set with the same keys, rebuilt, is the same set
    assert check(token, jwks_document({"k1": key.public_key()}), NOW).set is True
    assert len(verify_calls) == 1


def test_an_expired_list_is_expired_on_a_cache_hit(
    key: Ed25519PrivateKey, jwks: dict[str, Any], verify_calls: list[object]
) -> None:
    token = list_token(key, valid_until=NOW + timedelta(days=1))
    assert check(token, jwks, NOW).set is False
    assert check(token, jwks, NOW + timedelta(days=2)).reason == "status_list_expired"
    assert check(token, jwks, NOW - timedelta(hours=1)).reason == "status_list_not_yet_valid"
    assert check(token, jwks, NOW + timedelta(hours=23)).set is False
    assert len(verify_calls) == 1


def test_a_list_first_seen_expired_is_cached_and_still_expired(
    key: Ed25519PrivateKey, jwks: dict[str, Any], verify_calls: list[object]
) -> None:
    token = list_token(key, valid_until=NOW + timedelta(days=1))
    assert check(token, jwks, NOW + timedelta(days=2)).reason == "status_list_expired"
    assert check(token, jwks, NOW + timedelta(days=3)).reason == "status_list_expired"
    assert check(token, jwks, NOW).set is False
    assert len(verify_calls) == 1


def test_exp_claim_is_checked_on_a_hit(key: Ed25519PrivateKey, jwks: dict[str, Any]) -> None:
    list_credential = build_status_list_credential(
        REVOCATION_URL, "revocation", StatusBitstring().encode(), ISSUER, NOW
    )
    exp = int((NOW + timedelta(days=1)).timestamp())
    token = sign_jws({**list_credential, "exp": exp}, key, "k1", "vc+jwt")
    assert check(token, jwks, NOW).set is False
    assert check(token, jwks, NOW + timedelta(days=2)).reason == "status_list_expired"


def test_url_and_issuer_are_checked_on_a_hit(
    key: Ed25519PrivateKey, jwks: dict[str, Any], verify_calls: list[object]
) -> None:
    token = list_token(key)
    assert check(token, jwks, NOW, expected_issuer=ISSUER.id).set is False
    other_url = f"{BASE}/r2"
    [moved] = check_status([entry(url=other_url)], {other_url: token}, jwks, NOW)
    assert moved.reason == STATUS_LIST_MISMATCH
    assert check(token, jwks, NOW, expected_issuer="urn:other").reason == STATUS_LIST_MISMATCH
    assert len(verify_calls) == 1


def test_another_key_set_is_not_served_from_the_cache(
    key: Ed25519PrivateKey, jwks: dict[str, Any]
) -> None:
    token = list_token(key)
    assert check(token, jwks, NOW).set is False
    impostor = jwks_document({"k1": Ed25519PrivateKey.generate().public_key()})
    assert check(token, impostor, NOW).reason == "status_list_bad_signature"
    assert check(token, {"keys": []}, NOW).reason == "status_list_unknown_key"
    assert check(token, None, NOW).reason == "status_list_unknown_key"
    assert check(token, jwks, NOW).set is False


def test_unusable_lists_answer_the_same_on_a_hit(
    key: Ed25519PrivateKey, jwks: dict[str, Any]
) -> None:
    short = build_status_list_credential(
        REVOCATION_URL, "revocation", "u" + b64url_encode(bytes(10)), ISSUER, NOW
    )
    certificate = {**make_credential(), "id": REVOCATION_URL}
    expiring_certificate = {
        **certificate,
        "validUntil": (NOW + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    cases = [
        (sign_vc_jwt(short, key, "k1", issued_at=NOW), NOW, "malformed_list"),
        (
            sign_vc_jwt(
                build_status_list_credential(
                    REVOCATION_URL,
                    "revocation",
                    "u" + b64url_encode(gzip.compress(bytes(10), mtime=0)),
                    ISSUER,
                    NOW,
                ),
                key,
                "k1",
                issued_at=NOW,
            ),
            NOW,
            LIST_TOO_SHORT,
        ),
        (sign_vc_jwt(certificate, key, "k1", issued_at=NOW), NOW, NOT_A_STATUS_LIST),
        (
            sign_vc_jwt(expiring_certificate, key, "k1", issued_at=NOW),
            NOW + timedelta(days=2),
            "status_list_expired",
        ),
    ]
    for token, now, reason in cases:
        status_list.clear_cache()
        first = check(token, jwks, now)
        assert first.reason == reason
        assert check(token, jwks, now) == first  # a hit


def test_out_of_range_epoch_answers_as_uncached(
    key: Ed25519PrivateKey, jwks: dict[str, Any]
) -> None:
    list_credential = build_status_list_credential(
        REVOCATION_URL, "revocation", StatusBitstring().encode(), ISSUER, NOW
    )
    nbf = int((NOW + timedelta(days=1)).timestamp())
    token = sign_jws({**list_credential, "nbf": nbf, "exp": 1e308}, key, "k1", "vc+jwt")
    moments = [NOW, NOW + timedelta(days=2), NOW]
    uncached = []
    for moment in moments:
        status_list.clear_cache()
        uncached.append(check(token, jwks, moment))
    cached = [check(token, jwks, moment) for moment in moments]
    assert cached == uncached
    assert [r.reason for r in cached] == [
        "status_list_not_yet_valid",
        "status_list_invalid_credential",
        "status_list_not_yet_valid",
    ]


def test_hits_equal_fresh_checks(key: Ed25519PrivateKey, jwks: dict[str, Any]) -> None:
    tokens = [
        list_token(key, set_bits=(1, 4242)),
        list_token(key, valid_until=NOW + timedelta(days=1)),
        list_token(key, issuer=Issuer(id="urn:other", name="x")),
        list_token(key, url=f"{BASE}/r9"),
        list_token(Ed25519PrivateKey.generate()),
        "garbage",
    ]
    moments = [NOW - timedelta(days=1), NOW, NOW + timedelta(days=2)]
    for token in tokens:
        for moment in moments:
            for issuer in (None, ISSUER.id):
                status_list.clear_cache()
                fresh = check(token, jwks, moment, expected_issuer=issuer)
                assert check(token, jwks, moment, expected_issuer=issuer) == fresh


def test_naive_now_is_still_refused_on_a_hit(key: Ed25519PrivateKey, jwks: dict[str, Any]) -> None:
    token = list_token(key)
    assert check(token, jwks, NOW).set is False
    with pytest.raises(ValueError, match="timezone"):
        check(token, jwks, datetime(2025, 3, 1))


def test_cached_bitstrings_are_not_shared_with_callers(
    key: Ed25519PrivateKey, jwks: dict[str, Any]
) -> None:
    token = list_token(key, set_bits=(7,))
    results = check_status([entry(7), entry(8)], {REVOCATION_URL: token}, jwks, NOW)
    assert [r.set for r in results] == [True, False]
    again = check_status([entry(7), entry(8)], {REVOCATION_URL: token}, jwks, NOW)
    assert again == results


def test_the_cache_is_bounded(key: Ed25519PrivateKey, jwks: dict[str, Any]) -> None:
    for index in range(status_list._CACHE_SIZE + 5):
        check(list_token(key, url=REVOCATION_URL, set_bits=(index,)), jwks, NOW)
    assert len(status_list._VERIFIED_LISTS) == status_list._CACHE_SIZE


def test_huge_lists_are_not_kept(key: Ed25519PrivateKey, jwks: dict[str, Any]) -> None:
    big = StatusBitstring((status_list._CACHE_MAX_LIST_BYTES + 1024) * 8)
    token = list_token(key, bits=big, set_bits=(4242,))
    assert check(token, jwks, NOW).set is True
    assert len(status_list._VERIFIED_LISTS) == 0


def test_period_problem_matches_verify_vc_jwt(key: Ed25519PrivateKey, jwks: dict[str, Any]) -> None:
    token = sign_vc_jwt(make_credential(), key, "k1", issued_at=NOW)
    period = validity_period(unverified_claims(token))
    for moment in (NOW - timedelta(hours=1), NOW, NOW + timedelta(days=4 * 365)):
        assert period_problem(period, moment) == verify_vc_jwt(token, jwks, moment).reason


def test_unverified_claims_refuses_what_is_not_a_jws() -> None:
    for garbage in ("garbage", "a.b.c", None, f"{b64url_encode(b'{}')}.{b64url_encode(b'[]')}."):
        with pytest.raises(CredentialError) as caught:
            unverified_claims(garbage)
        assert caught.value.code == MALFORMED
