"""A fast acceptance check for ledger entry bytes, for ``ledger verify``'s hot loop.

``check_leaf`` accepts a *subset* of what ``workforce.ledger.entry.parse_entry`` accepts, at a
fraction of its cost: one decode with a reusable ``msgspec.json.Decoder`` into ``_Ban`` (the
fields and type-level constraints of a ban ``Entry``, without its ``__post_init__``), one
re-encode with a reusable sorted ``msgspec.json.Encoder`` compared byte for byte (the core's
canonical rule is this very comparison), then the rules of ``Entry.__post_init__`` for a ban,
written with cheap operations. Whatever it does not accept (a bad entry, but also any valid
entry it does not cover, such as a correction) the caller hands to ``parse_entry``, which then
accepts it or names the precise problem. So a leaf verifies exactly when ``parse_entry``
accepts it; ``tests/ledger/test_fastcheck.py`` checks that the two agree.

``check_run`` does the same for a run of leaves. When the optional C extension
``workforce.ledger._leafcheck`` is built (``setup.py``; skipped without a compiler), it first
scans the run's bytes in C (``compiled_check_run``), which accepts a subset of what
``python_check_run`` accepts; anything it refuses goes through the Python path as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from itertools import chain
from operator import attrgetter
from typing import Final, Literal

import msgspec

from workforce.ledger.entry import (  # one source of truth for the formats
    _ORG_ID,  # pyright: ignore[reportPrivateUsage]
    _REASON_CODE,  # pyright: ignore[reportPrivateUsage]
    _REGION,  # pyright: ignore[reportPrivateUsage]
    GENESIS_PREV,
    BanKind,
    Hex32,
    Seq,
)

__all__ = [
    "Chain",
    "RunCheck",
    "check_leaf",
    "check_run",
    "compiled_check_run",
    "python_check_run",
]

_HEX_BYTES: Final = 4 * 32
"""prev, subject, decision and case: four SHA-256 hashes."""
_KNOWN_LIMIT: Final = 4096
"""At most this many (format, value) verdicts are remembered."""


class _Issuer(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    org: str
    region: str


class _Ban(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A ban ``Entry``: the same fields, types and bounds; no ``corrects`` or ``effect``."""

    v: Literal[1]
    type: Literal["ban"]
    seq: Seq
    prev: Hex32
    ts: datetime
    subject: Hex32
    kind: BanKind | None
    until: date | None
    reason_code: str
    issuer: _Issuer
    decision: Hex32
    case: Hex32


Chain = tuple[int, str, datetime]
"""What the chain checks need of an entry: ``seq``, ``prev`` and ``ts``."""

_decoder: Final = msgspec.json.Decoder(_Ban, strict=True)
_encoder: Final = msgspec.json.Encoder(order="sorted")


def _formats_ok(reason_code: str, org: str, region: str) -> bool:
    return (
        _format_ok(_REASON_CODE, reason_code)
        and _format_ok(_ORG_ID, org)
        and _format_ok(_REGION, region)
    )


def check_leaf(leaf: bytes) -> Chain | None:
    """``(seq, prev, ts)`` of a leaf the fast path accepts, else None (ask ``parse_entry``).

    Accepted leaves are exactly the canonical schema-v1 bans that ``parse_entry`` accepts.
    """
    try:
        ban = _decoder.decode(leaf)
        if _encoder.encode(ban) != leaf:
            return None
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeError):  # bad UTF-8 too
        return None
    ts, prev, kind = ban.ts, ban.prev, ban.kind
    hexes = prev + ban.subject + ban.decision + ban.case
    try:
        if len(bytes.fromhex(hexes)) != _HEX_BYTES or hexes != hexes.lower():
            return None
    except ValueError:
        return None
    if (
        ts.microsecond
        or ts.tzinfo is not UTC
        or (ban.seq == 0) != (prev == GENESIS_PREV)
        or kind is None
        or (kind == "fixed_term") != (ban.until is not None)
        or not _formats_ok(ban.reason_code, ban.issuer.org, ban.issuer.region)
    ):
        return None
    return ban.seq, prev, ts


# --- runs of leaves ---------------------------------------------------------------------------
#
# ``check_run`` is ``check_leaf`` for a run of consecutive leaves (plus the hash chain between
# them), with the per-leaf Python work replaced by passes over the whole run that run in C:
# ``map`` over the decoder and encoder, one ``str.join``/``bytes.translate`` for the hex fields,
# one ``msgspec.convert`` and two encodes for the times, ``set`` for the few distinct formats.
# The kind/until rule moves into the decoder (a union tagged by ``kind``). It accepts a run
# exactly when ``check_leaf`` accepts every leaf with the expected ``seq`` and ``prev``; anything
# else returns None and the caller falls back to the per-leaf path, which names the problem.

_HEX_DIGITS: Final = b"0123456789abcdef"


