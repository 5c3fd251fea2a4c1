"""Merkle trees: known answers, fast proofs against the reference recursion, big trees."""

from __future__ import annotations

import bisect
import hashlib
import signal
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workforce.ledger import merkle
from workforce.ledger.errors import ProofError
from workforce.ledger.merkle import (
    HashPlan,
    StreamingRoot,
    append_keys,
    consistency_plan,
    consistency_proof,
    consistency_proof_fast,
    empty_root,
    inclusion_path,
    inclusion_plan,
    inclusion_proof,
    leaf_hash,
    mth,
    node_hash,
    root_at,
    root_from_leaf_hashes,
    root_plan,
    subtrees_completed_by_append,
    verify_consistency,
    verify_inclusion,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

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
BASE_ROOT_PREFIXES = [
    "6e340b9c",
    "fac54203",
    "aeb6bcfe",
    "d37ee418",
    "4e3bbb1f",
    "76e67dad",
    "ddb89be4",
    "5dc9da79",
]

LEAVES: list[bytes] = [leaf_hash(i.to_bytes(2, "big")) for i in range(256)]


def _table(leaves: list[bytes]) -> dict[tuple[int, int], bytes]:
    """Every perfect subtree of ``leaves``, computed directly from the definition."""
    table: dict[tuple[int, int], bytes] = {}
    level = 0
    while 1 << level <= len(leaves):
        width = 1 << level
        for index in range(len(leaves) // width):
            table[level, index] = mth(leaves[index * width : (index + 1) * width])
        level += 1
    return table


TABLE = _table(LEAVES)
TABLE_ROOTS = [mth(LEAVES[:size]) for size in range(257)]


def _get(level: int, index: int) -> bytes:
    return TABLE[level, index]


def _flip(value: bytes, bit: int) -> bytes:
    out = bytearray(value)
    out[bit // 8 % len(out)] ^= 1 << (bit % 8)
    return bytes(out)


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Fail instead of hanging when a verifier loops forever."""

    def _expire(*_: object) -> None:
        raise TimeoutError

    previous = signal.signal(signal.SIGALRM, _expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --- known answers -------------------------------------------------------------------------


def test_hash_known_answers() -> None:
    assert leaf_hash(b"").hex() == (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )
    assert empty_root().hex() == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )
    assert bytes(empty_root()) != bytes(leaf_hash(b""))
    assert node_hash(b"l", b"r") == hashlib.sha256(b"\x01lr").digest()
    assert merkle.LEAF_PREFIX == b"\x00"
    assert merkle.NODE_PREFIX == b"\x01"


def test_base_tree_roots() -> None:
    leaves = [leaf_hash(bytes.fromhex(data)) for data in BASE_LEAVES]
    stream = StreamingRoot()
    for size, prefix in enumerate(BASE_ROOT_PREFIXES, start=1):
        stream.push(leaves[size - 1])
        assert mth(leaves[:size]).hex().startswith(prefix)
        assert stream.root() == mth(leaves[:size])
        assert stream.size == size
    assert mth([]) == root_from_leaf_hashes([]) == empty_root()


SEVEN: dict[str, bytes] = dict(zip("abcdef", LEAVES[:6], strict=True))
SEVEN["j"] = LEAVES[6]
SEVEN["g"] = node_hash(SEVEN["a"], SEVEN["b"])
SEVEN["h"] = node_hash(SEVEN["c"], SEVEN["d"])
SEVEN["i"] = node_hash(SEVEN["e"], SEVEN["f"])
SEVEN["k"] = node_hash(SEVEN["g"], SEVEN["h"])
SEVEN["l"] = node_hash(SEVEN["i"], SEVEN["j"])
SYMBOL = {value: name for name, value in SEVEN.items()}


def _names(proof: list[bytes]) -> str:
    return "".join(SYMBOL[element] for element in proof)


@pytest.mark.parametrize(("index", "expected"), [(0, "bhl"), (3, "cgl"), (4, "fjk"), (6, "ik")])
def test_seven_leaf_audit_paths(index: int, expected: str) -> None:
    """RFC 6962 §2.1.3: the audit paths of d0, d3, d4 and d6."""
    assert _names(inclusion_path(index, LEAVES[:7])) == expected
    assert _names(inclusion_proof(index, 7, _get)) == expected
    verify_inclusion(LEAVES[index], index, 7, inclusion_proof(index, 7, _get), mth(LEAVES[:7]))


@pytest.mark.parametrize(("first", "expected"), [(3, "cdgl"), (4, "l"), (6, "ijk")])
def test_seven_leaf_consistency_proofs(first: int, expected: str) -> None:
    """RFC 6962 §2.1.3: PROOF(3, D[7]), PROOF(4, D[7]) and PROOF(6, D[7])."""
    assert _names(consistency_proof(first, LEAVES[:7])) == expected
    assert _names(consistency_proof_fast(first, 7, _get)) == expected
    proof = consistency_proof_fast(first, 7, _get)
    verify_consistency(first, 7, mth(LEAVES[:first]), mth(LEAVES[:7]), proof)


# --- exhaustive agreement with the reference recursion --------------------------------------


@pytest.mark.parametrize("size", range(1, 257))
def test_every_inclusion_proof_up_to_256(size: int) -> None:
    root = root_at(size, _get)
    assert root == mth(LEAVES[:size])
    for index in range(size):
        proof = inclusion_proof(index, size, _get)
        assert proof == inclusion_path(index, LEAVES[:size]), index
        verify_inclusion(LEAVES[index], index, size, proof, root)
        if proof:  # one element per proof here; every element up to 64 below
            bad = list(proof)
            position = (index + size) % len(proof)
            bad[position] = _flip(proof[position], index * 31 + size)
            with pytest.raises(ProofError):
                verify_inclusion(LEAVES[index], index, size, bad, root)
        with pytest.raises(ProofError):
            verify_inclusion(LEAVES[index], index, size, proof, _flip(root, index))
        with pytest.raises(ProofError):
            verify_inclusion(_flip(LEAVES[index], size), index, size, proof, root)
        if size < 256:
            with pytest.raises(ProofError):
                verify_inclusion(LEAVES[index], index, size + 1, proof, TABLE_ROOTS[size + 1])
        if index + 1 < size:
            with pytest.raises(ProofError):
                verify_inclusion(LEAVES[index], index + 1, size, proof, root)


@pytest.mark.parametrize("size", range(1, 65))
def test_inclusion_fails_with_any_flipped_byte_up_to_64(size: int) -> None:
    """House rule: for every (index, size) <= 64, any flipped byte fails the proof."""
    root = root_at(size, _get)
    for index in range(size):
        proof = inclusion_proof(index, size, _get)
        for position in range(len(proof)):
            for byte in range(32):
                bad = list(proof)
                bad[position] = _flip(proof[position], byte * 8 + (index + size) % 8)
                with pytest.raises(ProofError):
                    verify_inclusion(LEAVES[index], index, size, bad, root)


@pytest.mark.parametrize("second", range(1, 129))
def test_every_consistency_proof_up_to_128(second: int) -> None:
    roots = TABLE_ROOTS
    for first in range(1, second + 1):
        proof = consistency_proof_fast(first, second, _get)
        assert proof == consistency_proof(first, LEAVES[:second]), first
        verify_consistency(first, second, roots[first], roots[second], proof)
        for position in range(len(proof)):
            bad = list(proof)
            bad[position] = _flip(proof[position], first * 17 + second + position)
            with pytest.raises(ProofError):
                verify_consistency(first, second, roots[first], roots[second], bad)
        with pytest.raises(ProofError):
            verify_consistency(first, second, _flip(roots[first], 1), roots[second], proof)
        with pytest.raises(ProofError):
            verify_consistency(first, second, roots[first], _flip(roots[second], 2), proof)
        if first < second:
            with pytest.raises(ProofError):
                verify_consistency(first, second, roots[first], roots[second], proof[:-1])
            with pytest.raises(ProofError):
                verify_consistency(
                    first, second, roots[first], roots[second], [*proof, roots[first]]
                )


# --- the subtree store API -----------------------------------------------------------------


def test_appends_complete_exactly_the_perfect_subtrees() -> None:
    stored: dict[tuple[int, int], bytes] = {}
    for index, leaf in enumerate(LEAVES):
        assert all(key in stored for key in append_keys(index))
        for level, position, value in subtrees_completed_by_append(
            index, leaf, lambda level, position: stored[level, position]
        ):
            assert (level, position) not in stored
            stored[level, position] = value
    assert stored == TABLE
    assert len(stored) == 2 * len(LEAVES) - 1


def test_plans_list_each_key_once_and_assemble_from_a_dict() -> None:
    for size in range(1, 130):
        for index in range(size):
            plan = inclusion_plan(index, size)
            assert len(plan.keys) == len(set(plan.keys))
            assert len(plan.keys) <= 2 * size.bit_length()
            fetched = {key: TABLE[key] for key in plan.keys}
            assert plan.assemble(fetched) == inclusion_path(index, LEAVES[:size])
        plan = root_plan(size)
        assert len(plan.keys) == size.bit_count()
        assert plan.assemble(TABLE) == [mth(LEAVES[:size])]


def test_proof_at_a_million_entries_has_at_most_twenty_hashes() -> None:
    size = 10**6
    longest = max(len(inclusion_plan(index, size).parts) for index in range(0, size, 997))
    assert longest <= 20
    assert len(inclusion_plan(size - 1, size).parts) <= 20


def test_assemble_rejects_missing_or_short_hashes() -> None:
    plan = inclusion_plan(2, 5)
    with pytest.raises(ProofError, match="missing"):
        plan.assemble({})
    short = dict.fromkeys(plan.keys, b"\x00" * 31)
    with pytest.raises(ProofError, match="32 bytes"):
        plan.assemble(short)


def test_empty_tree_root() -> None:
    assert root_plan(0) == HashPlan(((),))
    assert root_at(0, _get) == empty_root()


def test_streaming_root_resumes_from_peaks() -> None:
    for size in range(70):
        peaks = root_plan(size).parts[0]
        stream = StreamingRoot.resume(size, [TABLE[key] for key in peaks])
        for leaf in LEAVES[size:100]:
            stream.push(leaf)
        assert stream.root() == mth(LEAVES[:100])
    with pytest.raises(ProofError, match="peaks"):
        StreamingRoot.resume(3, [LEAVES[0]])


def test_streaming_root_rejects_short_leaf_hashes() -> None:
    with pytest.raises(ProofError, match="32 bytes"):
        StreamingRoot().push(b"\x00" * 31)


@pytest.mark.parametrize(
    "call",
    [
        lambda: inclusion_plan(3, 3),
        lambda: inclusion_plan(-1, 3),
        lambda: inclusion_path(0, []),
        lambda: consistency_plan(0, 3),
        lambda: consistency_plan(4, 3),
        lambda: consistency_proof(0, LEAVES[:3]),
        lambda: root_plan(-1),
        lambda: append_keys(-1),
    ],
)
def test_generation_rejects_impossible_arguments(call: Callable[[], object]) -> None:
    with pytest.raises(ProofError):
        call()


# --- verifier edge cases and the bug classes of public verifiers ----------------------------


def test_verifiers_require_32_byte_hashes() -> None:
    root = mth(LEAVES[:2])
    with pytest.raises(ProofError, match="leaf hash must be 32 bytes"):
        verify_inclusion(LEAVES[0][:31], 0, 2, [LEAVES[1]], root)
    with pytest.raises(ProofError, match="root hash must be 32 bytes"):
        verify_inclusion(LEAVES[0], 0, 2, [LEAVES[1]], root + b"\x00")
    with pytest.raises(ProofError, match="proof hash 0 must be 32 bytes"):
        verify_inclusion(LEAVES[0], 0, 2, [LEAVES[1][:16]], root)
    with pytest.raises(ProofError, match="proof hash 0 must be 32 bytes"):
        verify_consistency(1, 2, LEAVES[0], root, [b""])


def test_shift_loop_at_the_right_edge() -> None:
    """A verifier missing the shift loop rejects every right-edge leaf at an even index.

    For leaf 4 of 5 (``fn == sn == 4``), and for the last leaf of every size whose last
    index is even, the loop must shift past the missing right siblings.
    """
    for size in range(3, 257, 2):
        index = size - 1
        proof = inclusion_proof(index, size, _get)
        verify_inclusion(LEAVES[index], index, size, proof, mth(LEAVES[:size]))
    for first in range(2, 128, 2):
        proof = consistency_proof_fast(first, first + 1, _get)
        verify_consistency(first, first + 1, mth(LEAVES[:first]), mth(LEAVES[: first + 1]), proof)


def test_over_long_proofs_terminate_once_fn_is_zero() -> None:
    """Extra hashes after ``sn`` reaches 0 must fail, not loop forever on ``fn == 0``."""
    with _deadline(5):
        for size in (1, 2, 4, 8, 64):
            proof = inclusion_proof(0, size, _get)
            for extra in range(1, 4):
                with pytest.raises(ProofError, match="more than"):
                    verify_inclusion(
                        LEAVES[0], 0, size, proof + [LEAVES[0]] * extra, mth(LEAVES[:size])
                    )
        for first in (1, 2, 4, 8, 32):
            proof = consistency_proof_fast(first, 64, _get)
            with pytest.raises(ProofError, match="more than"):
                verify_consistency(
                    first, 64, mth(LEAVES[:first]), mth(LEAVES[:64]), [*proof, LEAVES[0]]
                )


def test_power_of_two_first_size_needs_the_prepended_first_root() -> None:
    """When the first size is a power of two the proof omits the first root (RFC 9162)."""
    for first in (1, 2, 4, 8, 16, 32, 64):
        for second in range(first + 1, 129):
            proof = consistency_proof_fast(first, second, _get)
            assert mth(LEAVES[:first]) not in proof
            verify_consistency(first, second, mth(LEAVES[:first]), mth(LEAVES[:second]), proof)


def test_equal_sizes() -> None:
    root = mth(LEAVES[:5])
    verify_consistency(5, 5, root, root, [])
    with pytest.raises(ProofError, match="must be empty"):
        verify_consistency(5, 5, root, root, [root])
    with pytest.raises(ProofError, match="different roots"):
        verify_consistency(5, 5, root, mth(LEAVES[:4]), [])
    with pytest.raises(ProofError, match="above 0"):
        verify_consistency(0, 0, empty_root(), empty_root(), [])


# --- trees past 2**32 and 2**64 ------------------------------------------------------------


class SparseTree:
    """A real tree of any size whose leaves are all ``LEAF(b"filler")`` except a chosen few.

    Uniform subtrees have one hash per level, so any subtree costs O(level * specials) and
    trees of 2**70 leaves are cheap, yet every hash is the true RFC 6962 value.
    """

    def __init__(self, special: set[int]) -> None:
        self.special = sorted(special)
        self.filler: list[bytes] = [leaf_hash(b"filler")]
        for _ in range(130):
            self.filler.append(node_hash(self.filler[-1], self.filler[-1]))
        self.subtree = cache(self._subtree)

    def leaf(self, index: int) -> bytes:
        if index in self.special:
            return leaf_hash(index.to_bytes(16, "big"))
        return self.filler[0]

    def _subtree(self, level: int, index: int) -> bytes:
        begin = index << level
        position = bisect.bisect_left(self.special, begin)
        if position == len(self.special) or self.special[position] >= begin + (1 << level):
            return self.filler[level]
        if level == 0:
            return self.leaf(index)
        return node_hash(self.subtree(level - 1, 2 * index), self.subtree(level - 1, 2 * index + 1))

    def root(self, begin: int, end: int) -> bytes:
        """``MTH(D[begin:end])`` by the recursive definition (independent of the plans)."""
        size = end - begin
        if size & (size - 1) == 0 and begin % size == 0:
            level = size.bit_length() - 1
            return self.subtree(level, begin >> level)
        split = 1 << ((size - 1).bit_length() - 1)
        return node_hash(self.root(begin, begin + split), self.root(begin + split, end))


BIG_CASES = [
    (2**32 - 1, 2**32),
    (2**32, 2**32 + 1),
    (2**32 + 5, 2**33),
    (0, 2**32 + 1),
    (2**63, 2**64 + 1),
    (2**64, 2**64 + 1),
    (12345, 2**70 + 3),
]


@pytest.mark.parametrize(("index", "size"), BIG_CASES)
def test_big_inclusion_proofs(index: int, size: int) -> None:
    tree = SparseTree({index, index ^ 1, size - 1, 0, 2**31})
    root = tree.root(0, size)
    assert root_at(size, tree.subtree) == root
    proof = inclusion_proof(index, size, tree.subtree)
    assert len(proof) <= size.bit_length()
    verify_inclusion(tree.leaf(index), index, size, proof, root)
    truncated = index % 2**32
    if truncated != index:
        with pytest.raises(ProofError):
            verify_inclusion(tree.leaf(index), truncated, size, proof, root)
    with pytest.raises(ProofError):
        verify_inclusion(tree.leaf(index), index, size % 2**32 or 1, proof, root)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), size=st.integers(min_value=1, max_value=2**72))
def test_big_proofs_verify(data: st.DataObject, size: int) -> None:
    index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")
    first = data.draw(st.integers(min_value=1, max_value=size), label="first")
    others = data.draw(st.sets(st.integers(min_value=0, max_value=size - 1), max_size=4))
    tree = SparseTree({index, first - 1, *others})
    root = tree.root(0, size)
    assert root_at(size, tree.subtree) == root

    proof = inclusion_proof(index, size, tree.subtree)
    verify_inclusion(tree.leaf(index), index, size, proof, root)
    if proof:
        bad = [_flip(proof[0], index), *proof[1:]]
        with pytest.raises(ProofError):
            verify_inclusion(tree.leaf(index), index, size, bad, root)

    first_root = tree.root(0, first)
    consistency = consistency_proof_fast(first, size, tree.subtree)
    assert len(consistency) <= 2 * size.bit_length()
    verify_consistency(first, size, first_root, root, consistency)
    if consistency:
        bad = [*consistency[:-1], _flip(consistency[-1], first)]
        with pytest.raises(ProofError):
            verify_consistency(first, size, first_root, root, bad)
