"""Merkle hash trees, audit paths and consistency proofs.

Specifications:

- RFC 6962 §2.1 (Merkle Hash Trees), §2.1.1 (Merkle Audit Paths), §2.1.2 (Merkle Consistency
  Proofs): the tree hash ``MTH``, the reference recursions ``PATH`` and ``PROOF``/``SUBPROOF``.
- RFC 9162 §2.1.3.2 and §2.1.4.2: the verification algorithms for inclusion and consistency
  proofs, implemented here exactly as written (the shift loops included).

Hashes are SHA-256 with domain separation: ``LEAF(d) = HASH(0x00 || d)`` and
``NODE(l, r) = HASH(0x01 || l || r)``; the empty tree hashes to ``HASH()``. Every hash is exactly
32 bytes and every size and index is a Python ``int`` (no limit at 2**32 or 2**64).

Three ways to obtain tree hashes:

- the naive recursions ``mth``, ``inclusion_path`` and ``consistency_proof`` over a list of leaf
  hashes (reference only: O(n) work per call);
- ``StreamingRoot``: the root of a stream of leaf hashes in O(log n) memory (``ledger verify``);
- plans over stored *perfect subtrees*. ``SubtreeKey(level, index)`` names the complete subtree
  over leaves ``[index * 2**level, (index + 1) * 2**level)``; level 0 holds the leaf hashes. A
  proof element or root over a non-perfect range is the right fold of the perfect subtrees given
  by the binary representation of the range's size. ``inclusion_plan``, ``consistency_plan`` and
  ``root_plan`` list the O(log n) keys a store must fetch (in one query), and
  ``HashPlan.assemble`` turns the fetched hashes into the proof. ``subtrees_completed_by_append``
  gives the subtrees an append completes (two per entry, amortised) so a store can persist them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, NewType

from workforce.ledger.errors import ProofError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

__all__ = [
    "HASH_SIZE",
    "LEAF_PREFIX",
    "NODE_PREFIX",
    "HashPlan",
    "LeafHash",
    "ProofError",
    "RootHash",
    "StreamingRoot",
    "SubtreeKey",
    "append_keys",
    "consistency_plan",
    "consistency_proof",
    "consistency_proof_fast",
    "empty_root",
    "inclusion_path",
    "inclusion_plan",
    "inclusion_proof",
    "leaf_hash",
    "mth",
    "node_hash",
    "root_at",
    "root_from_leaf_hashes",
    "root_plan",
    "stored_hash_count",
    "subtrees_completed_by_append",
    "verify_consistency",
    "verify_inclusion",
]

LEAF_PREFIX: Final = b"\x00"
"""Domain-separation prefix of a leaf hash (RFC 6962 §2.1)."""
NODE_PREFIX: Final = b"\x01"
"""Domain-separation prefix of an interior node hash (RFC 6962 §2.1)."""
HASH_SIZE: Final = 32
"""Length in bytes of every hash in the tree (SHA-256)."""

LeafHash = NewType("LeafHash", bytes)
RootHash = NewType("RootHash", bytes)

SubtreeKey = tuple[int, int]
"""``(level, index)``: the perfect subtree over leaves ``[index << level, (index+1) << level)``.

Level 0 holds the leaf hashes; a subtree exists once all its leaves do.
"""

_sha256 = hashlib.sha256
_EMPTY_ROOT: Final = RootHash(_sha256().digest())


# --- hashes -------------------------------------------------------------------------------


def leaf_hash(data: bytes) -> LeafHash:
    """Return ``LEAF(data) = SHA-256(0x00 || data)``.

    Args:
        data: The leaf's bytes (for the ledger, an entry's canonical JSON).

    Returns:
        The 32-byte leaf hash.
    """
    return LeafHash(_sha256(LEAF_PREFIX + data).digest())


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return ``NODE(left, right) = SHA-256(0x01 || left || right)``.

    Args:
        left: Hash of the left subtree.
        right: Hash of the right subtree.

    Returns:
        The 32-byte interior node hash.
    """
    return _sha256(NODE_PREFIX + left + right).digest()


def stored_hash_count(size: int) -> int:
    """Number of complete subtrees (leaves included) of a tree of ``size`` leaves, i.e. of the
    subtree hashes stored for it: ``2·size − popcount(size)``."""
    return 2 * size - size.bit_count()


def empty_root() -> RootHash:
    """Return the root of the empty tree, ``SHA-256()`` (not ``LEAF(b"")``)."""
    return _EMPTY_ROOT


