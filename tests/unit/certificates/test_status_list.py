"""Bitstring Status List v1.0: bit order, encoding, hostile lists, status checks."""

from __future__ import annotations

import gzip
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from workforce.certificates import status_list
from workforce.certificates.credential import (
    Issuer,
    StatusPointer,
    b64url_decode,
    b64url_encode,
    jwks_document,
    sign_vc_jwt,
    status_entry,
    verify_vc_jwt,
)
from workforce.certificates.status_list import (
    INDEX_OUT_OF_RANGE,
    INVALID_ENTRY,
    INVALID_SIZE,
    LIST_FULL,
    LIST_TOO_LARGE,
    LIST_TOO_SHORT,
    MALFORMED_LIST,
    MIN_LIST_BITS,
    NOT_A_STATUS_LIST,
    PURPOSE_MISMATCH,
    STATUS_LIST_MISMATCH,
    STATUS_LIST_MISSING,
    UNSUPPORTED_STATUS_SIZE,
    StatusBitstring,
    StatusListError,
    StatusResult,
    build_status_list_credential,
    check_status,
    index_status_lists,
    random_free_index,
)

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
BASE = "https://registry.example.cn/api/v1/status-lists"
REVOCATION_URL = f"{BASE}/r1"
SUSPENSION_URL = f"{BASE}/s1"
ISSUER = Issuer(
    id="urn:workforce:org:7d0e2f6a-4a51-4c43-9a3e-0b9b2f1c1d01", name="国家托育登记中心"
)


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def jwks(key: Ed25519PrivateKey) -> dict[str, Any]:
    return jwks_document({"k1": key.public_key()})


def list_token(
    key: Ed25519PrivateKey,
    url: str,
    purpose: str,
    set_bits: tuple[int, ...] = (),
    *,
    issuer: Issuer = ISSUER,
    valid_until: datetime | None = None,
) -> str:
    bits = StatusBitstring()
    for index in set_bits:
        bits.set(index, True)
    credential = build_status_list_credential(
        url, purpose, bits.encode(), issuer, NOW, valid_until=valid_until
    )
    return sign_vc_jwt(credential, key, "k1", issued_at=NOW)


def entries(index: int = 4242) -> list[dict[str, str]]:
    return [
        status_entry(StatusPointer("revocation", REVOCATION_URL, index)),
        status_entry(StatusPointer("suspension", SUSPENSION_URL, index)),
    ]


def gzipped(data: bytes) -> str:
    return "u" + b64url_encode(gzip.compress(data, mtime=0))


# --- the bitstring ------------------------------------------------------------------------------


def test_default_list_is_the_spec_minimum() -> None:
    bits = StatusBitstring()
    assert bits.size == MIN_LIST_BITS == 131_072
    assert len(bits.to_bytes()) == 16 * 1024
    assert not any(bits.to_bytes())


@pytest.mark.parametrize("size", [0, 8, MIN_LIST_BITS - 8, MIN_LIST_BITS + 1])
def test_too_small_or_ragged_sizes_are_refused(size: int) -> None:
    with pytest.raises(StatusListError) as caught:
        StatusBitstring(size)
    assert caught.value.code == INVALID_SIZE


def test_index_zero_is_the_most_significant_bit_of_the_first_byte() -> None:
    bits = StatusBitstring()
    bits.set(0, True)
    assert bits.to_bytes()[0] == 0b1000_0000
    bits.set(2, True)
    bits.set(7, True)
    assert bits.to_bytes()[0] == 0xA1  # 1010 0001, computed by hand
    bits.set(9, True)
    assert bits.to_bytes()[1] == 0x40  # index 9 = byte 1, second bit from the left
    bits.set(MIN_LIST_BITS - 1, True)
    assert bits.to_bytes()[-1] == 0x01
    assert [i for i in range(16) if bits.get(i)] == [0, 2, 7, 9]


def test_set_and_clear() -> None:
    bits = StatusBitstring()
    bits.set(12345, True)
    assert bits.get(12345)
    assert not bits.get(12344)
    assert not bits.get(12346)
    bits.set(12345, False)
    assert not bits.get(12345)
    assert not any(bits.to_bytes())


@pytest.mark.parametrize("index", [-1, MIN_LIST_BITS, 10**12, True])
def test_indices_outside_the_list_are_refused(index: int) -> None:
    bits = StatusBitstring()
    for operation in (lambda: bits.get(index), lambda: bits.set(index, True)):
        with pytest.raises(StatusListError) as caught:
            operation()
        assert caught.value.code == INDEX_OUT_OF_RANGE


