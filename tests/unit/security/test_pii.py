"""Keyed subject index (HMAC-SHA256) and AES-256-GCM encryption of ID numbers."""

from __future__ import annotations

import hashlib
import hmac
import pickle
from typing import Any

import pytest

from workforce.security.pii import PiiError, PiiVault, commitment_salt

NUMBER = "11010519491231002X"
INDEX_KEY = bytes(range(32))
ENC_KEY = bytes(range(32, 64))
AAD = b"practitioner:42"


@pytest.fixture
def vault() -> PiiVault:
    return PiiVault(INDEX_KEY, ENC_KEY)


def test_subject_key_is_the_specified_hmac(vault: PiiVault) -> None:
    expected = hmac.new(INDEX_KEY, b"workforce/id/v1" + NUMBER.encode(), hashlib.sha256).digest()
    assert vault.subject_key(NUMBER) == expected
    assert len(expected) == 32


def test_subject_key_is_stable_and_normalizes(vault: PiiVault) -> None:
    assert vault.subject_key(NUMBER) == vault.subject_key("110105 19491231 002x")
    assert vault.subject_key(NUMBER) == PiiVault(INDEX_KEY, ENC_KEY).subject_key(NUMBER)
    assert vault.subject_key(NUMBER) != vault.subject_key("320102199001011232")


def test_subject_key_depends_on_the_index_key_only(vault: PiiVault) -> None:
    other_index = PiiVault(bytes(range(1, 33)), ENC_KEY)
    other_enc = PiiVault(INDEX_KEY, bytes(range(64, 96)))
    assert other_index.subject_key(NUMBER) != vault.subject_key(NUMBER)
    assert other_enc.subject_key(NUMBER) == vault.subject_key(NUMBER)


def test_round_trip(vault: PiiVault) -> None:
    blob = vault.encrypt(NUMBER, AAD)
    assert vault.decrypt(blob, AAD) == NUMBER
    assert vault.decrypt(vault.encrypt("11010519491231002x", AAD), AAD) == NUMBER
    assert blob[0] == 1
    assert len(blob) == 1 + 12 + 18 + 16
    assert PiiVault(INDEX_KEY, ENC_KEY).decrypt(blob, AAD) == NUMBER


def test_nonces_are_fresh(vault: PiiVault) -> None:
    first, second = vault.encrypt(NUMBER, AAD), vault.encrypt(NUMBER, AAD)
    assert first != second
    assert first[1:13] != second[1:13]


def test_ciphertext_never_contains_the_number(vault: PiiVault) -> None:
    for _ in range(100):
        blob = vault.encrypt(NUMBER, AAD)
        for fragment in (NUMBER, NUMBER[:6], NUMBER[6:14], NUMBER[-4:]):
            assert fragment.encode() not in blob
            assert fragment.encode("utf-16-le") not in blob


def test_wrong_aad_fails(vault: PiiVault) -> None:
    blob = vault.encrypt(NUMBER, AAD)
    with pytest.raises(PiiError, match="failed authentication"):
        vault.decrypt(blob, b"practitioner:43")
    with pytest.raises(PiiError):
        vault.decrypt(blob, b"")


def test_every_flipped_bit_fails(vault: PiiVault) -> None:
    blob = vault.encrypt(NUMBER, AAD)
    for index in range(len(blob)):
        for bit in (0x01, 0x80):
            tampered = bytearray(blob)
            tampered[index] ^= bit
            with pytest.raises(PiiError):
                vault.decrypt(bytes(tampered), AAD)


def test_truncated_blob_fails(vault: PiiVault) -> None:
    blob = vault.encrypt(NUMBER, AAD)
    for size in (0, 1, 13, 28, len(blob) - 1):
        with pytest.raises(PiiError):
            vault.decrypt(blob[:size], AAD)


def test_wrong_key_fails(vault: PiiVault) -> None:
    blob = vault.encrypt(NUMBER, AAD)
    with pytest.raises(PiiError):
        PiiVault(INDEX_KEY, bytes(range(64, 96))).decrypt(blob, AAD)


def test_key_rotation() -> None:
    old = PiiVault(INDEX_KEY, ENC_KEY)
    old_blob = old.encrypt(NUMBER, AAD)
    new_key = bytes(range(100, 140))  # longer than 32 bytes is fine: the AES key is derived
    rotated = PiiVault(INDEX_KEY, new_key, key_version=2, retired_enc_keys={1: ENC_KEY})
    assert rotated.key_version == 2
    assert rotated.decrypt(old_blob, AAD) == NUMBER
    assert rotated.needs_reencryption(old_blob)
    new_blob = rotated.reencrypt(old_blob, AAD)
    assert new_blob[0] == 2
    assert not rotated.needs_reencryption(new_blob)
    assert rotated.decrypt(new_blob, AAD) == NUMBER
    with pytest.raises(PiiError, match="unknown key version 2"):
        old.decrypt(new_blob, AAD)
    # The version byte is authenticated: relabelling a blob does not decrypt it.
    both = PiiVault(INDEX_KEY, ENC_KEY, key_version=2, retired_enc_keys={1: ENC_KEY})
    relabelled = bytes([2]) + old_blob[1:]
    with pytest.raises(PiiError):
        both.decrypt(relabelled, AAD)


@pytest.mark.parametrize(
    ("index_key", "enc_key", "kwargs"),
    [
        (bytes(31), ENC_KEY, {}),
        (INDEX_KEY, bytes(31), {}),
        (INDEX_KEY, INDEX_KEY, {}),
        (INDEX_KEY, ENC_KEY, {"key_version": 0}),
        (INDEX_KEY, ENC_KEY, {"key_version": 256}),
        (INDEX_KEY, ENC_KEY, {"key_version": 2, "retired_enc_keys": {2: bytes(range(64, 96))}}),
        (INDEX_KEY, ENC_KEY, {"key_version": 2, "retired_enc_keys": {1: bytes(16)}}),
    ],
)
def test_unusable_keys_are_refused(
    index_key: bytes, enc_key: bytes, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(PiiError):
        PiiVault(index_key, enc_key, **kwargs)


def test_keys_do_not_leak(vault: PiiVault) -> None:
    assert repr(vault) == "PiiVault(key_version=1, known_versions=[1])"
    with pytest.raises(TypeError):
        pickle.dumps(vault)


def test_commitment_salt() -> None:
    salts = {commitment_salt() for _ in range(100)}
    assert len(salts) == 100
    assert all(len(salt) == 32 for salt in salts)
    assert len(PiiVault.commitment_salt()) == 32
