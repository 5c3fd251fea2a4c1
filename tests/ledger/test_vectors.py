"""The public RFC 6962 / RFC 9162 proof vectors (transparency-dev/merkle ``testdata/``)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from workforce.ledger.errors import ProofError
from workforce.ledger.merkle import leaf_hash, mth, verify_consistency, verify_inclusion

VECTORS = Path(__file__).parent / "vectors" / "rfc6962"

# The one vector we deliberately reject: it expects success for equal sizes with 12-byte
# "roots". Our design requires every hash to be exactly 32 bytes, on every path.
REJECTED_FOR_HASH_LENGTH = {"additional/sizes-are-equal-one-and-proof-is-empty.json"}

# The base tree of the vectors (README): 8 leaves, hex.
BASE_LEAVES = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]


def _load(kind: str) -> list[tuple[str, dict[str, Any]]]:
    root = VECTORS / kind
    return [
        (path.relative_to(root).as_posix(), json.loads(path.read_text()))
        for path in sorted(root.rglob("*.json"))
    ]


INCLUSION = _load("inclusion")
CONSISTENCY = _load("consistency")


def _b(value: str) -> bytes:
    return base64.b64decode(value)


def _proof(case: dict[str, Any]) -> list[bytes]:
    return [_b(item) for item in case["proof"] or []]


def _inclusion(case: dict[str, Any]) -> tuple[bytes, int, int, list[bytes], bytes]:
    return (_b(case["leafHash"]), case["leafIdx"], case["treeSize"], _proof(case), _b(case["root"]))


def _consistency(case: dict[str, Any]) -> tuple[int, int, bytes, bytes, list[bytes]]:
    return (case["size1"], case["size2"], _b(case["root1"]), _b(case["root2"]), _proof(case))


def _flipped(value: bytes, bit: int) -> bytes:
    out = bytearray(value)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def test_vectors_are_present() -> None:
    assert len(INCLUSION) == 98
    assert len(CONSISTENCY) == 98
    assert (VECTORS / "LICENSE").is_file()
    assert (VECTORS / "README.md").is_file()


@pytest.mark.parametrize("case", [c for _, c in INCLUSION], ids=[n for n, _ in INCLUSION])
def test_inclusion_vector(case: dict[str, Any]) -> None:
    if case["wantErr"]:
        with pytest.raises(ProofError):
            verify_inclusion(*_inclusion(case))
    else:
        verify_inclusion(*_inclusion(case))


@pytest.mark.parametrize(("name", "case"), CONSISTENCY, ids=[name for name, _ in CONSISTENCY])
def test_consistency_vector(name: str, case: dict[str, Any]) -> None:
    if name in REJECTED_FOR_HASH_LENGTH:
        assert not case["wantErr"]
        with pytest.raises(ProofError, match="must be 32 bytes, got 12"):
            verify_consistency(*_consistency(case))
    elif case["wantErr"]:
        with pytest.raises(ProofError):
            verify_consistency(*_consistency(case))
    else:
        verify_consistency(*_consistency(case))


HAPPY_INCLUSION = [(n, c) for n, c in INCLUSION if not c["wantErr"]]
HAPPY_CONSISTENCY = [
    (n, c) for n, c in CONSISTENCY if not c["wantErr"] and n not in REJECTED_FOR_HASH_LENGTH
]


@pytest.mark.parametrize(
    "case", [c for _, c in HAPPY_INCLUSION], ids=[n for n, _ in HAPPY_INCLUSION]
)
def test_inclusion_vector_fails_with_any_flipped_bit(case: dict[str, Any]) -> None:
    leaf, index, size, proof, root = _inclusion(case)
    for bit in range(256):
        with pytest.raises(ProofError):
            verify_inclusion(_flipped(leaf, bit), index, size, proof, root)
        with pytest.raises(ProofError):
            verify_inclusion(leaf, index, size, proof, _flipped(root, bit))
        for position, element in enumerate(proof):
            bad = [*proof[:position], _flipped(element, bit), *proof[position + 1 :]]
            with pytest.raises(ProofError):
                verify_inclusion(leaf, index, size, bad, root)


@pytest.mark.parametrize(
    "case", [c for _, c in HAPPY_CONSISTENCY], ids=[n for n, _ in HAPPY_CONSISTENCY]
)
def test_consistency_vector_fails_with_any_flipped_bit(case: dict[str, Any]) -> None:
    first, second, first_root, second_root, proof = _consistency(case)
    for bit in range(256):
        with pytest.raises(ProofError):
            verify_consistency(first, second, _flipped(first_root, bit), second_root, proof)
        with pytest.raises(ProofError):
            verify_consistency(first, second, first_root, _flipped(second_root, bit), proof)
        for position, element in enumerate(proof):
            bad = [*proof[:position], _flipped(element, bit), *proof[position + 1 :]]
            with pytest.raises(ProofError):
                verify_consistency(first, second, first_root, second_root, bad)


def test_vector_roots_match_the_base_tree() -> None:
    leaves = [leaf_hash(bytes.fromhex(data)) for data in BASE_LEAVES]
    roots = {size: mth(leaves[:size]) for size in range(1, 9)}
    for name, case in HAPPY_INCLUSION:
        if not name.startswith("single-entry/"):  # a tree of its own
            assert _b(case["root"]) == roots[case["treeSize"]]
            assert _b(case["leafHash"]) == leaves[case["leafIdx"]]
    for _, case in HAPPY_CONSISTENCY:
        assert _b(case["root1"]) == roots[case["size1"]]
        assert _b(case["root2"]) == roots[case["size2"]]