def test_encoding_is_multibase_base64url_of_gzip() -> None:
    bits = StatusBitstring()
    for index in (0, 9, 4242, 131_071):
        bits.set(index, True)
    encoded = bits.encode()
    assert encoded.startswith("u")
    assert "=" not in encoded
    assert "+" not in encoded
    assert "/" not in encoded
    assert gzip.decompress(b64url_decode(encoded[1:])) == bits.to_bytes()  # independent decoder
    assert encoded == bits.encode()  # deterministic (mtime 0)


def test_encode_decode_round_trip() -> None:
    bits = StatusBitstring(MIN_LIST_BITS * 2)
    for index in (1, 77, 131_072, 262_143):
        bits.set(index, True)
    decoded = StatusBitstring.decode(bits.encode())
    assert decoded.size == MIN_LIST_BITS * 2
    assert decoded.to_bytes() == bits.to_bytes()
    assert [i for i in (0, 1, 77, 78, 131_072, 262_143) if decoded.get(i)] == [
        1,
        77,
        131_072,
        262_143,
    ]


def test_decoding_an_externally_made_list() -> None:
    raw = bytearray(16 * 1024)
    raw[0] = 0x80
    raw[100] = 0x01
    decoded = StatusBitstring.decode(gzipped(bytes(raw)))
    assert decoded.get(0)
    assert decoded.get(807)
    assert not decoded.get(806)


@pytest.mark.parametrize(
    ("encoded", "code"),
    [
        ("", MALFORMED_LIST),
        ("z" + b64url_encode(gzip.compress(bytes(16 * 1024))), MALFORMED_LIST),
        (b64url_encode(gzip.compress(bytes(16 * 1024))), MALFORMED_LIST),
        ("u!!!!", MALFORMED_LIST),
        ("u" + b64url_encode(gzip.compress(bytes(16 * 1024))) + "==", MALFORMED_LIST),
        ("u" + b64url_encode(b"not gzip at all, just bytes"), MALFORMED_LIST),
        ("u" + b64url_encode(gzip.compress(bytes(16 * 1024))[:-6]), MALFORMED_LIST),
        ("u" + b64url_encode(gzip.compress(bytes(16 * 1024)) + b"trailing"), MALFORMED_LIST),
        ("u" + b64url_encode(gzip.compress(bytes(16 * 1024)) * 2), MALFORMED_LIST),
        (gzipped(bytes(16 * 1024 - 1)), LIST_TOO_SHORT),
        (gzipped(b""), LIST_TOO_SHORT),
    ],
    ids=lambda value: value if len(str(value)) < 20 else "…",
)
def test_bad_encodings_are_refused(encoded: str, code: str) -> None:
    with pytest.raises(StatusListError) as caught:
        StatusBitstring.decode(encoded)
    assert caught.value.code == code


def test_corrupted_gzip_checksum_is_refused() -> None:
    compressed = bytearray(gzip.compress(bytes(16 * 1024), mtime=0))
    compressed[-5] ^= 0xFF  # CRC-32 in the GZIP trailer
    with pytest.raises(StatusListError) as caught:
        StatusBitstring.decode("u" + b64url_encode(bytes(compressed)))
    assert caught.value.code == MALFORMED_LIST


@pytest.mark.parametrize("value", [None, 7, b"u", ["u"]])
def test_non_string_encoded_list(value: object) -> None:
    with pytest.raises(StatusListError) as caught:
        StatusBitstring.decode(value)
    assert caught.value.code == MALFORMED_LIST


def test_gzip_bomb_is_refused_without_inflating_it() -> None:
    bomb = gzip.compress(bytes(17 * 1024 * 1024), compresslevel=9, mtime=0)
    assert len(bomb) < 20_000
    with pytest.raises(StatusListError) as caught:
        StatusBitstring.decode("u" + b64url_encode(bomb))
    assert caught.value.code == LIST_TOO_LARGE
    with pytest.raises(StatusListError) as caught:
        StatusBitstring.decode(gzipped(bytes(32 * 1024)), max_bytes=16 * 1024)
    assert caught.value.code == LIST_TOO_LARGE


def test_minimum_size_is_configurable_for_decoding() -> None:
    encoded = gzipped(bytes(32 * 1024))
    assert StatusBitstring.decode(encoded, MIN_LIST_BITS * 2).size == MIN_LIST_BITS * 2
    with pytest.raises(StatusListError):
        StatusBitstring.decode(encoded, MIN_LIST_BITS * 4)


# --- random index assignment --------------------------------------------------------------------


def test_random_free_index_avoids_taken_indices() -> None:
    taken = set(range(0, MIN_LIST_BITS, 2))
    picks = {random_free_index(taken) for _ in range(200)}
    assert all(pick % 2 == 1 for pick in picks)
    assert len(picks) > 150  # spread over the list, not sequential


