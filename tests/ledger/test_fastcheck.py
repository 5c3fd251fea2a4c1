"""The fast path of ``ledger verify`` agrees with ``parse_entry``: what it accepts, ``parse_entry``
accepts with the same ``seq``, ``prev`` and ``ts``; what it refuses is left to ``parse_entry``."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, date, datetime

import msgspec
import pytest

from workforce.ledger.cli import LedgerMismatch, _check_entry, parse_chunk
from workforce.ledger.entry import (
    GENESIS_PREV,
    Corrects,
    Entry,
    EntryError,
    Issuer,
    decode_entry,
    encode_entry,
    parse_entry,
)
from workforce.ledger.fastcheck import check_leaf, check_run
from workforce.ledger.merkle import leaf_hash

TS = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)


def _h(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _ban(seq: int, prev: str, **changes: object) -> Entry:
    fields: dict[str, object] = {
        "v": 1,
        "type": "ban",
        "seq": seq,
        "prev": prev,
        "ts": TS,
        "subject": _h(f"s{seq}"),
        "kind": "lifetime",
        "until": None,
        "reason_code": "child_abuse",
        "issuer": Issuer(org="reg-1", region="320000"),
        "decision": _h("d"),
        "case": _h("c"),
    }
    fields.update(changes)
    return Entry(**fields)  # type: ignore[arg-type]


def _chain(n: int) -> list[bytes]:
    leaves, prev = [], GENESIS_PREV
    for seq in range(n):
        kind = "fixed_term" if seq % 3 == 1 else "lifetime"
        until = date(2030, 1, 1) if kind == "fixed_term" else None
        leaf = encode_entry(_ban(seq, prev, kind=kind, until=until))
        leaves.append(leaf)
        prev = leaf_hash(leaf).hex()
    return leaves


def _rows(leaves: list[bytes]) -> list[tuple[int, bytes, object]]:
    return [(seq, leaf, TS.replace(tzinfo=None)) for seq, leaf in enumerate(leaves)]


def test_fast_path_agrees_with_parse_entry_on_valid_entries() -> None:
    for leaf in _chain(12):
        entry = parse_entry(leaf)
        assert check_leaf(leaf) == (entry.seq, entry.prev, entry.ts)


def test_a_correction_is_left_to_parse_entry_and_still_verifies() -> None:
    leaves = _chain(2)
    fix = Entry(
        **{
            **msgspec.structs.asdict(_ban(2, leaf_hash(leaves[1]).hex())),
            "type": "correction",
            "corrects": Corrects(seq=0, leaf_hash=leaf_hash(leaves[0]).hex()),
            "effect": "quashed",
            "kind": None,
        }
    )
    leaves.append(encode_entry(fix))
    assert check_leaf(leaves[2]) is None
    prevs, problem = parse_chunk(_rows(leaves))
    assert problem is None
    assert prevs == [GENESIS_PREV, leaf_hash(leaves[0]).hex(), leaf_hash(leaves[1]).hex()]


def _edit(leaf: bytes, **changes: object) -> bytes:
    data = decode_entry(leaf)
    data.update(changes)
    return msgspec.json.encode(data, order="sorted")


BAD: dict[str, Callable[[bytes], bytes]] = {
    "non_canonical_space": lambda b: b.replace(b'{"case"', b'{ "case"'),
    "non_canonical_order": lambda b: b.replace(b'"v":1', b"").replace(b"{", b'{"v":1,', 1),
    "escaped_char": lambda b: b.replace(b"child_abuse", b"child\\u005fabuse"),
    "unknown_field": lambda b: _edit(b, extra="x"),
    "upper_hex": lambda b: _edit(b, subject=_h("x").upper()),
    "short_hex": lambda b: _edit(b, case="ab" * 31),
    "bad_reason": lambda b: _edit(b, reason_code="Child Abuse"),
    "bad_region": lambda b: _edit(b, issuer={"org": "reg-1", "region": "3200"}),
    "bad_version": lambda b: _edit(b, v=2),
    "fractional_ts": lambda b: _edit(b, ts="2026-11-23T08:30:00.5Z"),
    "offset_ts": lambda b: _edit(b, ts="2026-11-23T16:30:00+08:00"),
    "fixed_term_without_until": lambda b: _edit(b, until=None),  # entry 4 is fixed_term
    "lifetime_with_until": lambda b: _edit(b, kind="lifetime"),
    "no_kind": lambda b: _edit(b, kind=None),
    "ban_with_effect": lambda b: _edit(b, effect="quashed"),
    "genesis_prev_later": lambda b: _edit(b, prev=GENESIS_PREV),
    "not_an_object": lambda b: b"[1]",
    "not_json": lambda b: b[:-1],
}


@pytest.mark.parametrize("name", BAD)
def test_fast_path_refuses_what_parse_entry_refuses(name: str) -> None:
    leaves = _chain(6)
    bad = BAD[name](leaves[4])
    with pytest.raises(EntryError):
        parse_entry(bad)
    assert check_leaf(bad) is None
    leaves[4] = bad
    prevs, problem = parse_chunk(_rows(leaves))
    assert len(prevs) == 4
    assert problem is not None
    assert "entry 4: not a canonical schema-v1 entry" in str(problem)


def test_wrong_seq_is_named() -> None:
    leaves = _chain(6)
    leaves[4] = leaves[3]
    _, problem = parse_chunk(_rows(leaves))
    assert problem is not None
    assert str(problem) == "entry 4: its bytes say seq 3"


def test_broken_prev_is_named() -> None:
    leaves = _chain(6)
    with pytest.raises(LedgerMismatch, match="entry 4: prev does not match"):
        _check_entry(leaves[4], 4, leaf_hash(leaves[2]).hex())
    assert _check_entry(leaves[4], 4, leaf_hash(leaves[3]).hex())[0] == 4


def test_created_at_must_equal_ts() -> None:
    rows = _rows(_chain(3))
    rows[1] = (1, rows[1][1], datetime(2026, 11, 23, 8, 30, 1))
    _, problem = parse_chunk(rows)
    assert problem is not None
    assert str(problem) == "entry 1: created_at differs from its ts"


# --- check_run: the same acceptance for a run of leaves ----------------------------------------


def _digests(leaves: list[bytes]) -> list[bytes]:
    return [bytes(leaf_hash(leaf)) for leaf in leaves]


def test_run_accepts_a_valid_chain_and_gives_each_ts() -> None:
    leaves = _chain(12)
    assert check_run(leaves, 0, GENESIS_PREV, _digests(leaves)) == ["2026-11-23T08:30:00Z"] * 12
    tail = leaves[5:]
    prev = leaf_hash(leaves[4]).hex()
    assert check_run(tail, 5, prev, _digests(tail)) == ["2026-11-23T08:30:00Z"] * 7
    assert check_run([], 3, prev, []) == []


@pytest.mark.parametrize("name", BAD)
def test_run_refuses_what_parse_entry_refuses(name: str) -> None:
    leaves = _chain(6)
    leaves[4] = BAD[name](leaves[4])
    assert check_run(leaves, 0, GENESIS_PREV, _digests(leaves)) is None


def test_run_refuses_a_broken_chain_or_wrong_seqs() -> None:
    leaves = _chain(6)
    digests = _digests(leaves)
    assert check_run(leaves, 1, GENESIS_PREV, digests) is None
    assert check_run(leaves[1:], 1, GENESIS_PREV, digests[1:]) is None
    assert check_run(leaves[1:], 1, digests[0].hex().upper(), digests[1:]) is None
    assert check_run(leaves, 0, GENESIS_PREV, [digests[0], bytes(32), *digests[2:]]) is None
    swapped = [leaves[0], leaves[2], leaves[1], *leaves[3:]]
    assert check_run(swapped, 0, GENESIS_PREV, _digests(swapped)) is None


def test_run_leaves_a_correction_to_the_per_leaf_path() -> None:
    leaves = _chain(2)
    fix = Entry(
        **{
            **msgspec.structs.asdict(_ban(2, leaf_hash(leaves[1]).hex())),
            "type": "correction",
            "corrects": Corrects(seq=0, leaf_hash=leaf_hash(leaves[0]).hex()),
            "effect": "amended",
        }
    )
    leaves.append(encode_entry(fix))
    assert check_run(leaves, 0, GENESIS_PREV, _digests(leaves)) is None
    assert check_run(leaves[:2], 0, GENESIS_PREV, _digests(leaves[:2])) is not None


@pytest.mark.parametrize(
    "ts",
    [
        "2026-11-23T08:30:00.000001Z",
        "2026-11-23T08:30:00+00:00",
        "2026-11-23T08:30:00",
        "2026-11-23t08:30:00z",
        "2026-02-30T08:30:00Z",
        "2026-11-23T24:00:00Z",
        "2026-11-23 08:30:00Z",
    ],
)
def test_run_refuses_every_other_spelling_of_a_time(ts: str) -> None:
    leaves = _chain(3)
    leaves[1] = _edit(leaves[1], ts=ts)
    assert check_run(leaves, 0, GENESIS_PREV, _digests(leaves)) is None
    assert check_leaf(leaves[1]) is None


def test_the_time_parser_reads_z_as_utc() -> None:
    (parsed,) = msgspec.convert(["2026-11-23T08:30:00Z"], list[datetime], strict=True)
    assert parsed == TS
    assert parsed.tzinfo is UTC
