"""The fast path of ``ledger verify`` agrees with ``parse_entry``: what it accepts, ``parse_entry``
accepts with the same ``seq``, ``prev`` and ``ts``; what it refuses is left to ``parse_entry``."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, date, datetime

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
from workforce.ledger.fastcheck import (
    RunCheck,
    check_leaf,
    check_run,
    compiled_check_run,
    python_check_run,
)
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
    "invalid_utf8": lambda b: b.replace(b'"case"', b'"\x80ase"'),
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

NOT_BUILT = "workforce.ledger._leafcheck is not built (no C compiler at install?): Python path only"
RUN_CHECKS = [
    pytest.param(check_run, id="check_run"),
    pytest.param(python_check_run, id="python"),
    pytest.param(
        compiled_check_run,
        id="compiled",
        marks=pytest.mark.skipif(compiled_check_run is None, reason=NOT_BUILT),
    ),
]


def _digests(leaves: list[bytes]) -> list[bytes]:
    return [bytes(leaf_hash(leaf)) for leaf in leaves]


@pytest.mark.parametrize("run", RUN_CHECKS)
def test_run_accepts_a_valid_chain_and_gives_each_ts(run: RunCheck) -> None:
    leaves = _chain(12)
    assert run(leaves, 0, GENESIS_PREV, _digests(leaves)) == ["2026-11-23T08:30:00Z"] * 12
    tail = leaves[5:]
    prev = leaf_hash(leaves[4]).hex()
    assert run(tail, 5, prev, _digests(tail)) == ["2026-11-23T08:30:00Z"] * 7
    assert run([], 3, prev, []) == []


@pytest.mark.parametrize("run", RUN_CHECKS)
@pytest.mark.parametrize("name", BAD)
def test_run_refuses_what_parse_entry_refuses(run: RunCheck, name: str) -> None:
    leaves = _chain(6)
    leaves[4] = BAD[name](leaves[4])
    assert run(leaves, 0, GENESIS_PREV, _digests(leaves)) is None


@pytest.mark.parametrize("run", RUN_CHECKS)
def test_run_refuses_a_broken_chain_or_wrong_seqs(run: RunCheck) -> None:
    leaves = _chain(6)
    digests = _digests(leaves)
    assert run(leaves, 1, GENESIS_PREV, digests) is None
    assert run(leaves[1:], 1, GENESIS_PREV, digests[1:]) is None
    assert run(leaves[1:], 1, digests[0].hex().upper(), digests[1:]) is None
    assert run(leaves, 0, GENESIS_PREV, [digests[0], bytes(32), *digests[2:]]) is None
    swapped = [leaves[0], leaves[2], leaves[1], *leaves[3:]]
    assert run(swapped, 0, GENESIS_PREV, _digests(swapped)) is None


@pytest.mark.parametrize("run", RUN_CHECKS)
def test_run_leaves_a_correction_to_the_per_leaf_path(run: RunCheck) -> None:
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
    assert run(leaves, 0, GENESIS_PREV, _digests(leaves)) is None
    assert run(leaves[:2], 0, GENESIS_PREV, _digests(leaves[:2])) is not None


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
@pytest.mark.parametrize("run", RUN_CHECKS)
def test_run_refuses_every_other_spelling_of_a_time(run: RunCheck, ts: str) -> None:
    leaves = _chain(3)
    leaves[1] = _edit(leaves[1], ts=ts)
    assert run(leaves, 0, GENESIS_PREV, _digests(leaves)) is None
    assert check_leaf(leaves[1]) is None


def test_the_time_parser_reads_z_as_utc() -> None:
    (parsed,) = msgspec.convert(["2026-11-23T08:30:00Z"], list[datetime], strict=True)
    assert parsed == TS
    assert parsed.tzinfo is UTC


# --- the compiled scan, the Python run check and parse_entry agree ------------------------------
#
# For any bytes, seq and prev: the compiled scan and ``python_check_run`` give the same answer,
# and what they accept ``parse_entry`` accepts as a ban with that seq, prev and ts; what they
# refuse ``parse_entry`` refuses, or reads as something else (a correction, another seq or prev).

needs_compiled = pytest.mark.skipif(compiled_check_run is None, reason=NOT_BUILT)
MAX_SEQ = (1 << 53) - 1


def _agree(leaf: bytes, seq: int, prev: str) -> list[str] | None:
    """Check the agreement on one leaf; the stamps both checks give (the Python run check alone
    when the extension is not built)."""
    stamps = python_check_run([leaf], seq, prev, [])
    if compiled_check_run is not None:
        assert compiled_check_run([leaf], seq, prev, []) == stamps, leaf
    try:
        entry = parse_entry(leaf)
    except EntryError:
        assert stamps is None, leaf
        return None
    if stamps is not None:
        assert entry.type == "ban", leaf
        assert (entry.seq, entry.prev) == (seq, prev), leaf
        assert stamps == [msgspec.json.encode(entry.ts).decode().strip('"')], leaf
    else:
        assert entry.type != "ban" or (entry.seq, entry.prev) != (seq, prev), leaf
    return stamps


def _fields(leaf: bytes) -> tuple[int, str]:
    entry = parse_entry(leaf)
    return entry.seq, entry.prev


_VALID = [
    encode_entry(_ban(0, GENESIS_PREV)),
    encode_entry(_ban(7, _h("p"), kind="fixed_term", until=date(2028, 2, 29))),
    encode_entry(_ban(MAX_SEQ, _h("q"), issuer=Issuer(org="Z9._:-" + "x" * 58, region="000000"))),
]


@pytest.mark.parametrize("leaf", _VALID)
def test_checks_agree_on_every_single_byte_change(leaf: bytes) -> None:
    """Every byte replaced by every other byte, every byte deleted, and a byte inserted
    everywhere (from a set that reaches every branch of the scan)."""
    seq, prev = _fields(leaf)
    assert _agree(leaf, seq, prev) is not None
    accepted = 0
    for at in range(len(leaf)):
        for value in range(256):
            if value != leaf[at]:
                accepted += (
                    _agree(leaf[:at] + bytes([value]) + leaf[at + 1 :], seq, prev) is not None
                )
        _agree(leaf[:at] + leaf[at + 1 :], seq, prev)
    for at in range(len(leaf) + 1):
        for value in b' "\\,:{}0a_AZz-.\x00\x7f\x80\xc3\xff':
            _agree(leaf[:at] + bytes([value]) + leaf[at:], seq, prev)
    assert accepted  # a hex digit for another, a letter of the org or reason: still valid


@needs_compiled
def test_compiled_refuses_out_of_range_arguments() -> None:
    leaf = _VALID[0]
    assert compiled_check_run is not None
    assert compiled_check_run([leaf], 0, GENESIS_PREV, []) is not None
    assert compiled_check_run([leaf], -1, GENESIS_PREV, []) is None
    assert compiled_check_run([leaf], 1 << 70, GENESIS_PREV, []) is None
    assert compiled_check_run([leaf], 0, GENESIS_PREV[:-1], []) is None
    assert compiled_check_run([leaf], 0, GENESIS_PREV + "\ud800", []) is None
    assert compiled_check_run([bytearray(leaf)], 0, GENESIS_PREV, []) is None  # type: ignore[list-item]
    leaves = _chain(3)
    digests = _digests(leaves)
    assert compiled_check_run(leaves, 0, GENESIS_PREV, digests[:1]) is None  # too few
    assert compiled_check_run(leaves, 0, GENESIS_PREV, [digests[0], digests[1][:31]]) is None
    last = _VALID[2]
    assert compiled_check_run([last], MAX_SEQ, _h("q"), []) is not None
    assert compiled_check_run([last, last], MAX_SEQ, _h("q"), [bytes(32)]) is None  # past 2**53 - 1
    with pytest.raises(TypeError):
        compiled_check_run(None, 0, GENESIS_PREV, [])  # type: ignore[arg-type]


_hex = st.text("0123456789abcdef", min_size=64, max_size=64)
_when = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59))
_seq = st.one_of(st.integers(0, 3), st.integers(0, MAX_SEQ))
_VALID_FIELDS: dict[str, st.SearchStrategy[object]] = {
    "hex": _hex,
    "reason_code": st.from_regex(r"[a-z][a-z0-9_]{0,63}", fullmatch=True),
    "org": st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}", fullmatch=True),
    "region": st.from_regex(r"[0-9]{6}", fullmatch=True),
    "ts": _when.map(lambda t: t.replace(microsecond=0).isoformat() + "Z"),
    "until": st.dates().map(date.isoformat),
}
_BROKEN_FIELDS: dict[str, st.SearchStrategy[object]] = {
    "hex": st.one_of(st.text("0123456789abcdefABCDEF", min_size=63, max_size=65), st.text()),
    "reason_code": st.one_of(st.text(max_size=66), st.integers()),
    "org": st.text(max_size=66),
    "region": st.one_of(st.text(max_size=7), st.integers(0, 999999)),
    "ts": st.one_of(
        _when.map(lambda t: t.isoformat() + "Z"),
        _when.map(lambda t: t.replace(tzinfo=UTC).isoformat()),
        st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z", fullmatch=True),
        st.text(max_size=22),
    ),
    "until": st.one_of(
        st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", fullmatch=True), st.text(max_size=11)
    ),
    "seq": st.one_of(st.integers(MAX_SEQ - 1, 1 << 64), st.integers(max_value=0), st.text()),
    "v": st.sampled_from([2, 0, "1", 1.0, True, None]),
    "type": st.sampled_from(["correction", "Ban", "ban ", ""]),
    "kind": st.sampled_from(["other", None, "Lifetime", 1]),
}


@st.composite
def _entry_dicts(draw: st.DrawFn) -> dict[str, object]:
    """Ban-like objects: valid bans or bans with one to three fields malformed, missing or
    swapped (then often valid again: another seq, the other kind, no until)."""
    broken = draw(st.sets(st.sampled_from(sorted(_BROKEN_FIELDS)), max_size=3))

    def field(name: str) -> object:
        return draw(_BROKEN_FIELDS[name] if name in broken else _VALID_FIELDS[name])

    seq = draw(_BROKEN_FIELDS["seq"] if "seq" in broken else _seq)
    kind = (
        draw(_BROKEN_FIELDS["kind"])
        if "kind" in broken
        else draw(st.sampled_from(["lifetime", "fixed_term"]))
    )
    data: dict[str, object] = {
        "v": draw(_BROKEN_FIELDS["v"]) if "v" in broken else 1,
        "type": draw(_BROKEN_FIELDS["type"]) if "type" in broken else "ban",
        "seq": seq,
        "prev": GENESIS_PREV if seq == 0 or draw(st.integers(0, 9)) == 0 else field("hex"),
        "ts": field("ts"),
        "subject": field("hex"),
        "kind": kind,
        "until": field("until") if kind == "fixed_term" or "until" in broken else None,
        "reason_code": field("reason_code"),
        "issuer": {"org": field("org"), "region": field("region")},
        "decision": field("hex"),
        "case": field("hex"),
    }
    for key in draw(st.sets(st.sampled_from(sorted(data)), max_size=1)):
        del data[key]
    return data


@settings(max_examples=1500, deadline=None)
@given(data=_entry_dicts(), prev_from_leaf=st.booleans(), first=_BROKEN_FIELDS["seq"] | _seq)
def test_checks_agree_on_generated_entries(
    data: dict[str, object], prev_from_leaf: bool, first: object
) -> None:
    leaf = msgspec.json.encode(data, order="sorted")  # the canonical bytes, escapes and all
    claimed = data.get("seq")
    seq = claimed if prev_from_leaf and isinstance(claimed, int) else first
    if not isinstance(seq, int):
        return
    prev = data.get("prev")
    _agree(leaf, seq, prev if isinstance(prev, str) else GENESIS_PREV)


@settings(max_examples=500, deadline=None)
@given(data=_entry_dicts(), cut=st.integers(0, 400), junk=st.binary(max_size=4))
def test_checks_agree_on_spliced_bytes(data: dict[str, object], cut: int, junk: bytes) -> None:
    leaf = msgspec.json.encode(data, order="sorted")
    seq = data.get("seq")
    prev = data.get("prev")
    if isinstance(seq, int) and isinstance(prev, str):
        _agree(leaf[:cut] + junk + leaf[cut + len(junk) :], seq, prev)


@pytest.mark.parametrize(
    ("day", "valid"),
    [
        ("2024-02-29", True),
        ("2000-02-29", True),
        ("1900-02-29", False),
        ("2023-02-29", False),
        ("2026-04-31", False),
        ("2026-12-31", True),
        ("2026-13-01", False),
        ("2026-00-10", False),
        ("2026-01-00", False),
        ("0000-01-01", False),
        ("0001-01-01", True),
        ("9999-12-31", True),
    ],
)
def test_checks_know_the_calendar(day: str, valid: bool) -> None:
    for stamp, until in [(f"{day}T00:00:00Z", "2030-01-01"), ("2026-01-01T23:59:59Z", day)]:
        leaf = _edit(
            encode_entry(_ban(3, _h("p"), kind="fixed_term", until=date(2030, 1, 1))),
            ts=stamp,
            until=until,
        )
        assert (_agree(leaf, 3, _h("p")) is not None) is valid
    for clock, ok in [
        ("23:59:59", True),
        ("23:59:60", False),
        ("24:00:00", False),
        ("00:60:00", False),
    ]:
        leaf = _edit(_VALID[0], ts=f"2026-01-01T{clock}Z")
        assert (_agree(leaf, 0, GENESIS_PREV) is not None) is ok


@pytest.mark.parametrize(
    "changes",
    [
        {"reason_code": "child_abuse\u00e9"},
        {"reason_code": "child\nabuse"},
        {"reason_code": 'child"abuse'},
        {"issuer": {"org": "reg\\1", "region": "320000"}},
        {"issuer": {"org": "reg-1", "region": "３２００００"}},
        {"issuer": {"org": "reg-\u2028", "region": "320000"}},
        {"issuer": {"org": "", "region": "320000"}},
        {"issuer": {"org": "x" * 65, "region": "320000"}},
        {"reason_code": "a" * 65},
        {"reason_code": "_abuse"},
        {"seq": 1},
        {"v": 1.0},
        {"until": None, "kind": "fixed_term"},
    ],
)
def test_checks_refuse_non_ascii_escapes_and_bad_formats(changes: dict[str, object]) -> None:
    leaf = _edit(_VALID[0], **changes)
    assert _agree(leaf, 0, GENESIS_PREV) is None
