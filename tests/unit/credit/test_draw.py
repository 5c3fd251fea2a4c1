"""The published draw algorithm ``workforce/draw/v1``: exact encoding, determinism, fairness."""

from __future__ import annotations

import collections
import hashlib
import struct
import uuid
from collections.abc import Callable

import pytest

from workforce.credit import draw

EMPTY_ROOT = hashlib.sha256(b"").digest()
REGULATOR = uuid.UUID("00000000-0000-7000-8000-000000000001")
CANDIDATES = [f"00000000-0000-7000-8000-{i:012d}" for i in range(10)]
INSPECTORS = ["I-01", "I-02", "I-03", "I-04"]


def reference_seed(root: bytes, size: int, period: str, regulator: uuid.UUID) -> bytes:
    """The seed exactly as the README (随机抽查) describes it, written independently."""
    p = period.encode()
    return hashlib.sha256(
        b"workforce/draw/v1\x00"
        + root
        + struct.pack(">Q", size)
        + struct.pack(">H", len(p))
        + p
        + regulator.bytes
    ).digest()


def reference_sample(seed: bytes, label: str, items: list[str], k: int) -> list[str]:
    """Forward partial Fisher-Yates on the SHA-256 counter stream, written independently."""
    stream = bytearray()
    counter = 0
    position = 0

    def next_u64() -> int:
        nonlocal counter, position
        while len(stream) < position + 8:
            stream.extend(
                hashlib.sha256(
                    seed + bytes([len(label)]) + label.encode() + struct.pack(">Q", counter)
                ).digest()
            )
            counter += 1
        value = int.from_bytes(stream[position : position + 8], "big")
        position += 8
        return value

    def below(n: int) -> int:
        limit = 2**64 - (2**64 % n)
        while True:
            x = next_u64()
            if x < limit:
                return x % n

    pool = sorted(items)
    for i in range(k):
        j = i + below(len(pool) - i)
        pool[i], pool[j] = pool[j], pool[i]
    return pool[:k]


def test_seed_encoding() -> None:
    seed = draw.derive_seed(EMPTY_ROOT, 0, "2026-Q3", REGULATOR)
    assert seed == reference_seed(EMPTY_ROOT, 0, "2026-Q3", REGULATOR)
    assert seed.hex() == "179d56109ead33a14370199399bde3aac13d18bbb14d4432186acdb0bfbc7ee2"
    # Every input changes the seed.
    assert draw.derive_seed(EMPTY_ROOT, 1, "2026-Q3", REGULATOR) != seed
    assert draw.derive_seed(b"\x01" * 32, 0, "2026-Q3", REGULATOR) != seed
    assert draw.derive_seed(EMPTY_ROOT, 0, "2026-Q4", REGULATOR) != seed
    assert draw.derive_seed(EMPTY_ROOT, 0, "2026-Q3", uuid.uuid4()) != seed


def test_known_answer() -> None:
    seed = bytes.fromhex("179d56109ead33a14370199399bde3aac13d18bbb14d4432186acdb0bfbc7ee2")
    result = draw.run_draw(seed, CANDIDATES, 3, INSPECTORS, 2)
    assert result.algorithm == "workforce/draw/v1"
    assert result.seed == seed.hex()
    assert [(s.institution_id[-2:], s.inspectors) for s in result.selected] == [
        ("06", ["I-03", "I-01"]),
        ("02", ["I-04", "I-02"]),
        ("08", ["I-01", "I-02"]),
    ]


@pytest.mark.parametrize("k", [0, 1, 3, 10])
def test_matches_the_independent_reference(k: int) -> None:
    for n in range(20):
        seed = hashlib.sha256(f"seed {n}".encode()).digest()
        assert draw.sample(seed, "institutions", CANDIDATES, k) == reference_sample(
            seed, "institutions", CANDIDATES, k
        )
        result = draw.run_draw(seed, CANDIDATES, k, INSPECTORS, 2)
        assert [s.institution_id for s in result.selected] == reference_sample(
            seed, "institutions", CANDIDATES, k
        )
        for index, selected in enumerate(result.selected):
            assert selected.inspectors == reference_sample(
                seed, f"inspectors/{index}", INSPECTORS, 2
            )


def test_input_order_does_not_matter() -> None:
    seed = draw.derive_seed(EMPTY_ROOT, 0, "2026", REGULATOR)
    assert draw.run_draw(seed, CANDIDATES, 4, INSPECTORS, 3) == draw.run_draw(
        seed, list(reversed(CANDIDATES)), 4, list(reversed(INSPECTORS)), 3
    )


def test_sample_is_a_permutation_without_repeats() -> None:
    seed = hashlib.sha256(b"x").digest()
    everyone = draw.sample(seed, "institutions", CANDIDATES, len(CANDIDATES))
    assert sorted(everyone) == sorted(CANDIDATES)
    for selected in draw.run_draw(seed, CANDIDATES, 5, INSPECTORS, 4).selected:
        assert sorted(selected.inspectors) == INSPECTORS


def test_roughly_uniform() -> None:
    counts: collections.Counter[str] = collections.Counter()
    trials = 3000
    for n in range(trials):
        seed = hashlib.sha256(n.to_bytes(4, "big")).digest()
        counts.update(draw.sample(seed, "institutions", CANDIDATES, 1))
    expected = trials / len(CANDIDATES)
    assert all(abs(count - expected) < expected * 0.25 for count in counts.values())
    assert len(counts) == len(CANDIDATES)


def test_rejection_sampling_skips_biased_values() -> None:
    limit = 2**64 - (2**64 % 3)
    stream = iter([limit, limit + 1, 7])
    assert draw.uniform_below(stream, 3) == 7 % 3


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: draw.derive_seed(b"short", 0, "2026", REGULATOR), "32 bytes"),
        (lambda: draw.derive_seed(EMPTY_ROOT, -1, "2026", REGULATOR), "64-bit"),
        (lambda: draw.derive_seed(EMPTY_ROOT, 0, "", REGULATOR), "period"),
        (lambda: draw.sample(b"x" * 32, "l", ["a", "a"], 1), "duplicates"),
        (lambda: draw.sample(b"x" * 32, "l", ["a", "b"], 3), "cannot draw 3 of 2"),
        (lambda: draw.sample(b"x", "l", ["a"], 1), "seed"),
        (lambda: draw.uniform_below(iter([1]), 0), "range"),
    ],
)
def test_errors(call: Callable[[], object], message: str) -> None:
    with pytest.raises(draw.DrawError, match=message):
        call()