def _split(n: int) -> int:
    """Return the largest power of two strictly below ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


def _require_hash(what: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        msg = f"{what} must be {HASH_SIZE} bytes, got {len(value)}"
        raise ProofError(msg)


def _require_size(what: str, value: int) -> None:
    if value < 0:
        msg = f"{what} must not be negative, got {value}"
        raise ProofError(msg)


# --- streaming root -------------------------------------------------------------------------


class StreamingRoot:
    """Tree hash of a stream of leaf hashes in O(log n) memory.

    The stack holds the roots of the perfect subtrees given by the binary representation of
    ``size`` (largest first): pushing leaf number ``i`` merges one stack entry per trailing
    1-bit of ``i``.
    """

    __slots__ = ("_size", "_stack")

    def __init__(self) -> None:
        """Start with the empty tree."""
        self._stack: list[bytes] = []
        self._size = 0

    @classmethod
    def resume(cls, size: int, peaks: Sequence[bytes]) -> StreamingRoot:
        """Continue a stream from stored perfect-subtree hashes.

        Args:
            size: Number of leaves already pushed.
            peaks: Hashes of the keys of ``root_plan(size)``, largest subtree first.

        Returns:
            A stream positioned after leaf ``size - 1``.

        Raises:
            ProofError: The number or length of the peaks does not fit ``size``.
        """
        _require_size("tree size", size)
        if len(peaks) != size.bit_count():
            msg = f"a tree of size {size} has {size.bit_count()} peaks, got {len(peaks)}"
            raise ProofError(msg)
        for peak in peaks:
            _require_hash("peak hash", peak)
        stream = cls()
        stream._stack = [bytes(peak) for peak in peaks]
        stream._size = size
        return stream

    @property
    def size(self) -> int:
        """Number of leaves pushed so far."""
        return self._size

    @property
    def peaks(self) -> tuple[bytes, ...]:
        """Hashes of the perfect subtrees making up the tree so far, largest first."""
        return tuple(self._stack)

    def push(self, leaf: bytes) -> None:
        """Append one leaf hash.

        Args:
            leaf: A 32-byte leaf hash (``leaf_hash(data)``, not the data itself).

        Raises:
            ProofError: ``leaf`` is not 32 bytes.
        """
        if len(leaf) != HASH_SIZE:
            _require_hash("leaf hash", leaf)
        stack = self._stack
        node = leaf
        i = self._size
        while i & 1:
            node = _sha256(NODE_PREFIX + stack.pop() + node).digest()
            i >>= 1
        stack.append(node)
        self._size += 1

    def root(self) -> RootHash:
        """Return the tree hash of the leaves pushed so far (``MTH`` of RFC 6962 §2.1)."""
        stack = self._stack
        if not stack:
            return _EMPTY_ROOT
        node = stack[-1]
        for left in reversed(stack[:-1]):
            node = _sha256(NODE_PREFIX + left + node).digest()
        return RootHash(node)


def root_from_leaf_hashes(leaf_hashes: Iterable[bytes]) -> RootHash:
    """Return the tree hash of a stream of leaf hashes in O(log n) memory.

    Args:
        leaf_hashes: 32-byte leaf hashes in leaf order.

    Returns:
        The root hash, ``empty_root()`` for an empty stream.
    """
    stream = StreamingRoot()
    for leaf in leaf_hashes:
        stream.push(leaf)
    return stream.root()


# --- naive reference recursions (RFC 6962 §2.1) ---------------------------------------------


def mth(leaf_hashes: Sequence[bytes]) -> RootHash:
    """Return ``MTH(D[n])`` by the recursive definition of RFC 6962 §2.1 (reference only).

    Args:
        leaf_hashes: The leaf hashes ``LEAF(d0), ..., LEAF(d(n-1))``.

    Returns:
        The root hash.
    """
    if not leaf_hashes:
        return _EMPTY_ROOT
    return RootHash(_mth(leaf_hashes, 0, len(leaf_hashes)))


def _mth(d: Sequence[bytes], begin: int, end: int) -> bytes:
    """``MTH(D[begin:end])`` for a non-empty range."""
    n = end - begin
    if n == 1:
        return bytes(d[begin])
    k = _split(n)
    return node_hash(_mth(d, begin, begin + k), _mth(d, begin + k, end))


def inclusion_path(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """Return ``PATH(m, D[n])`` by the recursion of RFC 6962 §2.1.1 (reference only).

    Args:
        index: The leaf index ``m``, ``0 <= m < n``.
        leaf_hashes: The leaf hashes of the tree.

    Returns:
        The audit path, bottom-up, without the leaf itself.

    Raises:
        ProofError: ``index`` is outside the tree.
    """
    _check_index(index, len(leaf_hashes))
    return _path(index, leaf_hashes, 0, len(leaf_hashes))


def _path(m: int, d: Sequence[bytes], begin: int, end: int) -> list[bytes]:
    """``PATH(m, D[begin:end])``."""
    n = end - begin
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return [*_path(m, d, begin, begin + k), _mth(d, begin + k, end)]
    return [*_path(m - k, d, begin + k, end), _mth(d, begin, begin + k)]


def consistency_proof(first: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """Return ``PROOF(m, D[n])`` by the recursion of RFC 6962 §2.1.2 (reference only).

    Args:
        first: The earlier tree size ``m``, ``0 < m <= n``.
        leaf_hashes: The leaf hashes of the later tree ``D[n]``.

    Returns:
        The consistency proof (empty when ``m == n``).

    Raises:
        ProofError: ``first`` is 0 or larger than the tree.
    """
    _check_sizes(first, len(leaf_hashes))
    return _subproof(first, leaf_hashes, 0, len(leaf_hashes), whole=True)


def _subproof(m: int, d: Sequence[bytes], begin: int, end: int, *, whole: bool) -> list[bytes]:
    """``SUBPROOF(m, D[begin:end], whole)``."""
    n = end - begin
    if m == n:
        return [] if whole else [_mth(d, begin, end)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, d, begin, begin + k, whole=whole), _mth(d, begin + k, end)]
    return [*_subproof(m - k, d, begin + k, end, whole=False), _mth(d, begin, begin + k)]


# --- proofs from stored perfect subtrees ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class HashPlan:
    """The perfect subtrees that make up a list of tree hashes (a proof, or a root).

    Attributes:
        parts: One tuple per output hash, listing left to right the perfect subtrees whose
            right fold ``NODE(h0, NODE(h1, ... NODE(h(k-2), h(k-1))))`` is that hash. An
            empty tuple stands for the empty tree.
    """

    parts: tuple[tuple[SubtreeKey, ...], ...]

    @property
    def keys(self) -> tuple[SubtreeKey, ...]:
        """Every subtree the plan needs, each once, in first-use order."""
        return tuple(dict.fromkeys(key for part in self.parts for key in part))

    def assemble(self, hashes: Mapping[SubtreeKey, bytes]) -> list[bytes]:
        """Compute the planned hashes from fetched subtree hashes.

        Args:
            hashes: At least the hashes of ``keys``.

        Returns:
            One 32-byte hash per part.

        Raises:
            ProofError: A needed subtree hash is missing or not 32 bytes.
        """
        return [_fold(part, hashes) for part in self.parts]

    def resolve(self, get_subtree: Callable[[int, int], bytes]) -> list[bytes]:
        """Compute the planned hashes, looking each subtree up once with ``get_subtree``.

        Args:
            get_subtree: ``(level, index) -> hash`` of a complete perfect subtree.

        Returns:
            One 32-byte hash per part.
        """
        return self.assemble({key: get_subtree(*key) for key in self.keys})


def _fold(part: tuple[SubtreeKey, ...], hashes: Mapping[SubtreeKey, bytes]) -> bytes:
    if not part:
        return _EMPTY_ROOT
    node = _lookup(part[-1], hashes)
    for key in reversed(part[:-1]):
        node = _sha256(NODE_PREFIX + _lookup(key, hashes) + node).digest()
    return node


def _lookup(key: SubtreeKey, hashes: Mapping[SubtreeKey, bytes]) -> bytes:
    try:
        value = hashes[key]
    except KeyError:
        msg = f"subtree hash at level {key[0]}, index {key[1]} is missing"
        raise ProofError(msg) from None
    if len(value) != HASH_SIZE:
        _require_hash(f"subtree hash at level {key[0]}, index {key[1]}", value)
    return value


def _range_keys(begin: int, end: int) -> tuple[SubtreeKey, ...]:
    """Split the tree node over leaves ``[begin, end)`` into perfect subtrees, largest first.

    ``begin`` is a multiple of the smallest power of two ``>= end - begin``, which holds for
    every node of an RFC 6962 tree, so each piece is aligned.
    """
    size = end - begin
    if size & (size - 1) == 0:
        level = size.bit_length() - 1
        return ((level, begin >> level),)
    keys: list[SubtreeKey] = []
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            keys.append((level, begin >> level))
            begin += 1 << level
    return tuple(keys)


def _check_index(index: int, size: int) -> None:
    _require_size("leaf index", index)
    if index >= size:
        msg = f"leaf index {index} is not below tree size {size}"
        raise ProofError(msg)


def _check_sizes(first: int, second: int) -> None:
    if first <= 0:
        msg = f"a consistency proof needs a first tree size above 0, got {first}"
        raise ProofError(msg)
    if first > second:
        msg = f"first tree size {first} exceeds second tree size {second}"
        raise ProofError(msg)


def inclusion_plan(index: int, size: int) -> HashPlan:
    """Plan the audit path of leaf ``index`` in a tree of ``size`` leaves.

    Walks the recursion of RFC 6962 §2.1.1 top-down; each sibling is one perfect subtree, except
    at most one right sibling that splits into at most log2(size) perfect subtrees.

    Args:
        index: The leaf index, ``0 <= index < size``.
        size: The tree size.

    Returns:
        A plan whose parts are the audit path, bottom-up.

    Raises:
        ProofError: ``index`` is outside the tree.
    """
    _check_index(index, size)
    parts: list[tuple[SubtreeKey, ...]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        mid = lo + _split(hi - lo)
        if index < mid:
            parts.append(_range_keys(mid, hi))
            hi = mid
        else:
            parts.append(_range_keys(lo, mid))
            lo = mid
    parts.reverse()
    return HashPlan(tuple(parts))


def consistency_plan(first: int, second: int) -> HashPlan:
    """Plan the consistency proof from tree size ``first`` to ``second`` (RFC 6962 §2.1.2).

    Args:
        first: The earlier tree size, ``0 < first <= second``.
        second: The later tree size.

    Returns:
        A plan whose parts are ``PROOF(first, D[second])`` (none when the sizes are equal).

    Raises:
        ProofError: ``first`` is 0 or larger than ``second``.
    """
    _check_sizes(first, second)
    parts: list[tuple[SubtreeKey, ...]] = []
    lo, hi, whole = 0, second, True
    while first != hi:
        mid = lo + _split(hi - lo)
        if first <= mid:
            parts.append(_range_keys(mid, hi))
            hi = mid
        else:
            parts.append(_range_keys(lo, mid))
            lo, whole = mid, False
    if not whole:
        parts.append(_range_keys(lo, hi))
    parts.reverse()
    return HashPlan(tuple(parts))


def root_plan(size: int) -> HashPlan:
    """Plan the root of a tree of ``size`` leaves: one part, its perfect subtrees largest first.

    Args:
        size: The tree size (0 gives the empty tree).

    Returns:
        A one-part plan.

    Raises:
        ProofError: ``size`` is negative.
    """
    _require_size("tree size", size)
    return HashPlan((_range_keys(0, size) if size else (),))


def inclusion_proof(index: int, size: int, get_subtree: Callable[[int, int], bytes]) -> list[bytes]:
    """Return the audit path of leaf ``index`` in a tree of ``size`` leaves.

    Args:
        index: The leaf index, ``0 <= index < size``.
        size: The tree size.
        get_subtree: ``(level, index) -> hash`` of a complete perfect subtree.

    Returns:
        The audit path, bottom-up, equal to ``PATH(index, D[size])``.
    """
    return inclusion_plan(index, size).resolve(get_subtree)


def consistency_proof_fast(
    first: int, second: int, get_subtree: Callable[[int, int], bytes]
) -> list[bytes]:
    """Return the consistency proof from tree size ``first`` to ``second``.

    Args:
        first: The earlier tree size, ``0 < first <= second``.
        second: The later tree size.
        get_subtree: ``(level, index) -> hash`` of a complete perfect subtree.

    Returns:
        ``PROOF(first, D[second])`` of RFC 6962 §2.1.2.
    """
    return consistency_plan(first, second).resolve(get_subtree)


def root_at(size: int, get_subtree: Callable[[int, int], bytes]) -> RootHash:
    """Return the root of the tree of the first ``size`` leaves.

    Args:
        size: The tree size.
        get_subtree: ``(level, index) -> hash`` of a complete perfect subtree.

    Returns:
        ``MTH(D[size])``.
    """
    return RootHash(root_plan(size).resolve(get_subtree)[0])


def append_keys(index: int) -> list[SubtreeKey]:
    """List the stored subtrees needed to append leaf number ``index``.

    Args:
        index: The new leaf's index (the tree size before the append).

    Returns:
        The left siblings merged by the append, lowest level first (one per trailing 1-bit).
    """
    _require_size("leaf index", index)
    keys: list[SubtreeKey] = []
    level, i = 0, index
    while i & 1:
        keys.append((level, i - 1))
        level, i = level + 1, i >> 1
    return keys


def subtrees_completed_by_append(
    index: int, leaf: bytes, get_subtree: Callable[[int, int], bytes]
) -> list[tuple[int, int, bytes]]:
    """Return the perfect subtrees completed by appending leaf number ``index``.

    Args:
        index: The new leaf's index (the tree size before the append).
        leaf: The new leaf hash.
        get_subtree: ``(level, index) -> hash``, called for the keys of ``append_keys(index)``.

    Returns:
        ``(level, index, hash)`` for the leaf itself (level 0) and each subtree it completes.

    Raises:
        ProofError: ``leaf`` or a fetched subtree hash is not 32 bytes.
    """
    _require_hash("leaf hash", leaf)
    completed = [(0, index, bytes(leaf))]
    node = leaf
    for level, left_index in append_keys(index):
        left = get_subtree(level, left_index)
        _require_hash(f"subtree hash at level {level}, index {left_index}", left)
        node = _sha256(NODE_PREFIX + left + node).digest()
        completed.append((level + 1, left_index >> 1, node))
    return completed


# --- verification (RFC 9162 §2.1.3.2, §2.1.4.2) ---------------------------------------------


def verify_inclusion(
    leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes
) -> None:
    """Verify an inclusion proof exactly as RFC 9162 §2.1.3.2.

    Args:
        leaf: The 32-byte leaf hash.
        index: The leaf index.
        size: The tree size.
        path: The audit path, bottom-up.
        root: The 32-byte root hash of the tree of ``size`` leaves.

    Raises:
        ProofError: The proof is malformed or does not lead to ``root``.
    """
    _require_hash("leaf hash", leaf)
    _require_hash("root hash", root)
    _check_index(index, size)
    fn, sn, node = index, size - 1, leaf
    for position, sibling in enumerate(path):
        if len(sibling) != HASH_SIZE:
            _require_hash(f"inclusion proof hash {position}", sibling)
        if sn == 0:
            msg = f"inclusion proof has {len(path)} hashes, more than tree size {size} needs"
            raise ProofError(msg)
        if fn & 1 or fn == sn:
            node = _sha256(NODE_PREFIX + sibling + node).digest()
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            node = _sha256(NODE_PREFIX + node + sibling).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        msg = f"inclusion proof has {len(path)} hashes, fewer than tree size {size} needs"
        raise ProofError(msg)
    if node != root:
        msg = f"inclusion proof for leaf {index} does not lead to the root of tree size {size}"
        raise ProofError(msg)


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, path: Sequence[bytes]
) -> None:
    """Verify a consistency proof exactly as RFC 9162 §2.1.4.2.

    Args:
        first: The earlier tree size (above 0).
        second: The later tree size.
        first_root: The 32-byte root of the earlier tree.
        second_root: The 32-byte root of the later tree.
        path: The consistency proof.

    Raises:
        ProofError: The proof is malformed or the roots are not consistent.
    """
    _require_hash("first root hash", first_root)
    _require_hash("second root hash", second_root)
    _check_sizes(first, second)
    for position, element in enumerate(path):
        _require_hash(f"consistency proof hash {position}", element)
    if first == second:
        if path:
            msg = f"consistency proof between equal sizes must be empty, got {len(path)} hashes"
            raise ProofError(msg)
        if first_root != second_root:
            msg = f"trees of equal size {first} have different roots"
            raise ProofError(msg)
        return
    if not path:
        msg = f"consistency proof from size {first} to {second} is empty"
        raise ProofError(msg)
    fr, sr = _consistency_roots(first, second, first_root, path)
    if fr != first_root:
        msg = f"consistency proof does not lead to the root of tree size {first}"
        raise ProofError(msg)
    if sr != second_root:
        msg = f"consistency proof does not lead to the root of tree size {second}"
        raise ProofError(msg)


def _consistency_roots(
    first: int, second: int, first_root: bytes, path: Sequence[bytes]
) -> tuple[bytes, bytes]:
    """Run steps 3-6 of RFC 9162 §2.1.4.2 and return the recomputed ``(fr, sr)``."""
    given = len(path)
    if first & (first - 1) == 0:
        path = [first_root, *path]  # the first tree is a complete subtree of the second
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for element in path[1:]:
        if sn == 0:
            msg = f"consistency proof has {given} hashes, more than sizes {first}, {second} need"
            raise ProofError(msg)
        if fn & 1 or fn == sn:
            fr = _sha256(NODE_PREFIX + element + fr).digest()
            sr = _sha256(NODE_PREFIX + element + sr).digest()
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = _sha256(NODE_PREFIX + sr + element).digest()
        fn >>= 1
        sn >>= 1
    if sn != 0:
        msg = f"consistency proof has {given} hashes, fewer than sizes {first}, {second} need"
        raise ProofError(msg)
    return fr, sr
