"""Roster reading and row validation (no database)."""

from __future__ import annotations

import datetime as dt
import io
import os
import random
import uuid
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workforce import synth
from workforce.security import idnumber
from workforce.security.pii import PiiVault
from workforce.training import rosters
from workforce.training.models import Accreditation
from workforce.training.service import governing, in_force

TODAY = dt.date(2026, 11, 23)
VAULT = PiiVault(os.urandom(32), os.urandom(32))
COURSE = rosters.CourseInfo(uuid.uuid4(), "SK", "skills", "in_person", 80)


def validator(**kw: object) -> rosters.Validator:
    args: dict[str, object] = {
        "vault": VAULT,
        "courses": {"SK": COURSE},
        "accreditations": [
            rosters.AccreditationInfo(
                dt.date(2020, 1, 1), dt.date(2030, 12, 31), frozenset({"skills"})
            )
        ],
        "today": TODAY,
    }
    args.update(kw)
    return rosters.Validator(**args)  # type: ignore[arg-type]


def _verdict(fn, value: str) -> str:
    try:
        return "ok:" + fn(value)
    except (idnumber.InvalidIdNumber, rosters.RowRefused):
        return "refused"
    raise AssertionError


ID_CHARS = st.text(alphabet="0123456789X x１２", min_size=15, max_size=20)


@settings(max_examples=400, deadline=None)
@given(st.randoms(use_true_random=False), st.integers(0, 17), ID_CHARS)
def test_fast_id_path_agrees_with_gb11643_validate(
    rng: random.Random, position: int, noise: str
) -> None:
    v = validator()
    valid = synth.random_id_number(rng)
    candidates = [
        valid,
        valid.lower(),
        valid[:position] + str((int(valid[position]) + 1) % 10) + valid[position + 1 :]
        if valid[position].isdigit()
        else valid,
        valid[:6] + "20270101" + valid[14:],  # born in the future
        valid[:6] + "18991231" + valid[14:],  # before 1900
        valid[:6] + "20230230" + valid[14:],  # no such day
        "99" + valid[2:],
        noise,
    ]
    for candidate in candidates:
        fast = _verdict(v.id_number, candidate)
        slow = _verdict(lambda c: idnumber.validate(c, today=TODAY), candidate)
        assert fast == slow, candidate


def test_row_checks_in_order() -> None:
    v = validator()
    number = synth.random_id_number(random.Random(3))
    good = ("", "王芳", "SK", "2.5", "2025-03-01", "R1")

    def check(**changes: object) -> str:
        cells = dict(zip(rosters.COLUMNS, (number, *good[1:]), strict=True)) | changes
        out = v.prepare([rosters.RawRow(2, tuple(cells[c] for c in rosters.COLUMNS))])[0]  # type: ignore[misc]
        return out.code if isinstance(out, rosters.RowError) else "ok"

    assert check() == "ok"
    assert check(id_number="123") == "invalid_id_number"
    assert check(name=" ") == "invalid_name"
    assert check(hours="8.1") == "hours_exceed_course"
    assert check(hours="-1") == "invalid_hours"
    assert check(hours=0) == "invalid_hours"
    assert check(hours=True) == "invalid_hours"
    assert check(completed_on="2025-02-29") == "invalid_date"
    assert check(completed_on="2026-11-24") == "completed_in_future"
    assert check(completed_on="2019-12-31") == "outside_accreditation"
    assert check(external_ref="有中文") == "invalid_external_ref"
    assert check(course_code="NOPE") == "unknown_course"
    out = v.prepare(
        [
            rosters.RawRow(
                7, (number.lower(), " 王芳 ", "SK", 2.5, dt.datetime(2025, 3, 1, 9), " R9 ")
            )
        ]
    )[0]
    assert isinstance(out, rosters.Prepared)
    assert (out.id_number, out.name, out.tenths, out.day, out.ref) == (
        number,
        "王芳",
        25,
        dt.date(2025, 3, 1),
        "R9",
    )
    assert out.subject_key == VAULT.subject_key(number)


