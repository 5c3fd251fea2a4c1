"""Random inspection draws (双随机、一公开) that anyone can re-run: ``workforce/draw/v1``.

A draw picks institutions to inspect and inspectors to send, at random, from a seed nobody
chooses: it is derived from a signed checkpoint of the ban ledger (which the regulator cannot
rewrite) and is published together with everything else needed to repeat the draw.

**Seed.** ::

    seed = SHA-256( b"workforce/draw/v1" || 0x00
                    || root_hash                        (32 bytes, the checkpoint's root)
                    || tree_size                        (8 bytes, unsigned big-endian)
                    || len(period) || period            (2 bytes big-endian, then UTF-8)
                    || regulator_id                     (16 bytes, the UUID's bytes) )

**Random stream.** For a label ``L`` (ASCII), block ``i`` is
``SHA-256(seed || len(L) (1 byte) || L || i (8 bytes big-endian))`` for ``i = 0, 1, …``; the
blocks are concatenated and read 8 bytes at a time as unsigned big-endian 64-bit integers.
A uniform integer below ``n`` is the first such integer ``x`` with
``x < 2^64 - (2^64 mod n)``, taken modulo ``n`` (rejection sampling: no modulo bias).

**Sampling ``k`` of ``n``** (forward partial Fisher–Yates): sort the candidates (institution
ids as lower-case hyphenated UUID strings, inspector codes as strings, both by code point),
then for ``i = 0 … k-1`` swap item ``i`` with item ``i + below(n - i)``; the first ``k`` items,
in that order, are the sample.

**The draw.** Institutions: sample ``sample_size`` of the institution candidates with the stream
labelled ``institutions``.  Inspectors: for the ``t``-th selected institution (0-based), sample
``inspectors_per_institution`` of the inspector candidates with the stream labelled
``inspectors/<t>``.

Pure module: standard library and msgspec only.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator, Sequence
from typing import Final

import msgspec

__all__ = [
    "ALGORITHM",
    "DrawError",
    "DrawResult",
    "Selected",
    "derive_seed",
    "run_draw",
    "sample",
    "uniform_below",
]

ALGORITHM: Final = "workforce/draw/v1"
"""Name and version of the algorithm, published with every draw."""
SEED_DOMAIN: Final = b"workforce/draw/v1"
"""Domain-separation prefix of the seed."""
INSTITUTIONS_LABEL: Final = "institutions"
INSPECTORS_LABEL: Final = "inspectors/{index}"
_U64: Final = 1 << 64
_ROOT_BYTES: Final = 32
_MAX_PERIOD_BYTES: Final = 0xFFFF
_MAX_LABEL_BYTES: Final = 0xFF


class DrawError(ValueError):
    """Input the draw cannot use (a bad seed, duplicates, a sample larger than the pool)."""


def derive_seed(root_hash: bytes, tree_size: int, period: str, regulator_id: uuid.UUID) -> bytes:
    """The 32-byte seed of a draw (see the module docstring for the exact encoding).

    Raises:
        DrawError: The root hash is not 32 bytes, the size is negative or too large, or the
            period is empty or too long.
    """
    if len(root_hash) != _ROOT_BYTES:
        raise DrawError("the checkpoint root hash must be 32 bytes")
    if not 0 <= tree_size < _U64:
        raise DrawError("the checkpoint size must be a 64-bit unsigned integer")
    encoded = period.encode("utf-8")
    if not encoded or len(encoded) > _MAX_PERIOD_BYTES:
        raise DrawError("the period must be 1 to 65535 bytes of UTF-8")
    message = b"".join(
        (
            SEED_DOMAIN,
            b"\x00",
            root_hash,
            tree_size.to_bytes(8, "big"),
            len(encoded).to_bytes(2, "big"),
            encoded,
            regulator_id.bytes,
        )
    )
    return hashlib.sha256(message).digest()


def _blocks(seed: bytes, label: str) -> Iterator[int]:
    tag = label.encode("ascii")
    if len(tag) > _MAX_LABEL_BYTES:
        raise DrawError("a stream label is at most 255 bytes")
    prefix = seed + bytes([len(tag)]) + tag
    counter = 0
    while True:
        block = hashlib.sha256(prefix + counter.to_bytes(8, "big")).digest()
        for offset in range(0, len(block), 8):
            yield int.from_bytes(block[offset : offset + 8], "big")
        counter += 1


def uniform_below(stream: Iterator[int], n: int) -> int:
    """A uniform integer in ``[0, n)`` from a stream of 64-bit integers (rejection sampling)."""
    if not 0 < n < _U64:
        raise DrawError("the range must be 1 to 2^64 - 1")
    limit = _U64 - (_U64 % n)
    for value in stream:
        if value < limit:
            return value % n
    raise DrawError("the random stream ended")  # pragma: no cover - the stream is endless


def sample(seed: bytes, label: str, items: Sequence[str], k: int) -> list[str]:
    """``k`` of ``items`` (sorted first) by forward partial Fisher–Yates on the labelled stream.

    Raises:
        DrawError: A bad seed, duplicate items, or ``k`` outside ``0 … len(items)``.
    """
    if len(seed) != _ROOT_BYTES:
        raise DrawError("the seed must be 32 bytes")
    pool = sorted(items)
    if len(set(pool)) != len(pool):
        raise DrawError("the candidates contain duplicates")
    if not 0 <= k <= len(pool):
        raise DrawError(f"cannot draw {k} of {len(pool)} candidates")
    stream = _blocks(seed, label)
    n = len(pool)
    for i in range(k):
        j = i + uniform_below(stream, n - i)
        pool[i], pool[j] = pool[j], pool[i]
    return pool[:k]


class Selected(msgspec.Struct, frozen=True, kw_only=True):
    """One drawn institution and the inspectors drawn for it."""

    institution_id: str
    inspectors: list[str]


class DrawResult(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of a draw."""

    algorithm: str
    seed: str
    """Hex of the seed."""
    selected: list[Selected]


def run_draw(
    seed: bytes,
    institution_candidates: Sequence[str],
    sample_size: int,
    inspector_candidates: Sequence[str],
    inspectors_per_institution: int,
) -> DrawResult:
    """Run ``workforce/draw/v1``: the same inputs always give the same result.

    Raises:
        DrawError: As :func:`sample` (too few candidates or inspectors, duplicates, bad seed).
    """
    institutions = sample(seed, INSTITUTIONS_LABEL, institution_candidates, sample_size)
    selected = [
        Selected(
            institution_id=institution,
            inspectors=sample(
                seed,
                INSPECTORS_LABEL.format(index=index),
                inspector_candidates,
                inspectors_per_institution,
            ),
        )
        for index, institution in enumerate(institutions)
    ]
    return DrawResult(algorithm=ALGORITHM, seed=seed.hex(), selected=selected)