def test_random_free_index_accepts_a_predicate() -> None:
    pick = random_free_index(lambda index: index != 99, 1000)
    assert pick == 99


def test_random_free_index_falls_back_to_a_scan() -> None:
    draws = itertools.count()

    def stuck(_size: int) -> int:
        next(draws)
        return 5  # always a taken index

    assert random_free_index({5, 6}, 10, randbelow=stuck) == 7
    assert next(draws) == 65  # 64 random draws, then one for the scan's start


def test_full_list_raises() -> None:
    with pytest.raises(StatusListError) as caught:
        random_free_index(set(range(16)), 16)
    assert caught.value.code == LIST_FULL
    with pytest.raises(StatusListError):
        random_free_index(lambda _: True, 16)


# --- status list credentials --------------------------------------------------------------------


def test_status_list_credential_shape(key: Ed25519PrivateKey, jwks: dict[str, Any]) -> None:
    encoded = StatusBitstring().encode()
    credential = build_status_list_credential(REVOCATION_URL, "revocation", encoded, ISSUER, NOW)
    assert credential == {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": REVOCATION_URL,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": {"id": ISSUER.id, "name": ISSUER.name},
        "validFrom": "2025-03-01T08:00:00Z",
        "credentialSubject": {
            "id": f"{REVOCATION_URL}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encoded,
        },
    }
    verified = verify_vc_jwt(sign_vc_jwt(credential, key, "k1"), jwks, NOW)
    assert verified.valid
    assert verified.credential == credential


def test_status_list_token_is_small(key: Ed25519PrivateKey) -> None:
    dense = tuple(range(0, MIN_LIST_BITS, 3))
    assert len(list_token(key, REVOCATION_URL, "revocation", dense)) < 64 * 1024


# --- checking status ----------------------------------------------------------------------------


def test_clear_bits(key: Ed25519PrivateKey, jwks: dict[str, Any]) -> None:
    tokens = {
        REVOCATION_URL: list_token(key, REVOCATION_URL, "revocation", (1, 4241, 4243)),
        SUSPENSION_URL: list_token(key, SUSPENSION_URL, "suspension"),
    }
    results = check_status(entries(), tokens, jwks, NOW, expected_issuer=ISSUER.id)
    assert results == [
        StatusResult(purpose="revocation", set=False, list_url=REVOCATION_URL, index=4242),
        StatusResult(purpose="suspension", set=False, list_url=SUSPENSION_URL, index=4242),
    ]


def test_revoked_and_suspended_bits(key: Ed25519PrivateKey, jwks: dict[str, Any]) -> None:
    tokens = {
        REVOCATION_URL: list_token(key, REVOCATION_URL, "revocation", (4242,)),
        SUSPENSION_URL: list_token(key, SUSPENSION_URL, "suspension", (4242,)),
    }
    assert [r.set for r in check_status(entries(), tokens, jwks, NOW)] == [True, True]


def test_single_entry_object_is_accepted(key: Ed25519PrivateKey, jwks: dict[str, Any]) -> None:
    tokens = {REVOCATION_URL: list_token(key, REVOCATION_URL, "revocation", (4242,))}
    [result] = check_status(entries()[0], tokens, jwks, NOW)
    assert result.set is True


def test_purpose_mismatch(key: Ed25519PrivateKey, jwks: dict[str, Any]) -> None:
    # The suspension list is served where the revocation list should be.
    tokens = {REVOCATION_URL: list_token(key, REVOCATION_URL, "suspension", (4242,))}
    [result] = check_status(entries()[:1], tokens, jwks, NOW)
    assert result.set is None
    assert result.reason == PURPOSE_MISMATCH


def test_list_for_another_url_is_a_mismatch(key: Ed25519PrivateKey, jwks: dict[str, Any]) -> None:
    tokens = {REVOCATION_URL: list_token(key, f"{BASE}/r2", "revocation")}
    [result] = check_status(entries()[:1], tokens, jwks, NOW)
    assert result.reason == STATUS_LIST_MISMATCH


def test_list_from_another_issuer_is_a_mismatch(
    key: Ed25519PrivateKey, jwks: dict[str, Any]
) -> None:
    other = Issuer(id="urn:workforce:org:other", name="别的机构")
    tokens = {REVOCATION_URL: list_token(key, REVOCATION_URL, "revocation", issuer=other)}
    [result] = check_status(entries()[:1], tokens, jwks, NOW, expected_issuer=ISSUER.id)
    assert result.reason == STATUS_LIST_MISMATCH


