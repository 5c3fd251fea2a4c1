"""Reading roster files: format and encoding detection, headers, rows, per-row validation.

Pure of the database: everything here runs in a worker thread, a chunk at a time, so that a
file of any size is streamed (never held in memory) and the event loop stays free.

* CSV: UTF-8 (with or without BOM) tried strictly first, else GB18030; anything else
  (UTF-16, binary, Latin-1…) is refused with ``unsupported_encoding``.
* XLSX: openpyxl in read-only (streaming) mode, first worksheet.
* Columns ``id_number, name, course_code, hours, completed_on, external_ref`` or their Chinese
  names (身份证号, 姓名, 课程代码, 学时, 完成日期, 外部编号), in any order; the header is the
  first non-blank line, which is line 1 when the file does not start with blank lines.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import operator
import re
import unicodedata
import uuid
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, NamedTuple

from workforce.rules.engine import HoursError, parse_hours
from workforce.security import idnumber
from workforce.security.pii import PiiVault

COLUMNS: Final = ("id_number", "name", "course_code", "hours", "completed_on", "external_ref")
HEADER_ALIASES: Final = {
    "id_number": "id_number",
    "身份证号": "id_number",
    "身份证号码": "id_number",
    "公民身份号码": "id_number",
    "name": "name",
    "姓名": "name",
    "course_code": "course_code",
    "课程代码": "course_code",
    "课程编号": "course_code",
    "hours": "hours",
    "学时": "hours",
    "completed_on": "completed_on",
    "完成日期": "completed_on",
    "external_ref": "external_ref",
    "外部编号": "external_ref",
}
CHINESE_NAMES: Final = {
    "id_number": "身份证号",
    "name": "姓名",
    "course_code": "课程代码",
    "hours": "学时",
    "completed_on": "完成日期",
    "external_ref": "外部编号",
}

# Reason codes of file-level refusals and per-row errors.
EMPTY_FILE: Final = "empty_file"
UNSUPPORTED_ENCODING: Final = "unsupported_encoding"
UNSUPPORTED_FILE_TYPE: Final = "unsupported_file_type"
MISSING_COLUMNS: Final = "missing_columns"
MALFORMED_FILE: Final = "malformed_file"
INVALID_ID_NUMBER: Final = "invalid_id_number"
INVALID_NAME: Final = "invalid_name"
INVALID_HOURS: Final = "invalid_hours"
INVALID_DATE: Final = "invalid_date"
INVALID_EXTERNAL_REF: Final = "invalid_external_ref"
UNKNOWN_COURSE: Final = "unknown_course"
COMPLETED_IN_FUTURE: Final = "completed_in_future"
OUTSIDE_ACCREDITATION: Final = "outside_accreditation"
COURSE_OUT_OF_SCOPE: Final = "course_out_of_scope"
HOURS_EXCEED_COURSE: Final = "hours_exceed_course"

_MAX_NAME: Final = 50
_ID_LENGTH: Final = 18
_FAST_ID: Final = re.compile(r"[0-9]{17}[0-9X]", re.ASCII)
_DIGIT_OFFSET: Final = ord("0") * sum(idnumber.WEIGHTS)
_REF_RE: Final = re.compile(r"[\x21-\x7e]{1,100}", re.ASCII)
_DATE_RE: Final = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_COMPACT_DATE_RE: Final = re.compile(r"(\d{4})(\d{2})(\d{2})")
_SCAN_BLOCK: Final = 1 << 20
_XLSX_MAGIC: Final = b"PK\x03\x04"
_OLE_MAGIC: Final = b"\xd0\xcf\x11\xe0"
_UTF8_BOM: Final = b"\xef\xbb\xbf"
_UTF16_BOMS: Final = (b"\xff\xfe", b"\xfe\xff")

Cell = str | int | float | dt.date | dt.datetime | None


class FileRefused(Exception):
    """The file as a whole cannot be imported (format, encoding, header)."""

    def __init__(self, code: str, detail: str, line: int = 1) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.line = line


# --------------------------------------------------------------------------- detection


def sniff(path: Path) -> tuple[str, str | None]:
    """The file's format (``csv`` or ``xlsx``) and, for a CSV, its text encoding.

    Raises:
        FileRefused: Empty, a legacy ``.xls``, binary, or neither UTF-8 nor GB18030.
    """
    with path.open("rb") as handle:
        head = handle.read(8)
    if not head:
        raise FileRefused(EMPTY_FILE, "the file is empty")
    if head.startswith(_XLSX_MAGIC):
        return "xlsx", None
    if head.startswith(_OLE_MAGIC):
        raise FileRefused(
            UNSUPPORTED_FILE_TYPE, "legacy .xls workbooks are not supported: save as .xlsx or CSV"
        )
    encoding = detect_encoding(path, head)
    check_csv_header(path, encoding)
    return "csv", encoding


def check_csv_header(path: Path, encoding: str) -> None:
    """Read just the header of a CSV and check its columns.

    Raises:
        FileRefused: ``missing_columns``, ``empty_file`` or ``malformed_file``.
    """
    with path.open("r", encoding=encoding, newline="") as handle:
        try:
            RowSource._csv_header(csv.reader(handle))
        except csv.Error as exc:
            raise FileRefused(MALFORMED_FILE, f"malformed CSV: {exc}") from None


def detect_encoding(path: Path, head: bytes | None = None) -> str:
    """``utf-8-sig``, ``utf-8`` or ``gb18030``: strict UTF-8 first, else GB18030.

    Raises:
        FileRefused: ``unsupported_encoding`` (UTF-16, Latin-1…) or ``unsupported_file_type``
            (NUL bytes: a binary file).
    """
    if head is None:
        with path.open("rb") as handle:
            head = handle.read(8)
    if head.startswith(_UTF16_BOMS):
        raise FileRefused(
            UNSUPPORTED_ENCODING, "UTF-16 text is not supported: save the CSV as UTF-8 or GB18030"
        )
    if _decodes(path, "utf-8"):
        return "utf-8-sig" if head.startswith(_UTF8_BOM) else "utf-8"
    if _decodes(path, "gb18030"):
        return "gb18030"
    raise FileRefused(
        UNSUPPORTED_ENCODING, "the CSV is neither UTF-8 nor GB18030 text: save it as UTF-8"
    )


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    with path.open("rb") as handle:
        while block := handle.read(_SCAN_BLOCK):
            if b"\x00" in block:
                raise FileRefused(UNSUPPORTED_FILE_TYPE, "the file is binary, not CSV text")
            try:
                decoder.decode(block)
            except UnicodeDecodeError:
                return False
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


# --------------------------------------------------------------------------- reading


def _header_key(cell: Cell) -> str:
    text = "" if cell is None else str(cell)
    return unicodedata.normalize("NFKC", text).strip().lstrip("\ufeff").strip().lower()


def column_indexes(header: Sequence[Cell]) -> tuple[int, ...]:
    """Where each of :data:`COLUMNS` is in the header row.

    Raises:
        FileRefused: ``missing_columns``.
    """
    found: dict[str, int] = {}
    for index, cell in enumerate(header):
        canonical = HEADER_ALIASES.get(_header_key(cell))
        if canonical is not None and canonical not in found:
            found[canonical] = index
    missing = [column for column in COLUMNS if column not in found]
    if missing:
        named = ", ".join(f"{column} ({CHINESE_NAMES[column]})" for column in missing)
        raise FileRefused(MISSING_COLUMNS, f"the header lacks the columns: {named}")
    return tuple(found[column] for column in COLUMNS)


class RawRow(NamedTuple):
    """A data row: its line number and the six cells in :data:`COLUMNS` order."""

    line: int
    cells: tuple[Cell, ...]


class RowSource:
    """Streams the data rows of a roster file; ``position``/``total`` report progress."""

    def __init__(self, path: Path, file_format: str, encoding: str | None) -> None:
        self.path = path
        self.file_format = file_format
        self.encoding = encoding
        self.total = path.stat().st_size if file_format == "csv" else 0
        self._position = 0
        self._raw: io.BufferedReader | None = None

    @property
    def position(self) -> int:
        """How far the reading got (bytes of a CSV, rows of a workbook)."""
        if self._raw is not None and not self._raw.closed:
            return self._raw.tell()
        return self._position

    def rows(self) -> Generator[RawRow, None, None]:
        """The data rows, header checked first.

        Raises:
            FileRefused: Header or file structure problems.
        """
        if self.file_format == "xlsx":
            return self._xlsx_rows()
        return self._csv_rows()

    def _csv_rows(self) -> Generator[RawRow, None, None]:
        if _plain_csv(self.path):
            return self._plain_csv_rows()
        return self._quoted_csv_rows()

    def _plain_csv_rows(self) -> Generator[RawRow, None, None]:
        """A CSV without any ``"`` nor bare CR: every line is a row, split on commas.

        Exactly what :mod:`csv` reads from such a file (no quoting can occur, a line break is
        LF or CRLF), at a fraction of the cost: whole blocks are decoded, split into lines,
        and each line is split with ``str.split``.
        """
        encoding = self.encoding or "utf-8"
        decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        new_row = tuple.__new__
        limit = csv.field_size_limit()
        line_no = 0
        indexes: tuple[int, ...] | None = None
        pick: Callable[[list[str]], tuple[Cell, ...]] | None = None
        need = 0
        tail = ""
        with self.path.open("rb") as raw:
            self._raw = raw
            while True:
                block = raw.read(_SCAN_BLOCK)
                final = not block
                try:
                    text = tail + decoder.decode(block, final)
                except UnicodeDecodeError:
                    raise FileRefused(
                        UNSUPPORTED_ENCODING, f"the file is not valid {encoding}", line_no + 1
                    ) from None
                lines = text.replace("\r\n", "\n").split("\n")
                tail = "" if final else lines.pop()
                for line in lines:
                    line_no += 1
                    cells = line.split(",")
                    if not cells[0].strip() and not any(cell.strip() for cell in cells):
                        continue
                    if len(line) > limit and max(map(len, cells)) > limit:
                        raise FileRefused(
                            MALFORMED_FILE,
                            f"malformed CSV: field larger than field limit ({limit})",
                            line_no,
                        )
                    if pick is None:
                        try:
                            indexes = column_indexes(cells)
                        except FileRefused as exc:
                            exc.line = line_no
                            raise
                        pick = operator.itemgetter(*indexes)
                        need = max(indexes) + 1
                        continue
                    if len(cells) >= need:
                        row_cells = pick(cells)
                    else:
                        width = len(cells)
                        row_cells = tuple(cells[i] if i < width else "" for i in indexes or ())
                    yield new_row(RawRow, (line_no, row_cells))
                if final:
                    break
        if pick is None:
            raise FileRefused(EMPTY_FILE, "the file has no header row")
        self._raw = None
        self._position = self.total

    def _quoted_csv_rows(self) -> Generator[RawRow, None, None]:
        encoding = self.encoding or "utf-8"
        new_row = tuple.__new__
        with self.path.open("rb") as raw:
            self._raw = raw
            text = io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="")
            reader = csv.reader(text)
            try:
                indexes = self._csv_header(reader)
                pick = operator.itemgetter(*indexes)
                need = max(indexes) + 1
                for row in reader:
                    # Blank rows (every cell blank) are skipped; the first cell usually tells.
                    if not (row and row[0].strip()) and not any(cell.strip() for cell in row):
                        continue
                    if len(row) >= need:
                        cells = pick(row)
                    else:
                        width = len(row)
                        cells = tuple(row[i] if i < width else "" for i in indexes)
                    yield new_row(RawRow, (reader.line_num, cells))
            except csv.Error as exc:
                raise FileRefused(
                    MALFORMED_FILE, f"malformed CSV: {exc}", reader.line_num
                ) from None
            except UnicodeDecodeError:
                raise FileRefused(
                    UNSUPPORTED_ENCODING, f"the file is not valid {encoding}", reader.line_num
                ) from None
        self._raw = None
        self._position = self.total

    @staticmethod
    def _csv_header(reader: Any) -> tuple[int, ...]:
        for row in reader:
            if any(cell.strip() for cell in row):
                line = int(reader.line_num)
                try:
                    return column_indexes(row)
                except FileRefused as exc:
                    exc.line = line
                    raise
        raise FileRefused(EMPTY_FILE, "the file has no header row")

    def _xlsx_rows(self) -> Generator[RawRow, None, None]:
        import openpyxl  # type: ignore[import-untyped]  # noqa: PLC0415 - heavy, workbooks only

        handle = self.path.open("rb")  # a file object: openpyxl then ignores the name's suffix
        try:
            book = openpyxl.load_workbook(handle, read_only=True, data_only=True)
        except Exception as exc:
            handle.close()
            raise FileRefused(
                UNSUPPORTED_FILE_TYPE, f"not a readable .xlsx workbook ({type(exc).__name__})"
            ) from None
        try:
            sheet = book.worksheets[0]
            self.total = int(sheet.max_row or 0)
            indexes: tuple[int, ...] | None = None
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                self._position = number
                if not any(_present(value) for value in values):
                    continue
                if indexes is None:
                    try:
                        indexes = column_indexes(values)
                    except FileRefused as exc:
                        exc.line = number
                        raise
                    continue
                width = len(values)
                yield RawRow(number, tuple(values[i] if i < width else None for i in indexes))
            if indexes is None:
                raise FileRefused(EMPTY_FILE, "the worksheet has no header row")
        finally:
            book.close()
            handle.close()
        self._position = self.total


def _plain_csv(path: Path) -> bool:
    """Whether a CSV has no ``"`` at all and no CR outside CRLF (see ``_plain_csv_rows``).

    GB18030 and UTF-8 never use the bytes of ``"``, CR or LF inside a multi-byte character.
    """
    with path.open("rb") as handle:
        while block := handle.read(_SCAN_BLOCK):
            if b'"' in block:
                return False
            if b"\r" in block and block.count(b"\r") != block.count(b"\r\n"):
                return False  # a bare CR, or a CRLF split across blocks: let csv decide
    return True


def _present(value: object) -> bool:
    return value is not None and (not isinstance(value, str) or bool(value.strip()))


# --------------------------------------------------------------------------- validation


@dataclass(frozen=True, slots=True)
class CourseInfo:
    """What row validation needs to know about a course."""

    id: uuid.UUID
    code: str
    category: str
    mode: str
    hours_tenths: int


@dataclass(frozen=True, slots=True)
class AccreditationInfo:
    """What row validation needs to know about an accreditation."""

    valid_from: dt.date
    valid_until: dt.date
    categories: frozenset[str]


class Prepared(NamedTuple):
    """A row that passed every check that needs no database."""

    line: int
    subject_key: bytes
    id_number: str
    name: str
    course: CourseInfo
    tenths: int
    day: dt.date
    ref: str
    record_id: Any = None
    """The id of the record to write, when known already (the reader process makes them, off
    the writer's core); None: the importer makes one."""


@dataclass(slots=True)
class RowError:
    """A refused row (``ref`` kept, when readable, to spot later duplicates)."""

    line: int
    code: str
    detail: str
    ref: str | None = None


class RowRefused(Exception):
    """Internal: one check failed."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass
class Validator:
    """The database-free checks of a row, for one base."""

    vault: PiiVault
    courses: dict[str, CourseInfo]
    accreditations: list[AccreditationInfo]
    """In issue order (oldest first)."""
    today: dt.date
    id_cache: int = 50_000
    """ID numbers remembered (≈ 250 bytes each): rosters list a person several times."""

    def __post_init__(self) -> None:
        self._in_force: dict[dt.date, AccreditationInfo | None] = {}
        self._births: dict[str, bool] = {}
        # Rosters repeat people, hours and days: what a cell already proved is remembered
        # (text cells only, bounded). Only valid values are cached; see prepare().
        self._ids: dict[str, tuple[str, bytes]] = {}
        self._hours: dict[str, int] = {}
        self._days: dict[str, tuple[dt.date, AccreditationInfo | None]] = {}
        # _prepare() strips the course cell: only codes equal to their stripped form match raw.
        self._courses = {code: c for code, c in self.courses.items() if code == code.strip()}

    def id_number(self, cell: Cell) -> str:
        """A valid, normalized ID number (GB 11643), or :class:`RowRefused`.

        The common case (already 17 digits and a digit or ``X``) is checked here with the
        same rules as :func:`workforce.security.idnumber.validate`, a few times faster; any
        other input, and every failure, goes through ``validate`` itself for its exact verdict
        and message.
        """
        if type(cell) is str and len(cell) == _ID_LENGTH and _FAST_ID.fullmatch(cell):
            total = sum(map(operator.mul, cell[:17].encode(), idnumber.WEIGHTS)) - _DIGIT_OFFSET
            if (
                idnumber.CHECK_CHARS[total % 11] == cell[17]
                and cell[:2] in idnumber.PROVINCE_CODES
                and self._birth_ok(cell[6:14])
            ):
                return cell
        return _id_number(cell, self.today)

    def _birth_ok(self, digits: str) -> bool:
        known = self._births.get(digits)
        if known is None:
            try:
                born = dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
            except ValueError:
                known = False
            else:
                known = idnumber.EARLIEST_BIRTH_DATE <= born <= self.today
            self._births[digits] = known
        return known

    def accreditation_on(self, day: dt.date) -> AccreditationInfo | None:
        """The accreditation in force on a day (cached per day)."""
        if day not in self._in_force:
            found = None
            for accreditation in reversed(self.accreditations):
                if accreditation.valid_from <= day:
                    found = accreditation if day <= accreditation.valid_until else None
                    break
            self._in_force[day] = found
        return self._in_force[day]

    def prepare(self, rows: Iterable[RawRow]) -> list[Prepared | RowError]:
        """Validate rows; each becomes a :class:`Prepared` or the first :class:`RowError`.

        A row whose cells are all known-good text (the same ID number, hours and date seen
        before, a known course) passes on dictionary lookups; any other row goes through
        :meth:`_prepare`, the complete checks in their documented order, which also remembers
        what it proved. Both accept exactly the same rows (tested).
        """
        out: list[Prepared | RowError] = []
        append = out.append
        new = tuple.__new__
        ids, hours, days, courses = self._ids, self._hours, self._days, self._courses
        ref_ok = _REF_RE.fullmatch
        for row in rows:
            raw_id, raw_name, raw_course, raw_hours, raw_day, raw_ref = row[1]
            ref = (raw_ref if type(raw_ref) is str else _text(raw_ref)).strip()
            # The caches hold text keys only, and no other cell value equals a str.
            known_id = ids.get(raw_id)  # type: ignore[arg-type]
            if known_id is not None and type(raw_name) is str:
                name = raw_name.strip()
                tenths = hours.get(raw_hours)  # type: ignore[arg-type]
                day = days.get(raw_day)  # type: ignore[arg-type]
                course = courses.get(raw_course)  # type: ignore[arg-type]
                if (
                    name
                    and len(name) <= _MAX_NAME
                    and tenths is not None
                    and day is not None
                    and ref_ok(ref)
                    and course is not None
                    and day[1] is not None
                    and course.category in day[1].categories
                    and tenths <= course.hours_tenths
                ):
                    append(
                        new(
                            Prepared,
                            (
                                row[0],
                                known_id[1],
                                known_id[0],
                                name,
                                course,
                                tenths,
                                day[0],
                                ref,
                                None,
                            ),
                        )
                    )
                    continue
            try:
                append(self._prepare(row, ref))
            except RowRefused as exc:
                append(RowError(row[0], exc.code, exc.detail, ref or None))
        return out

    def _prepare(self, row: RawRow, ref: str) -> Prepared:
        raw_id, raw_name, raw_course, raw_hours, raw_day, _ = row.cells
        number = self.id_number(raw_id)
        name = _text(raw_name).strip()
        if not name or len(name) > _MAX_NAME:
            raise RowRefused(INVALID_NAME, f"name must be 1 to {_MAX_NAME} characters")
        tenths = _hours(raw_hours)
        day = _date(raw_day)
        if day > self.today:
            raise RowRefused(COMPLETED_IN_FUTURE, "completed_on is in the future")
        # The cells proved valid so far are remembered for prepare()'s fast path.
        if type(raw_hours) is str:
            _remember(self._hours, raw_hours, tenths, _SMALL_CACHE)
        if type(raw_day) is str:
            _remember(self._days, raw_day, (day, self.accreditation_on(day)), _SMALL_CACHE)
        subject_key = self.vault.subject_key(number)
        if type(raw_id) is str:
            _remember(self._ids, raw_id, (number, subject_key), self.id_cache)
        if not _REF_RE.fullmatch(ref):
            raise RowRefused(
                INVALID_EXTERNAL_REF, "external_ref must be 1 to 100 printable ASCII characters"
            )
        code = _text(raw_course).strip()
        course = self.courses.get(code)
        if course is None:
            raise RowRefused(
                UNKNOWN_COURSE, f"no course {code[:40]!r} in your or your regulators' catalogues"
            )
        accreditation = self.accreditation_on(day)
        if accreditation is None:
            raise RowRefused(
                OUTSIDE_ACCREDITATION, "completed_on lies outside your accreditation's validity"
            )
        if course.category not in accreditation.categories:
            raise RowRefused(
                COURSE_OUT_OF_SCOPE, f"category {course.category!r} is outside your accreditation"
            )
        if tenths > course.hours_tenths:
            raise RowRefused(HOURS_EXCEED_COURSE, "hours exceed the course's hours")
        return Prepared(
            line=row.line,
            subject_key=subject_key,
            id_number=number,
            name=name,
            course=course,
            tenths=tenths,
            day=day,
            ref=ref,
        )


_SMALL_CACHE: Final = 10_000


def _remember(cache: dict[Any, Any], key: Any, value: Any, limit: int) -> None:
    if len(cache) >= limit:
        cache.clear()
    cache[key] = value


def ref_text(cell: Cell) -> str:
    """An ``external_ref`` cell as :meth:`Validator.prepare` reads it (stripped text)."""
    return _text(cell).strip()


def _text(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell)


def _id_number(cell: Cell, today: dt.date) -> str:
    if isinstance(cell, float) or (isinstance(cell, int) and not isinstance(cell, bool)):
        # A spreadsheet number keeps 15 significant digits: 18-digit numbers lose the rest.
        raise RowRefused(
            INVALID_ID_NUMBER,
            "the ID number was stored as a number, which loses digits: format the column as text",
        )
    try:
        return idnumber.validate(_text(cell), today=today)
    except idnumber.InvalidIdNumber as exc:
        raise RowRefused(INVALID_ID_NUMBER, exc.message) from None


def _hours(cell: Cell) -> int:
    if isinstance(cell, bool | dt.date):
        raise RowRefused(INVALID_HOURS, "hours must be a number")
    try:
        tenths = parse_hours(cell if isinstance(cell, int | float) else _text(cell))
    except HoursError as exc:
        raise RowRefused(INVALID_HOURS, str(exc)) from None
    if tenths == 0:
        raise RowRefused(INVALID_HOURS, "hours must be more than 0")
    return tenths


def _date(cell: Cell) -> dt.date:
    if isinstance(cell, dt.datetime):
        return cell.date()
    if isinstance(cell, dt.date):
        return cell
    text = _text(cell).strip()
    match = _DATE_RE.fullmatch(text) or _COMPACT_DATE_RE.fullmatch(text)
    if match is not None:
        try:
            return dt.date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            pass
    raise RowRefused(INVALID_DATE, "completed_on must be a date such as 2026-03-01")


ProgressFn = Callable[[int, int], None]
"""``progress(done, total)`` in the source's units (bytes of a CSV, rows of a workbook)."""


def chunks(source: RowSource, size: int) -> Generator[list[RawRow], None, None]:
    """The source's rows in lists of ``size``."""
    batch: list[RawRow] = []
    for row in source.rows():
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
