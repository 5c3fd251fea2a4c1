"""Entries: canonical JSON bytes, schema v1, commitments and the status fold."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from workforce.ledger.entry import (
    GENESIS_PREV,
    MAX_SAFE_INTEGER,
    NOT_BANNED,
    Corrects,
    Entry,
    Issuer,
    SubjectStatus,
    commit,
    decode_entry,
    encode_entry,
    entry_leaf_hash,
    fold_status,
    new_salt,
    normalize_value,
    open_commitment,
    parse_entry,
)
from workforce.ledger.errors import EntryError
from workforce.ledger.merkle import leaf_hash

if TYPE_CHECKING:
    from collections.abc import Callable

SALT = bytes(range(32))
ID_NUMBER = "11010519491231002X"
SUBJECT = commit("subject", SALT, ID_NUMBER)
DECISION = commit("decision", SALT, "京民政禁字2025第1号")
CASE = commit("case", SALT, "(2025)京0105行初1号")
ISSUER = Issuer(org="org-0001", region="110105")
T0 = datetime(2025, 3, 1, 8, 30, tzinfo=UTC)
CHAIN = "ab" * 32


def _ban(
    seq: int = 0,
    *,
    kind: Any = "lifetime",
    until: date | None = None,
    ts: datetime = T0,
) -> Entry:
    return Entry(
        v=1,
        type="ban",
        seq=seq,
        prev=GENESIS_PREV if seq == 0 else CHAIN,
        ts=ts,
        subject=SUBJECT,
        kind=kind,
        until=until,
        reason_code="child_abuse",
        issuer=ISSUER,
        decision=DECISION,
        case=CASE,
    )


def _correction(
    seq: int,
    ban: Entry,
    effect: Any,
    *,
    ts: datetime,
    kind: Any = None,
    until: date | None = None,
    leaf: str | None = None,
) -> Entry:
    return Entry(
        v=1,
        type="correction",
        seq=seq,
        prev=CHAIN,
        ts=ts,
        subject=SUBJECT,
        kind=kind,
        until=until,
        reason_code="appeal_upheld",
        issuer=ISSUER,
        decision=DECISION,
        case=CASE,
        corrects=Corrects(seq=ban.seq, leaf_hash=leaf or entry_leaf_hash(ban).hex()),
        effect=effect,
    )


# --- canonical JSON -------------------------------------------------------------------------


def test_generic_encoding_is_sorted_compact_utf8() -> None:
    value = {"b": "托育", "a": {"d": None, "c": -5}, "a_b": 0}
    assert encode_entry(value) == '{"a":{"c":-5,"d":null},"a_b":0,"b":"托育"}'.encode()
    assert decode_entry(encode_entry(value)) == value


def test_string_escapes_follow_rfc_8785() -> None:
    value = {"s": '\x00\x08\t\n\x0c\r\x1f"\\/\x7f\u2028é😀'}
    expected = '{"s":"\\u0000\\b\\t\\n\\f\\r\\u001f\\"\\\\/\x7f\u2028é😀"}'.encode()
    assert encode_entry(value) == expected
    assert decode_entry(expected) == value


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ({"a": 1.5}, "float"),
        ({"a": True}, "booleans"),
        ({"a": [1]}, "list"),
        ({"a": b"x"}, "bytes"),
        ({"a": MAX_SAFE_INTEGER + 1}, "integer outside"),
        ({"a": -MAX_SAFE_INTEGER - 1}, "integer outside"),
        ({"A": 1}, "key 'A'"),
        ({"a-b": 1}, "key 'a-b'"),
        ({"": 1}, "key ''"),
        ({1: 1}, "key 1"),
        ({"a": "\ud800"}, "surrogate"),
        ({"a": {"a": {"a": {"a": {"a": {"a": {"a": {"a": {}}}}}}}}}, "nested deeper"),
    ],
)
def test_encoding_rejects_values_outside_the_subset(value: Any, match: str) -> None:
    with pytest.raises(EntryError, match=match):
        encode_entry(value)


@pytest.mark.parametrize(
    "data",
    [
        b'{"a": 1}',
        b'{"b":1,"a":1}',
        b'{"a":"\\u00e9"}',
        b'{"a":"\\u001F"}',
        b'{"a":"\\/"}',
        b'{"a":1.0}',
        b'{"a":1e2}',
        b'{"a":-0}',
        b'{"a":01}',
        b'{"a":1,"a":1}',
        b'{"a":1}\n',
        b' {"a":1}',
        b'\xef\xbb\xbf{"a":1}',
        b'{"a":"\xff"}',
        b'{"a":"\\ud800"}',
        b'{"a":true}',
        b'{"a":[]}',
        b'{"a":9007199254740992}',
        b'{"A":1}',
        b"[1]",
        b'"a"',
        b"",
    ],
)
def test_decoding_rejects_non_canonical_bytes(data: bytes) -> None:
    with pytest.raises(EntryError):
        decode_entry(data)


# --- schema v1 ------------------------------------------------------------------------------

BAN_BYTES = (
    '{"case":"' + CASE + '","decision":"' + DECISION + '",'
    '"issuer":{"org":"org-0001","region":"110105"},"kind":"lifetime",'
    '"prev":"' + GENESIS_PREV + '","reason_code":"child_abuse","seq":0,'
    '"subject":"' + SUBJECT + '","ts":"2025-03-01T08:30:00Z","type":"ban","until":null,"v":1}'
).encode()


def test_ban_bytes_are_pinned() -> None:
    ban = _ban()
    assert encode_entry(ban) == BAN_BYTES
    assert parse_entry(BAN_BYTES) == ban
    assert entry_leaf_hash(ban) == leaf_hash(BAN_BYTES)
    assert encode_entry(decode_entry(BAN_BYTES)) == BAN_BYTES


def test_entries_round_trip() -> None:
    ban = _ban(3, kind="fixed_term", until=date(2030, 2, 28))
    corrections = [
        _correction(9, ban, "quashed", ts=T0 + timedelta(days=30)),
        _correction(9, ban, "amended", ts=T0, kind="lifetime"),
        _correction(9, ban, "amended", ts=T0, kind="fixed_term", until=date(2027, 1, 1)),
    ]
    for entry in (ban, *corrections):
        data = encode_entry(entry)
        assert parse_entry(data) == entry
        assert encode_entry(parse_entry(data)) == data
    data = encode_entry(corrections[0])
    assert b'"corrects":{"leaf_hash":"' in data
    assert b'"effect":"quashed"' in data
    assert b"corrects" not in encode_entry(ban)


def _mutated(change: Callable[[dict[str, Any]], None], base: Entry | None = None) -> bytes:
    value = decode_entry(encode_entry(base or _ban(5, kind="fixed_term", until=date(2030, 1, 1))))
    change(value)
    return encode_entry(value)


def _set(key: str, item: Any) -> Callable[[dict[str, Any]], None]:
    return lambda value: value.__setitem__(key, item)


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda value: value.pop(key)


CORRECTION = _correction(6, _ban(5), "quashed", ts=T0)
SCHEMA_VIOLATIONS: dict[str, tuple[Callable[[dict[str, Any]], None], Entry | None, str]] = {
    "version 2": (_set("v", 2), None, r"\$\.v"),
    "unknown type": (_set("type", "warning"), None, r"\$\.type"),
    "negative seq": (_set("seq", -1), None, r"\$\.seq"),
    "uppercase prev": (_set("prev", "AB" * 32), None, "prev must be 64 lowercase hex"),
    "non-hex case": (_set("case", "g" * 64), None, "case must be 64 lowercase hex"),
    "spaced decision": (_set("decision", "ab " * 21 + "a"), None, "decision must be 64"),
    "uppercase corrected hash": (
        _set("corrects", {"seq": 5, "leaf_hash": "AB" * 32}),
        CORRECTION,
        "corrects.leaf_hash",
    ),
    "short subject": (_set("subject", "a" * 63), None, r"\$\.subject"),
    "prev with newline": (_set("prev", "ab" * 32 + "\n"), None, r"\$\.prev"),
    "genesis prev after 0": (_set("prev", GENESIS_PREV), None, "GENESIS_PREV"),
    "fractional ts": (_set("ts", "2025-03-01T08:30:00.5Z"), None, "whole seconds"),
    "ts with offset": (_set("ts", "2025-03-01T16:30:00+08:00"), None, "UTC"),
    "ts +00:00": (_set("ts", "2025-03-01T08:30:00+00:00"), None, "not canonical"),
    "naive ts": (_set("ts", "2025-03-01T08:30:00"), None, "UTC"),
    "impossible ts": (_set("ts", "2025-02-30T08:30:00Z"), None, r"\$\.ts"),
    "impossible until": (_set("until", "2030-02-30"), None, r"\$\.until"),
    "until with time": (_set("until", "2030-01-01T00:00:00Z"), None, r"\$\.until"),
    "unknown kind": (_set("kind", "temporary"), None, r"\$\.kind"),
    "fixed term without until": (_set("until", None), None, "until is required"),
    "lifetime with until": (_set("kind", "lifetime"), None, "until is required"),
    "ban without kind": (_set("kind", None), None, "kind is required"),
    "five-digit region": (_set("issuer", {"org": "o", "region": "11010"}), None, "region"),
    "empty org": (_set("issuer", {"org": "", "region": "110105"}), None, "org"),
    "free-text reason": (_set("reason_code", "Hit a child"), None, "reason_code"),
    "unknown field": (_set("name", "张三"), None, "unknown field"),
    "missing field": (_drop("case"), None, "missing required field"),
    "ban with effect": (_set("effect", "quashed"), None, "no corrects or effect"),
    "quash with kind": (_set("kind", "lifetime"), CORRECTION, "null kind and until"),
    "correction without effect": (_drop("effect"), CORRECTION, "needs corrects and effect"),
    "correction of a later entry": (
        _set("corrects", {"seq": 6, "leaf_hash": "ab" * 32}),
        CORRECTION,
        "must follow",
    ),
}


@pytest.mark.parametrize(
    ("change", "base", "match"), SCHEMA_VIOLATIONS.values(), ids=SCHEMA_VIOLATIONS.keys()
)
def test_schema_violations_are_rejected(
    change: Callable[[dict[str, Any]], None], base: Entry | None, match: str
) -> None:
    with pytest.raises(EntryError, match=match):
        parse_entry(_mutated(change, base))


def test_constructed_entries_are_fully_checked_when_encoded() -> None:
    with pytest.raises(EntryError, match="until is required"):
        _ban(kind="lifetime", until=date(2030, 1, 1))
    with pytest.raises(EntryError, match="UTC"):
        _ban(ts=T0.replace(tzinfo=None))
    with pytest.raises(EntryError, match="whole seconds"):
        _ban(ts=T0.replace(microsecond=1))
    with pytest.raises(EntryError, match=r"issuer\.region"):
        Issuer(org="o", region="1")
    with pytest.raises(EntryError, match="subject must be 64 lowercase hex"):
        Entry(**{**_fields(_ban()), "subject": "A" * 64})
    unknown_kind = Entry(**{**_fields(_ban()), "kind": "forever"})  # types are checked on encode
    with pytest.raises(EntryError, match=r"\$\.kind"):
        encode_entry(unknown_kind)


def _fields(entry: Entry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in entry.__struct_fields__}


# --- commitments ----------------------------------------------------------------------------


def test_commitment_definition() -> None:
    expected = hashlib.sha256(b"workforce/subject/v1" + SALT + ID_NUMBER.encode()).hexdigest()
    assert commit("subject", SALT, ID_NUMBER) == expected == SUBJECT


def test_commitments_open() -> None:
    assert open_commitment(SUBJECT, "subject", SALT, ID_NUMBER)
    assert open_commitment(DECISION, "decision", SALT, "京民政禁字2025第1号")
    assert open_commitment(CASE, "case", SALT, "(2025)京0105行初1号")


FULL_WIDTH = "".join(chr(ord(char) + 0xFEE0) for char in ID_NUMBER)  # the full-width forms


@pytest.mark.parametrize("variant", ["11010519491231002x", " 110105 19491231 002X ", FULL_WIDTH])
def test_normalization_makes_spelling_irrelevant(variant: str) -> None:
    assert normalize_value(variant) == ID_NUMBER
    assert open_commitment(SUBJECT, "subject", SALT, variant)


def test_commitments_do_not_open_with_other_inputs() -> None:
    assert not open_commitment(SUBJECT, "subject", SALT, "110105194912310037")
    assert not open_commitment(SUBJECT, "subject", new_salt(), ID_NUMBER)
    assert not open_commitment(SUBJECT, "case", SALT, ID_NUMBER)
    assert not open_commitment(SUBJECT, "subject", SALT, "  ")
    assert commit("case", SALT, "x") != commit("decision", SALT, "x")


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: commit("name", SALT, "x"), "unknown commitment domain"),
        (lambda: commit("subject", SALT[:31], "x"), "32 bytes"),
        (lambda: commit("subject", SALT, " \u3000"), "empty"),
        (lambda: commit("subject", SALT, "\ud800"), "surrogate"),
        (lambda: open_commitment(SUBJECT, "name", SALT, "x"), "unknown commitment domain"),
        (lambda: open_commitment(SUBJECT, "subject", b"", "x"), "32 bytes"),
    ],
)
def test_commitment_errors(call: Callable[[], object], match: str) -> None:
    with pytest.raises(EntryError, match=match):
        call()


def test_new_salt() -> None:
    assert len(new_salt()) == 32
    assert new_salt() != new_salt()


# --- status fold ----------------------------------------------------------------------------

DAY0 = T0.date()


def _status(*entries: Entry, on: date) -> SubjectStatus:
    return fold_status(entries, on)


def test_no_entries_is_not_banned() -> None:
    assert fold_status([], DAY0) == NOT_BANNED
    assert not NOT_BANNED.banned


def test_lifetime_ban_never_expires() -> None:
    ban = _ban(0)
    expected = SubjectStatus(banned=True, kind="lifetime", since=DAY0, active_entry_seq=0)
    assert _status(ban, on=DAY0) == expected
    assert _status(ban, on=date(9999, 12, 31)) == expected


def test_fixed_term_ban_ends_after_its_until_day() -> None:
    ban = _ban(0, kind="fixed_term", until=date(2026, 3, 1))
    assert _status(ban, on=date(2026, 3, 1)) == SubjectStatus(
        banned=True, kind="fixed_term", since=DAY0, until=date(2026, 3, 1), active_entry_seq=0
    )
    assert _status(ban, on=date(2026, 3, 2)) == NOT_BANNED


def test_entries_after_today_are_ignored() -> None:
    ban = _ban(0)
    assert _status(ban, on=DAY0 - timedelta(days=1)) == NOT_BANNED


def test_quashed_ban_ends_on_the_correction_day() -> None:
    ban = _ban(0)
    quash = _correction(1, ban, "quashed", ts=T0 + timedelta(days=10))
    assert _status(ban, quash, on=DAY0 + timedelta(days=9)).banned
    assert _status(ban, quash, on=DAY0 + timedelta(days=10)) == NOT_BANNED
    assert _status(quash, ban, on=date(2090, 1, 1)) == NOT_BANNED


def test_amendment_replaces_kind_and_until() -> None:
    ban = _ban(0, kind="fixed_term", until=date(2026, 1, 1))
    longer = _correction(1, ban, "amended", ts=T0 + timedelta(days=5), kind="lifetime")
    assert _status(ban, longer, on=date(2040, 1, 1)) == SubjectStatus(
        banned=True, kind="lifetime", since=DAY0, active_entry_seq=0
    )
    assert _status(ban, longer, on=DAY0 + timedelta(days=4)).kind == "fixed_term"
    lifetime = _ban(0)
    shorter = _correction(
        1, lifetime, "amended", ts=T0, kind="fixed_term", until=date(2025, 12, 31)
    )
    assert _status(lifetime, shorter, on=date(2025, 12, 31)).until == date(2025, 12, 31)
    assert _status(lifetime, shorter, on=date(2026, 1, 1)) == NOT_BANNED


def test_strongest_ban_wins() -> None:
    short = _ban(0, kind="fixed_term", until=date(2026, 1, 1))
    long = _ban(1, kind="fixed_term", until=date(2030, 1, 1), ts=T0 + timedelta(days=1))
    life = _ban(2, ts=T0 + timedelta(days=2))
    assert _status(short, long, on=DAY0 + timedelta(days=1)).active_entry_seq == 1
    assert _status(short, long, life, on=DAY0 + timedelta(days=2)).active_entry_seq == 2
    assert _status(short, long, life, on=DAY0).active_entry_seq == 0
    same = _ban(3, kind="fixed_term", until=date(2030, 1, 1), ts=T0 + timedelta(days=3))
    assert _status(same, long, on=date(2029, 1, 1)).active_entry_seq == 1
    quash_life = _correction(4, life, "quashed", ts=T0 + timedelta(days=4))
    status = _status(short, long, life, quash_life, on=DAY0 + timedelta(days=4))
    assert (status.kind, status.until, status.active_entry_seq) == (
        "fixed_term",
        date(2030, 1, 1),
        1,
    )


@pytest.mark.parametrize(
    ("entries", "match"),
    [
        (lambda: [_ban(0), _ban(0)], "appears twice"),
        (lambda: [_ban(1), _correction(2, _ban(0), "quashed", ts=T0)], "not a ban"),
        (
            lambda: [_ban(0), _correction(1, _ban(0), "quashed", ts=T0, leaf="cd" * 32)],
            "wrong leaf hash",
        ),
        (
            lambda: [
                _ban(0),
                _correction(1, _ban(0), "quashed", ts=T0),
                _correction(2, _ban(0), "amended", ts=T0, kind="lifetime"),
            ],
            "already quashed",
        ),
        (
            lambda: [
                _ban(0),
                c := _correction(1, _ban(0), "quashed", ts=T0),
                _correction(2, c, "quashed", ts=T0),
            ],
            "not a ban",
        ),
    ],
)
def test_fold_rejects_inconsistent_entries(entries: Callable[[], list[Entry]], match: str) -> None:
    with pytest.raises(EntryError, match=match):
        fold_status(entries(), DAY0)