def test_list_signature_and_validity_are_checked(
    key: Ed25519PrivateKey, jwks: dict[str, Any]
) -> None:
    good = list_token(key, REVOCATION_URL, "revocation", valid_until=NOW + timedelta(days=1))
    forged = list_token(Ed25519PrivateKey.generate(), REVOCATION_URL, "revocation")
    cases = {
        forged: "status_list_bad_signature",
        good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB"): "status_list_bad_signature",
        "garbage": "status_list_malformed",
    }
    for token, reason in cases.items():
        [result] = check_status(entries()[:1], {REVOCATION_URL: token}, jwks, NOW)
        assert result.reason == reason
    [expired] = check_status(entries()[:1], {REVOCATION_URL: good}, jwks, NOW + timedelta(days=2))
    assert expired.reason == "status_list_expired"


def test_missing_list(jwks: dict[str, Any]) -> None:
    results = check_status(entries(), {}, jwks, NOW)
    assert [r.reason for r in results] == [STATUS_LIST_MISSING, STATUS_LIST_MISSING]


def test_certificate_is_not_a_status_list(key: Ed25519PrivateKey, jwks: dict[str, Any]) -> None:
    credential = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": REVOCATION_URL,
        "type": ["VerifiableCredential", "ChildcareWorkforceCertificate"],
        "issuer": ISSUER.id,
        "credentialSubject": {"statusPurpose": "revocation", "encodedList": "u"},
    }
    tokens = {REVOCATION_URL: sign_vc_jwt(credential, key, "k1")}
    [result] = check_status(entries()[:1], tokens, jwks, NOW)
    assert result.reason == NOT_A_STATUS_LIST


def test_hostile_encoded_list_in_a_signed_list(
    key: Ed25519PrivateKey, jwks: dict[str, Any]
) -> None:
    short = build_status_list_credential(
        REVOCATION_URL, "revocation", gzipped(bytes(10)), ISSUER, NOW
    )
    garbage = build_status_list_credential(REVOCATION_URL, "revocation", "u@@", ISSUER, NOW)
    for credential, reason in ((short, LIST_TOO_SHORT), (garbage, MALFORMED_LIST)):
        tokens = {REVOCATION_URL: sign_vc_jwt(credential, key, "k1")}
        [result] = check_status(entries()[:1], tokens, jwks, NOW)
        assert result.reason == reason


def test_index_beyond_the_list(key: Ed25519PrivateKey, jwks: dict[str, Any]) -> None:
    tokens = {REVOCATION_URL: list_token(key, REVOCATION_URL, "revocation")}
    [result] = check_status(entries(MIN_LIST_BITS)[:1], tokens, jwks, NOW)
    assert result.reason == INDEX_OUT_OF_RANGE


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"statusListIndex": 4242}, INVALID_ENTRY),
        ({"statusListIndex": "-1"}, INVALID_ENTRY),
        ({"statusListIndex": "0x10"}, INVALID_ENTRY),
        ({"statusListIndex": "9" * 400}, INVALID_ENTRY),
        ({"statusListIndex": "\uff14\uff12"}, INVALID_ENTRY),
        ({"type": "StatusList2021Entry"}, INVALID_ENTRY),
        ({"statusPurpose": None}, INVALID_ENTRY),
        ({"statusListCredential": ["x"]}, INVALID_ENTRY),
        ({"statusSize": 2}, UNSUPPORTED_STATUS_SIZE),
    ],
)
def test_invalid_entries(change: dict[str, Any], reason: str, jwks: dict[str, Any]) -> None:
    [result] = check_status([{**entries()[0], **change}], {}, jwks, NOW)
    assert result.set is None
    assert result.reason == reason


@pytest.mark.parametrize("status", [None, [], "revoked", 5, ["x", None], {"type": 1}])
def test_hostile_credential_status_never_raises(status: object, jwks: dict[str, Any]) -> None:
    results = check_status(status, {}, jwks, NOW)
    assert all(result.set is None for result in results)


def test_each_list_is_verified_once(
    key: Ed25519PrivateKey, jwks: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[object] = []

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[0])
        return verify_vc_jwt(*args, **kwargs)

    monkeypatch.setattr(status_list, "verify_vc_jwt", counting)
    tokens = {REVOCATION_URL: list_token(key, REVOCATION_URL, "revocation", (1,))}
    entry = entries()[0]
    results = check_status([entry, {**entry, "statusListIndex": "1"}], tokens, jwks, NOW)
    assert [r.set for r in results] == [False, True]
    assert len(calls) == 1


def test_index_status_lists(key: Ed25519PrivateKey) -> None:
    revocation = list_token(key, REVOCATION_URL, "revocation")
    suspension = list_token(key, SUSPENSION_URL, "suspension")
    indexed = index_status_lists([revocation + "\n", suspension, "garbage", None, "a.b.c"])
    assert indexed == {REVOCATION_URL: revocation, SUSPENSION_URL: suspension}