class _RunIssuer(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    org: str
    region: str


class _RunBan(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False, tag_field="kind"):
    """``_Ban`` with ``ts`` kept as its text (checked per run), untracked by the GC; the union
    of its two subclasses, tagged by ``kind``, is the kind/until rule."""

    v: Literal[1]
    type: Literal["ban"]
    seq: Seq
    prev: Hex32
    ts: str
    subject: Hex32
    reason_code: str
    issuer: _RunIssuer
    decision: Hex32
    case: Hex32


class _RunLifetime(_RunBan, frozen=True, forbid_unknown_fields=True, gc=False, tag="lifetime"):
    until: None


class _RunFixedTerm(_RunBan, frozen=True, forbid_unknown_fields=True, gc=False, tag="fixed_term"):
    until: date


_run_decode: Final = msgspec.json.Decoder(_RunLifetime | _RunFixedTerm, strict=True).decode
_run_encode: Final = _encoder.encode
_commitments: Final = attrgetter("subject", "decision", "case")
_get_seq: Final = attrgetter("seq")
_get_prev: Final = attrgetter("prev")
_get_ts: Final = attrgetter("ts")
_get_code: Final = attrgetter("reason_code")
_get_org: Final = attrgetter("issuer.org")
_get_region: Final = attrgetter("issuer.region")
_json: Final = msgspec.json.Encoder()


def _is_hex(text: str) -> bool:
    """Only lowercase hex digits (an empty text too)."""
    try:
        return not text.encode("ascii").translate(None, _HEX_DIGITS)
    except UnicodeEncodeError:
        return False


RunCheck = Callable[[Sequence[bytes], int, str, Sequence[bytes]], "list[str] | None"]
"""The signature of ``check_run``, ``python_check_run`` and ``compiled_check_run``."""

try:
    from workforce.ledger import _leafcheck
except ImportError:  # built without a C compiler: the Python path alone
    compiled_check_run: RunCheck | None = None
else:
    compiled_check_run = _leafcheck.check_run


def check_run(
    leaves: Sequence[bytes], first: int, prev: str, digests: Sequence[bytes]
) -> list[str] | None:
    """The ``ts`` of each leaf if ``check_leaf`` accepts every one and they chain, else None.

    The compiled scan when built, else (or when it refuses) ``python_check_run``; the arguments
    and result are those of ``python_check_run``.
    """
    if compiled_check_run is not None:
        stamps = compiled_check_run(leaves, first, prev, digests)
        if stamps is not None:
            return stamps
    return python_check_run(leaves, first, prev, digests)


def python_check_run(
    leaves: Sequence[bytes], first: int, prev: str, digests: Sequence[bytes]
) -> list[str] | None:
    """The ``ts`` of each leaf if ``check_leaf`` accepts every one and they chain, else None.

    Args:
        leaves: Leaves ``first, first + 1, …``.
        first: The ``seq`` of the first leaf.
        prev: The ``prev`` the first leaf must carry (the leaf hash before it, in hex).
        digests: The leaf hash of each leaf: the next leaf's ``prev``.

    Returns:
        Each leaf's ``ts`` as written (``YYYY-MM-DDTHH:MM:SSZ``), or None.
    """
    if not leaves:
        return []
    bans = _canonical_bans(leaves)
    if (
        bans is None
        or list(map(_get_seq, bans)) != list(range(first, first + len(bans)))
        or not _chained(bans, prev, digests)
        or not _is_hex("".join(chain.from_iterable(map(_commitments, bans))))  # lengths: Hex32
        or not _formats_all_ok(bans)
    ):
        return None
    stamps = list(map(_get_ts, bans))
    return stamps if _times_ok(stamps) else None


def _canonical_bans(leaves: Sequence[bytes]) -> list[_RunBan] | None:
    """Each leaf decoded as a ban, if each is one and re-encodes to exactly its bytes."""
    try:
        bans = list(map(_run_decode, leaves))
        if list(map(_run_encode, bans)) != list(leaves):
            return None
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeError):  # bad UTF-8 too
        return None
    return bans


def _chained(bans: list[_RunBan], prev: str, digests: Sequence[bytes]) -> bool:
    """Each ``prev`` is the leaf hash before it. This also settles prev's format and the genesis
    rule: ``GENESIS_PREV`` exactly for seq 0 (it is no leaf hash), else a leaf hash in hex."""
    if (bans[0].seq == 0) != (prev == GENESIS_PREV) or len(prev) != 64 or not _is_hex(prev):
        return False
    prevs = list(map(_get_prev, bans))
    return (
        prevs[0] == prev
        and prevs[1:] == list(map(bytes.hex, digests[: len(bans) - 1]))
        and GENESIS_PREV not in prevs[1:]
    )


def _times_ok(stamps: list[str]) -> bool:
    """Each ``ts`` is a real time, UTC, whole seconds, written as the canonical encoder does."""
    try:  # the very parser and encoder of parse_entry
        times = msgspec.convert(stamps, list[datetime], strict=True)
    except msgspec.ValidationError:
        return False
    text = "".join(stamps)  # then each ends in Z (UTC) and has no fraction (whole seconds):
    return (
        _json.encode(times) == _json.encode(stamps)
        and text.count("Z") == len(stamps)
        and "." not in text
    )


def _formats_all_ok(bans: list[_RunBan]) -> bool:
    """reason_code, issuer.org and issuer.region match their formats (each distinct value once)."""
    formats = (
        (_REASON_CODE, set(map(_get_code, bans))),
        (_ORG_ID, set(map(_get_org, bans))),
        (_REGION, set(map(_get_region, bans))),
    )
    return all(_format_ok(pattern, value) for pattern, values in formats for value in values)


_valid: dict[tuple[re.Pattern[str], str], bool] = {}


def _format_ok(pattern: re.Pattern[str], value: str) -> bool:
    known = _valid.get((pattern, value))
    if known is None:
        if len(_valid) >= _KNOWN_LIMIT:
            _valid.clear()
        known = _valid[pattern, value] = pattern.fullmatch(value) is not None
    return known