def test_out_of_scope_and_superseded_accreditation() -> None:
    v = validator(
        accreditations=[
            rosters.AccreditationInfo(
                dt.date(2020, 1, 1), dt.date(2030, 12, 31), frozenset({"skills"})
            ),
            rosters.AccreditationInfo(
                dt.date(2025, 1, 1), dt.date(2025, 6, 30), frozenset({"ethics"})
            ),
        ]
    )
    assert v.accreditation_on(dt.date(2024, 12, 31)) is not None  # the first still governs 2024
    assert v.accreditation_on(dt.date(2025, 7, 1)) is None  # the second supersedes from 2025 on
    number = synth.random_id_number(random.Random(4))
    out = v.prepare([rosters.RawRow(2, (number, "王芳", "SK", "1", "2025-03-01", "R"))])[0]
    assert isinstance(out, rosters.RowError) and out.code == "course_out_of_scope"


def test_governing_accreditation_semantics() -> None:
    def acc(start: str, end: str) -> Accreditation:
        return Accreditation(
            level="city",
            valid_from=dt.date.fromisoformat(start),
            valid_until=dt.date.fromisoformat(end),
            categories=["skills"],
            certificate_types=[],
        )

    history = [
        acc("2020-01-01", "2024-12-31"),
        acc("2025-01-01", "2027-12-31"),
        acc("2026-01-01", "2026-06-30"),
    ]
    assert governing(history, dt.date(2019, 1, 1)) is None
    assert in_force(history, dt.date(2024, 5, 1)) is history[0]
    assert in_force(history, dt.date(2025, 5, 1)) is history[1]
    assert in_force(history, dt.date(2026, 3, 1)) is history[2]
    assert governing(history, dt.date(2027, 1, 1)) is history[2]
    assert in_force(history, dt.date(2027, 1, 1)) is None  # the newest shortened it


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("身份证号,姓名\n".encode(), "utf-8"),
        (b"\xef\xbb\xbfid_number,name\n", "utf-8-sig"),
        ("身份证号,姓名\n欧阳娜娜,1\n".encode("gb18030"), "gb18030"),
        (b"id_number\n" + "张".encode("gb18030") * 3, "gb18030"),
    ],
)
def test_encoding_detection(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(content)
    assert rosters.detect_encoding(path) == expected


@pytest.mark.parametrize(
    ("content", "code"),
    [
        ("a,b\n".encode("utf-16"), "unsupported_encoding"),
        (b"name\nCaf\xe9\xff\n", "unsupported_encoding"),
        (b"id\x00\x01\x02", "unsupported_file_type"),
        (b"", "empty_file"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "unsupported_file_type"),
        (b"\n\n  \na,b,c\n", "missing_columns"),
    ],
)
def test_refused_files(tmp_path: Path, content: bytes, code: str) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(content)
    with pytest.raises(rosters.FileRefused) as refused:
        rosters.sniff(path)
    assert refused.value.code == code


def test_csv_rows_header_aliases_blank_lines_and_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        "\n外部编号, 学时 ,完成日期,姓名,课程代码,身份证号,备注\n"
        'R1,2,2025-01-01,王芳,SK,110101199001011234,"多行\n备注"\n'
        ",,,,,,\n"
        "R2,3,2025-01-02,李娜,SK,1101\n",
        encoding="utf-8",
    )
    assert rosters.sniff(path) == ("csv", "utf-8")
    rows = list(rosters.RowSource(path, "csv", "utf-8").rows())
    assert [r.line for r in rows] == [4, 6]
    assert rows[0].cells == ("110101199001011234", "王芳", "SK", "2", "2025-01-01", "R1")
    assert rows[1].cells[0] == "1101"


