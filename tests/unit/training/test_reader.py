"""The reader process streams exactly what the in-process reader yields (random files)."""

from __future__ import annotations

import datetime as dt
import os
import random
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import openpyxl  # type: ignore[import-untyped]
import pytest

from workforce import synth
from workforce.security.pii import PiiVault
from workforce.training import imports, reader, rosters

pytestmark = pytest.mark.anyio

TODAY = dt.date(2026, 11, 23)
INDEX_KEY = os.urandom(32)
COURSES = {
    "SK": rosters.CourseInfo(uuid.uuid4(), "SK", "skills", "in_person", 80),
    "ETH": rosters.CourseInfo(uuid.uuid4(), "ETH", "ethics", "online", 20),
    "SK ": rosters.CourseInfo(uuid.uuid4(), "SK ", "skills", "online", 10),
}
ACCREDITATIONS = [
    rosters.AccreditationInfo(dt.date(2020, 1, 1), dt.date(2024, 12, 31), frozenset({"skills"})),
    rosters.AccreditationInfo(
        dt.date(2025, 1, 1), dt.date(2030, 12, 31), frozenset({"skills", "ethics"})
    ),
]
HEADER = ["external_ref", "hours", "completed_on", "name", "course_code", "id_number", "备注"]


def _cells(rng: random.Random, people: list[tuple[str, str]]) -> list[str]:
    number, name = rng.choice(people)
    return [
        rng.choice([f"R{rng.randrange(400)}", f" R{rng.randrange(400)} ", "", "空", "r" * 101]),
        rng.choice(["2", "2.5", "0", "9", "abc", "8.0", "2.55", "1", " 3 "]),
        rng.choice(
            [
                *("2025-03-01", "2024-06-30", "2019-12-31", "2031-01-01", "2026-11-24", "bad"),
                *("2025/3/1", "2025年3月2日", "20250303"),
            ]
        ),
        rng.choice([name, name, f" {name} ", "", "李" * 51]),
        rng.choice(["SK", "SK", "ETH", " SK", "NOPE", "SK "]),
        rng.choice([number, number, number, f" {number}", number[:17] + "0", "x", ""]),
        rng.choice(["", "note"]),
    ]


def random_roster(rng: random.Random, directory: Path) -> tuple[Path, str, str | None]:
    """A random roster: valid and invalid cells, repeats, blank lines, quotes, encodings."""
    people = [
        (synth.random_id_number(rng), synth.random_name(rng)) for _ in range(rng.randint(1, 30))
    ]
    rows = [_cells(rng, people) for _ in range(rng.randint(0, 400))]
    if rng.random() < 0.15:
        path = directory / f"r{rng.random()}.xlsx"
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.append(HEADER)
        for row in rows:
            sheet.append(row)
        book.save(path)
        return path, "xlsx", None
    encoding = rng.choice(["utf-8", "utf-8-sig", "gb18030"])
    newline = rng.choice(["\n", "\r\n"])
    lines = [",".join(HEADER)]
    for row in rows:
        if rng.random() < 0.05:
            lines.append("")
        quoted = rng.random() < 0.1
        lines.append(",".join(f'"{c}"' if quoted else c for c in row))
    data = newline.join(lines).encode(encoding) + newline.encode()
    if rng.random() < 0.1 and encoding != "gb18030":
        data += b"R9,1,2025-03-01,\xff\xfe,SK,x\n"  # not UTF-8 from some line on
    path = directory / f"r{rng.random()}.csv"
    path.write_bytes(data)
    return path, "csv", encoding


def _validator() -> rosters.Validator:
    return rosters.Validator(
        vault=PiiVault(INDEX_KEY, os.urandom(32)),
        courses=COURSES,
        accreditations=ACCREDITATIONS,
        today=TODAY,
    )


async def _collect(batches: Any) -> tuple[list[Any], Any]:
    out: list[Any] = []
    try:
        async for batch in batches:
            out.append(batch)
    except rosters.FileRefused as exc:
        return out, (exc.code, exc.detail, exc.line)
    return out, None


async def _in_process(path: Path, file_format: str, encoding: str | None, chunk: int) -> Any:
    source = rosters.RowSource(path, file_format, encoding)
    return await _collect(imports._thread_batches(_validator(), source, chunk))


async def _in_child(path: Path, file_format: str, encoding: str | None, chunk: int) -> Any:
    child = reader.ReaderProcess()
    try:
        child.configure(
            reader.ReaderConfig(
                path=path,
                file_format=file_format,
                encoding=encoding,
                chunk_rows=chunk,
                courses=COURSES,
                accreditations=ACCREDITATIONS,
                today=TODAY,
                index_key=INDEX_KEY,
            )
        )
        return await _collect(child.batches())
    finally:
        child.close()


