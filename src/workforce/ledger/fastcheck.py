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
"""

from __future__ import annotations

from datetime import UTC, date, datetime
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

__all__ = ["Chain", "check_leaf"]

_HEX_BYTES: Final = 4 * 32
"""prev, subject, decision and case: four SHA-256 hashes."""
_KNOWN_LIMIT: Final = 4096
"""At most this many distinct (reason_code, org, region) triples are remembered as valid."""


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
_known: set[tuple[str, str, str]] = set()


def _formats_ok(reason_code: str, issuer: _Issuer) -> bool:
    key = (reason_code, issuer.org, issuer.region)
    if key in _known:
        return True
    if not (
        _REASON_CODE.fullmatch(reason_code)
        and _ORG_ID.fullmatch(issuer.org)
        and _REGION.fullmatch(issuer.region)
    ):
        return False
    if len(_known) >= _KNOWN_LIMIT:
        _known.clear()
    _known.add(key)
    return True


def check_leaf(leaf: bytes) -> Chain | None:
    """``(seq, prev, ts)`` of a leaf the fast path accepts, else None (ask ``parse_entry``).

    Accepted leaves are exactly the canonical schema-v1 bans that ``parse_entry`` accepts.
    """
    try:
        ban = _decoder.decode(leaf)
        if _encoder.encode(ban) != leaf:
            return None
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeEncodeError):
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
        or not _formats_ok(ban.reason_code, ban.issuer)
    ):
        return None
    return ban.seq, prev, ts