def test_xlsx_rows(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["id_number", "name", "course_code", "hours", "completed_on", "external_ref"])
    sheet.append([110101199001011234, "王芳", "SK", 2.5, dt.datetime(2025, 1, 1), 17])
    sheet.append([None, None, None, None, None, None])
    sheet.append([synth.random_id_number(random.Random(5)), "王芳", "SK", "1", "2025-01-02"])
    path = tmp_path / "r.xlsx"
    buffer = io.BytesIO()
    book.save(buffer)
    path.write_bytes(buffer.getvalue())
    assert rosters.sniff(path) == ("xlsx", None)
    rows = list(rosters.RowSource(path, "xlsx", None).rows())
    assert [r.line for r in rows] == [2, 4]
    assert isinstance(rows[0].cells[0], float) and rows[1].cells[5] is None  # Excel kept 15 digits
    prepared = validator().prepare(rows)
    assert isinstance(prepared[0], rosters.RowError) and prepared[0].code == "invalid_id_number"
    assert "text" in prepared[0].detail
    assert isinstance(prepared[1], rosters.RowError) and prepared[1].code == "invalid_external_ref"


ROW_CELLS = st.tuples(
    st.sampled_from(["110101199001011237", " 110101199001011237", "110101199001011234", "x", ""]),
    st.sampled_from(["王芳", " 王芳 ", "", "李" * 51]),
    st.sampled_from(["SK", " SK", "ETH", "NOPE", "SK "]),
    st.sampled_from(["2", "2.5", "0", "9", "abc", "8.0", "2.55"]),
    st.sampled_from(["2025-03-01", "2019-12-31", "2031-01-01", "2026-11-24", "bad", "2025/3/1"]),
    st.sampled_from(["R1", " R2 ", "", "空"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(ROW_CELLS, min_size=1, max_size=30))
def test_remembered_cells_give_the_same_verdicts(rows: list[tuple[str, ...]]) -> None:
    """prepare()'s fast path (cells seen before) accepts and refuses exactly as _prepare."""
    eth = rosters.CourseInfo(uuid.uuid4(), "ETH", "ethics", "online", 80)
    padded = rosters.CourseInfo(uuid.uuid4(), "SK ", "skills", "online", 10)
    courses = {"SK": COURSE, "ETH": eth, "SK ": padded}
    raw = [rosters.RawRow(i + 2, cells) for i, cells in enumerate(rows)]
    warm = validator(courses=courses)
    first = warm.prepare(raw)
    second = warm.prepare(raw)  # every valid cell is now remembered
    for row, a, b in zip(raw, first, second, strict=True):
        alone = validator(courses=courses).prepare([row])[0]
        assert a == alone == b, row


PLAIN_CELL = st.text(alphabet=st.sampled_from(list("0123456789XAR-. 王芳李娜\t课程")), max_size=8)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.lists(PLAIN_CELL, min_size=0, max_size=8), max_size=12),
    st.sampled_from(["\n", "\r\n"]),
    st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]),
    st.booleans(),
)
def test_plain_csv_reader_reads_what_csv_reads(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[list[str]],
    newline: str,
    encoding: str,
    final_newline: bool,
) -> None:
    """The fast reader of quote-free files yields exactly the csv module's rows and lines."""
    header = "外部编号,学时,完成日期,姓名,课程代码,身份证号,备注"
    text = newline.join([header, *(",".join(r) for r in rows)]) + (newline if final_newline else "")
    path = tmp_path_factory.mktemp("plain") / "r.csv"
    path.write_bytes(text.encode(encoding))
    assert rosters._plain_csv(path)
    source = rosters.RowSource(path, "csv", encoding)
    assert list(source._plain_csv_rows()) == list(source._quoted_csv_rows())


def test_quotes_or_bare_cr_take_the_csv_module(tmp_path: Path) -> None:
    quoted = tmp_path / "q.csv"
    quoted.write_text('id_number,name\n"1,2",x\n', encoding="utf-8")
    bare_cr = tmp_path / "r.csv"
    bare_cr.write_bytes(b"id_number,name\r1,x\r\n")
    plain = tmp_path / "p.csv"
    plain.write_bytes(b"id_number,name\r\n1,x\r\n")
    assert not rosters._plain_csv(quoted)
    assert not rosters._plain_csv(bare_cr)
    assert rosters._plain_csv(plain)