def _without_ids(stream: tuple[list[Any], Any]) -> tuple[list[Any], Any]:
    batches, refused = stream
    return [
        (
            [x._replace(record_id=None) if type(x) is rosters.Prepared else x for x in batch],
            position,
            total,
        )
        for batch, position, total in batches
    ], refused


@pytest.mark.parametrize("seed", range(24))
async def test_reader_process_yields_what_the_thread_yields(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    path, file_format, encoding = random_roster(rng, tmp_path)
    chunk = rng.choice([1, 7, 50, 5_000])
    expected = await _in_process(path, file_format, encoding, chunk)
    got = await _in_child(path, file_format, encoding, chunk)
    # The child also makes each accepted row's record id (the importer makes them otherwise).
    ids = [
        item.record_id
        for batch, _, _ in got[0]
        for item in batch
        if type(item) is not rosters.RowError
    ]
    assert None not in ids and len(set(ids)) == len(ids)
    assert all(len(uuid.UUID(hex=i).hex) == 32 for i in ids)
    assert _without_ids(got) == expected
    items = [item for batch, _, _ in expected[0] for item in batch]
    assert all(type(item) in (rosters.Prepared, rosters.RowError) for item in items)


async def test_both_kinds_of_rows_and_a_refusal_are_covered(tmp_path: Path) -> None:
    """The random files above do exercise accepted rows, refused rows and a mid-file refusal."""
    kinds: set[str] = set()
    for seed in range(24):
        path, file_format, encoding = random_roster(random.Random(seed), tmp_path)
        batches, refused = await _in_process(path, file_format, encoding, 50)
        for batch, _, _ in batches:
            kinds.update(type(item).__name__ for item in batch)
        if refused is not None:
            kinds.add("refused")
    assert kinds == {"Prepared", "RowError", "refused"}


async def test_a_dead_reader_is_reported(tmp_path: Path) -> None:
    path, file_format, encoding = random_roster(random.Random(3), tmp_path)
    child = reader.ReaderProcess()
    try:
        child._proc.kill()
        child._proc.wait()
        with pytest.raises(reader.ReaderLost):
            child.configure(
                reader.ReaderConfig(
                    path=path,
                    file_format=file_format,
                    encoding=encoding,
                    chunk_rows=10,
                    courses=COURSES,
                    accreditations=ACCREDITATIONS,
                    today=TODAY,
                    index_key=INDEX_KEY,
                )
            )
    finally:
        child.close()


async def test_a_failing_reader_is_reported_by_error_type_only(tmp_path: Path) -> None:
    child = reader.ReaderProcess()
    try:
        child.configure(
            reader.ReaderConfig(
                path=tmp_path / "gone.csv",
                file_format="csv",
                encoding="utf-8",
                chunk_rows=10,
                courses=COURSES,
                accreditations=ACCREDITATIONS,
                today=TODAY,
                index_key=INDEX_KEY,
            )
        )
        with pytest.raises(reader.ReaderLost, match=r"FileNotFoundError"):
            await _collect(child.batches())
    finally:
        child.close()


def test_the_key_stays_out_of_reprs_and_the_command_line() -> None:
    config = reader.ReaderConfig(
        path=Path("x"),
        file_format="csv",
        encoding=None,
        chunk_rows=1,
        courses={},
        accreditations=[],
        today=TODAY,
        index_key=INDEX_KEY,
    )
    assert INDEX_KEY.hex() not in repr(config) and str(INDEX_KEY) not in repr(config)
    child = reader.ReaderProcess()
    try:
        argv = [str(arg) for arg in child._proc.args]  # type: ignore[union-attr]
        assert all(INDEX_KEY.hex() not in arg for arg in argv)
    finally:
        child.close()


@pytest.mark.parametrize("seed", range(6))
async def test_a_small_id_cache_gives_the_same_verdicts(tmp_path: Path, seed: int) -> None:
    """The reader remembers fewer ID numbers: forgetting changes no verdict."""
    path, file_format, encoding = random_roster(random.Random(seed), tmp_path)
    source = rosters.RowSource(path, file_format, encoding)
    small = rosters.Validator(
        vault=PiiVault(INDEX_KEY, os.urandom(32)),
        courses=COURSES,
        accreditations=ACCREDITATIONS,
        today=TODAY,
        id_cache=2,
    )
    assert await _collect(imports._thread_batches(small, source, 50)) == await _in_process(
        path, file_format, encoding, 50
    )


def test_the_reader_process_starts_light() -> None:
    """The child imports neither the ORM nor asyncio: the import waits for its start-up."""
    code = (
        "import sys, workforce.training.reader; "
        "print(sorted(m for m in ('sqlalchemy', 'asyncio', 'litestar') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
