"""Roster imports: CSV (UTF-8, BOM, GB18030) and XLSX, per-row errors, idempotency, atomicity."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import io
import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import openpyxl
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from tests.factories import Factory
from tests.unit.training.support import (
    CHINESE_HEADER,
    accredited_base,
    add_course,
    csv_bytes,
    import_rows,
    upload,
    wait_import,
)
from workforce.app import create_app
from workforce.context import AppContext
from workforce.db import new_id
from workforce.practitioners.models import Practitioner, PractitionerLink
from workforce.security.idnumber import today_in_china
from workforce.training import imports, reader, service
from workforce.training.models import RosterImport, TrainingRecord, TrainingTotal

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True, params=["in_process", "reader_process"])
def reader_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every import test runs twice: read in-process, and read by the reader child process.

    Both must give the same outcome (same accepted rows, same rejections, lines and reasons).
    """
    threshold = 0 if request.param == "reader_process" else 1 << 62
    monkeypatch.setattr(imports, "READER_PROCESS_MIN_BYTES", threshold)
    return str(request.param)


async def _count(session, model, *where) -> int:
    value = await session.scalar(select(func.count()).select_from(model).where(*where))
    await session.rollback()
    return int(value or 0)


def _spool_files(settings) -> list[Path]:
    directory = settings.var_dir / "imports"
    return sorted(directory.iterdir()) if directory.exists() else []


async def test_csv_import_registers_records_and_is_idempotent(
    client, factory: Factory, session, settings, ctx
) -> None:
    base, _ = await accredited_base(client, factory)
    await add_course(client, base, "SK-01", hours=8)
    await add_course(client, base, "ETH-01", category="ethics", hours=4)
    known, known_number = await factory.practitioner(
        by=await factory.org("institution"), name="王芳"
    )
    fresh = [factory.id_number(), factory.id_number()]
    rows = [
        [known_number, "王芳", "SK-01", "2.5", "2025-03-01", "R1"],
        [fresh[0], "李娜", "SK-01", "8", "2025/03/02", "R2"],
        [fresh[1], "张伟", "ETH-01", "4", "2025年3月3日", "R3"],
        [fresh[1], "张伟", "SK-01", "7.5", "20250303", "R4"],
    ]
    content = csv_bytes(rows)
    started = await upload(client, base, content)
    assert started.status_code == 202, started.text
    assert started.json()["status"] == "running"
    body = await wait_import(client, base, started.json()["id"])
    assert body["status"] == "done", body
    assert (body["total_rows"], body["accepted"], body["rejected"], body["registered"]) == (
        4,
        4,
        0,
        2,
    )
    assert body["errors"] == [] and body["failure"] is None and body["file_format"] == "csv"
    assert _spool_files(settings) == []  # the file (it holds ID numbers) is gone
    person = await service.hours_totals(session, known.id)
    assert person == {("skills", 2025, "in_person"): 25}
    registered = await session.scalar(
        select(Practitioner).where(Practitioner.subject_key == ctx.vault.subject_key(fresh[1]))
    )
    assert (
        registered is not None
        and registered.name == "张伟"
        and registered.region_code == base.org.region_code
    )
    totals = await service.hours_totals(session, registered.id)
    assert totals == {("ethics", 2025, "in_person"): 40, ("skills", 2025, "in_person"): 75}
    links = await session.scalar(
        select(func.count())
        .select_from(PractitionerLink)
        .where(PractitionerLink.org_id == base.org.id, PractitionerLink.relation == "trained")
    )
    assert links == 3
    await session.rollback()
    # A re-upload of the same file changes nothing.
    again = await import_rows(client, base, content)
    assert (
        again["accepted"],
        again["rejected"],
        again["already_recorded"],
        again["registered"],
    ) == (0, 0, 4, 0)
    assert await _count(session, TrainingRecord) == 4
    assert await _count(session, Practitioner) == 3
    # The same external_ref with other content is refused, row by row.
    changed = await import_rows(
        client, base, csv_bytes([[fresh[0], "李娜", "SK-01", "7", "2025-03-02", "R2"]])
    )
    assert changed["errors"] == [
        {"line": 2, "code": "external_ref_conflict", "detail": changed["errors"][0]["detail"]}
    ]


async def test_per_row_errors(client, factory: Factory, session, settings) -> None:
    base, _ = await accredited_base(
        client,
        factory,
        categories=["skills"],
        valid_from=dt.date(2024, 1, 1),
        valid_until=dt.date(2026, 12, 31),
    )
    await add_course(client, base, "SK", hours=8)
    await add_course(client, base, "ETH", category="ethics", hours=8)
    _, registered_number = await factory.practitioner(by=base, name="王芳")
    good = factory.id_number()
    capped = factory.id_number()
    bad_check = good[:-1] + ("0" if good[-1] != "0" else "1")
    tomorrow = (today_in_china() + dt.timedelta(days=1)).isoformat()
    rows = [
        [good, "赵敏", "SK", "2", "2025-01-02", "OK-1"],  # 2 accepted
        [bad_check, "钱多", "SK", "2", "2025-01-02", "E-ID"],  # 3 invalid_id_number
        [good, "赵敏", "NOPE", "2", "2025-01-02", "E-COURSE"],  # 4 unknown_course
        [good, "赵敏", "SK", "2", tomorrow, "E-FUTURE"],  # 5 completed_in_future
        [good, "赵敏", "SK", "2", "2025-01-03", "OK-1"],  # 6 duplicate_in_file
        [good, "赵敏", "SK", "2.25", "2025-01-02", "E-HOURS"],  # 7 invalid_hours
        [registered_number, "李四", "SK", "2", "2025-01-02", "E-NAME"],  # 8 name_mismatch
        [good, "赵敏", "SK", "2", "2025-02-30", "E-DATE"],  # 9 invalid_date
        [good, "赵敏", "SK", "9", "2025-01-02", "E-OVER"],  # 10 hours_exceed_course
        [good, "赵敏", "SK", "2", "2023-06-01", "E-ACC"],  # 11 outside_accreditation
        [good, "赵敏", "ETH", "2", "2025-01-02", "E-SCOPE"],  # 12 course_out_of_scope
        [capped, "孙丽", "SK", "8", "2025-01-05", "CAP-1"],  # 13 accepted
        [capped, "孙丽", "SK", "4", "2025-01-05", "CAP-2"],  # 14 accepted (12 h)
        [capped, "孙丽", "SK", "0.1", "2025-01-05", "CAP-3"],  # 15 daily_hours_exceeded
        [good, "", "SK", "1", "2025-01-02", "E-NAME2"],  # 16 invalid_name
        [good, "赵敏", "SK", "1", "2025-01-02", ""],  # 17 invalid_external_ref
        ["", "", "", "", "", ""],  # 18 blank: skipped
        [good, "赵敏", "SK", "1", "2025-01-02", "E-ID"],  # 19 duplicate of a refused row
    ]
    body = await import_rows(client, base, csv_bytes(rows))
    assert body["status"] == "done"
    got = {(e["line"], e["code"]) for e in body["errors"]}
    assert got == {
        (3, "invalid_id_number"),
        (4, "unknown_course"),
        (5, "completed_in_future"),
        (6, "duplicate_in_file"),
        (7, "invalid_hours"),
        (8, "name_mismatch"),
        (9, "invalid_date"),
        (10, "hours_exceed_course"),
        (11, "outside_accreditation"),
        (12, "course_out_of_scope"),
        (15, "daily_hours_exceeded"),
        (16, "invalid_name"),
        (17, "invalid_external_ref"),
        (19, "duplicate_in_file"),
    }
    assert (body["total_rows"], body["accepted"], body["rejected"]) == (17, 3, 14)
    for number in (good, capped, bad_check, registered_number):
        assert number not in json.dumps(body, ensure_ascii=False)
        assert number[6:14] not in json.dumps(body, ensure_ascii=False)
    assert await _count(session, TrainingRecord) == 3


async def test_gb18030_csv_with_chinese_header(client, factory: Factory, session, ctx) -> None:
    base, _ = await accredited_base(client, factory)
    await add_course(client, base, "BY-01", hours=6)
    number = factory.id_number()
    content = csv_bytes(
        [[number, "欧阳娜娜", "BY-01", "6", "2025-05-01", "GB-1"]],
        header=CHINESE_HEADER,
        encoding="gb18030",
    )
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")
    body = await import_rows(client, base, content)
    assert (body["accepted"], body["rejected"]) == (1, 0), body
    row = await session.scalar(
        select(Practitioner).where(Practitioner.subject_key == ctx.vault.subject_key(number))
    )
    assert row is not None and row.name == "欧阳娜娜"
    imported = await session.get(RosterImport, uuid.UUID(body["id"]))
    assert imported is not None and imported.encoding == "gb18030"


async def test_utf8_bom_csv(client, factory: Factory) -> None:
    base, _ = await accredited_base(client, factory)
    await add_course(client, base, "SK", hours=6)
    content = b"\xef\xbb\xbf" + csv_bytes(
        [[factory.id_number(), "周杰", "SK", "6", "2025-05-01", "BOM-1"]], header=CHINESE_HEADER
    )
    body = await import_rows(client, base, content)
    assert (body["accepted"], body["rejected"]) == (1, 0), body


async def test_xlsx_import(client, factory: Factory, session) -> None:
    base, _ = await accredited_base(client, factory)
    await add_course(client, base, "SK", hours=6)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(CHINESE_HEADER)
    numbers = [factory.id_number() for _ in range(3)]
    sheet.append([numbers[0], "吴磊", "SK", 6, dt.datetime(2025, 6, 1), "X-1"])
    sheet.append([numbers[1], "郑爽", "SK", 2.5, dt.date(2025, 6, 2), "X-2"])
    sheet.append([numbers[2], "冯巩", "SK", "abc", "2025-06-03", "X-3"])
    buffer = io.BytesIO()
    book.save(buffer)
    body = await import_rows(client, base, buffer.getvalue(), filename="名单.xlsx")
    assert body["file_format"] == "xlsx" and body["filename"] == "名单.xlsx"
    assert (body["accepted"], body["rejected"]) == (2, 1), body
    assert body["errors"] == [
        {"line": 4, "code": "invalid_hours", "detail": body["errors"][0]["detail"]}
    ]
    assert await _count(session, TrainingRecord) == 2


@pytest.mark.parametrize(
    ("content", "code"),
    [
        ("编号,姓名\r\n1,王芳\r\n".encode("utf-16"), "unsupported_encoding"),
        (
            b"id_number,name,course_code,hours,completed_on,external_ref\r\nx,Caf\xe9\xff,SK,1,2025-01-01,r\r\n",
            "unsupported_encoding",
        ),
        (b"", "empty_file"),
        (b"a,b,c\r\n1,2,3\r\n", "missing_columns"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "unsupported_file_type"),
        (b"PK\x03\x04garbage", None),
    ],
)
async def test_unusable_files_are_refused(
    client, factory: Factory, settings, content, code
) -> None:
    base, _ = await accredited_base(client, factory)
    response = await upload(client, base, content)
    if code is None:  # a broken workbook is found out by the worker
        assert response.status_code == 202
        body = await wait_import(client, base, response.json()["id"])
        assert body["status"] == "failed" and body["failure"]["code"] == "unsupported_file_type"
    else:
        assert response.status_code == 422, response.text
        assert response.json()["reasons"][0]["code"] == code
        assert response.headers["content-type"].startswith("application/problem+json")
    assert _spool_files(settings) == []


async def test_import_access(client, factory: Factory) -> None:
    base, regulator = await accredited_base(client, factory)
    other, _ = await accredited_base(client, factory, region="320104", regulator=regulator)
    never = await factory.org("training_base")
    await add_course(client, base, "SK", hours=6)
    content = csv_bytes([[factory.id_number(), "周杰", "SK", "6", "2025-05-01", "A-1"]])
    assert (await upload(client, never, content)).json()["reasons"][0][
        "code"
    ] == "base_not_accredited"
    started = (await upload(client, base, content)).json()
    url = f"/api/v1/training-records/imports/{started['id']}"
    await wait_import(client, base, started["id"])
    assert (await client.get(url)).status_code == 401
    assert (await client.get(url, headers=other.headers)).status_code == 404
    assert (await client.get(url, headers=regulator.headers)).status_code == 403
    no_token = await client.post(
        "/api/v1/training-records/imports", files={"file": ("a.csv", content)}
    )
    assert no_token.status_code == 401
    wrong_type = await client.post(
        "/api/v1/training-records/imports", json={"file": "x"}, headers=base.headers
    )
    assert wrong_type.status_code == 415
    no_file = await client.post(
        "/api/v1/training-records/imports",
        files={"other": ("a.csv", content)},
        headers=base.headers,
    )
    assert no_file.status_code == 422 and no_file.json()["reasons"][0]["code"] == "file_required"


async def test_upload_limit(settings, factory: Factory) -> None:
    small = dataclasses.replace(settings, max_upload_bytes=200)
    app = create_app(small, AppContext.open(small))
    async with AsyncTestClient(app=app) as client:
        base, _ = await accredited_base(client, factory)
        content = csv_bytes(
            [[factory.id_number(), "周杰", "SK", "6", "2025-05-01", f"L-{i}"] for i in range(10)]
        )
        response = await upload(client, base, content)
        assert response.status_code == 413, response.text
        assert response.json()["reasons"][0]["code"] == "file_too_large"
    assert _spool_files(small) == []


async def test_reader_process_death_mid_way_leaves_nothing(
    client, factory: Factory, session, monkeypatch, reader_mode: str
) -> None:
    """The reader child is killed after the first chunk: the import fails, nothing is written."""
    if reader_mode != "reader_process":
        pytest.skip("about the reader process")
    base, _ = await accredited_base(client, factory)
    await add_course(client, base, "SK", hours=6)
    numbers = [factory.id_number() for _ in range(40)]
    # Far more than the pipe holds (1 MiB): the child cannot have finished when it is killed.
    content = csv_bytes(
        [
            [numbers[i % 40], f"学员{i % 40}", "SK", "1", f"2025-{1 + i % 12:02}-01", f"D-{i}"]
            for i in range(40_000)
        ]
    )
    children: list[reader.ReaderProcess] = []
    original_init = reader.ReaderProcess.__init__
    original_process = imports.Importer.process

    def init(self) -> None:
        original_init(self)
        children.append(self)

    async def process(self, items):
        await original_process(self, items)
        if children and children[0]._proc.poll() is None:
            os.kill(children[0].pid, signal.SIGKILL)
            children[0]._proc.wait()

    monkeypatch.setattr(imports, "CHUNK_ROWS", 100)
    monkeypatch.setattr(reader.ReaderProcess, "__init__", init)
    monkeypatch.setattr(imports.Importer, "process", process)
    body = await import_rows(client, base, content)
    assert len(children) == 1
    assert body["status"] == "failed" and body["failure"]["code"] == "worker_lost", body
    assert "reader" in body["failure"]["detail"]
    assert body["accepted"] == 0 and body["errors"] == []
    assert await _count(session, TrainingRecord) == 0
    assert await _count(session, TrainingTotal) == 0
    assert await _count(session, Practitioner) == 0


async def test_failure_mid_way_leaves_nothing(
    client, factory: Factory, session, monkeypatch
) -> None:
    base, _ = await accredited_base(client, factory)
    await add_course(client, base, "SK", hours=6)
    numbers = [factory.id_number() for _ in range(6)]
    content = csv_bytes(
        [[n, f"学员{i}", "SK", "6", "2025-05-01", f"F-{i}"] for i, n in enumerate(numbers)]
    )
    calls = 0
    original = imports.Importer.process

    async def failing(self, items):
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("disk on fire")
        await original(self, items)

    monkeypatch.setattr(imports, "CHUNK_ROWS", 2)
    monkeypatch.setattr(imports.Importer, "process", failing)
    body = await import_rows(client, base, content)
    assert calls == 3
    assert body["status"] == "failed" and body["failure"]["code"] == "internal_error"
    assert body["accepted"] == 0 and body["errors"] == []
    assert await _count(session, TrainingRecord) == 0
    assert await _count(session, TrainingTotal) == 0
    assert await _count(session, Practitioner) == 0


KILL_SCRIPT = """
import asyncio, sys, time, uuid
from pathlib import Path
from workforce.context import AppContext
from workforce.db import make_engine
from workforce.security.principal import Principal
from workforce.settings import Settings
from workforce.training import imports

url, var_dir, keys_dir, import_id, org_id, region = sys.argv[1:7]
settings = Settings(var_dir=Path(var_dir), database_url=url, keys_dir=Path(keys_dir), environment="test")
ctx = AppContext.open(settings)
actor = Principal(client_id="cli", org_id=uuid.UUID(org_id), role="training_base", region=region)

def progress(done, total):
    print("chunk written", flush=True)
    time.sleep(120)  # hold the open transaction until killed

async def main():
    engine = make_engine(url)
    await imports.run_import(engine, ctx, actor, uuid.UUID(import_id), file_format="csv",
                             encoding="utf-8", chunk_rows=20, progress=progress)

asyncio.run(main())
"""


@pytest.mark.slow
async def test_worker_killed_mid_way_leaves_nothing(
    client, factory: Factory, session, settings, ctx
) -> None:
    base, _ = await accredited_base(client, factory)
    await add_course(client, base, "SK", hours=6)
    content = csv_bytes(
        [[factory.id_number(), f"学员{i}", "SK", "6", "2025-05-01", f"K-{i}"] for i in range(100)]
    )
    import_id = new_id()
    path = imports.upload_path(settings, import_id)
    path.write_bytes(content)
    spooled = imports.Spooled(
        path=path,
        size=len(content),
        sha256="0" * 64,
        filename="k.csv",
        file_format="csv",
        encoding="utf-8",
    )
    await imports.start_import(session, ctx, base.principal, import_id, spooled)
    await session.commit()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + str(ROOT)}
    worker = subprocess.Popen(  # noqa: ASYNC220 - killed on purpose; reads go through a thread
        [
            sys.executable,
            "-c",
            KILL_SCRIPT,
            settings.effective_database_url,
            str(settings.var_dir),
            str(settings.effective_keys_dir),
            str(import_id),
            str(base.org.id),
            base.org.region_code or "",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )
    try:
        line = await asyncio.wait_for(asyncio.to_thread(worker.stdout.readline), timeout=60)  # type: ignore[union-attr]
        assert line.strip() == b"chunk written", worker.stderr.read() if worker.stderr else b""  # type: ignore[union-attr]
        # Mid-way: the worker holds its lock and an open transaction with rows in it.
        running = await client.get(
            f"/api/v1/training-records/imports/{import_id}", headers=base.headers
        )
        assert running.json()["status"] == "running"
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        if worker.stdout:
            worker.stdout.close()
        if worker.stderr:
            worker.stderr.close()
    failed = await client.get(f"/api/v1/training-records/imports/{import_id}", headers=base.headers)
    body = failed.json()
    assert body["status"] == "failed" and body["failure"]["code"] == "worker_lost", body
    assert await _count(session, TrainingRecord) == 0
    assert await _count(session, TrainingTotal) == 0
    assert await _count(session, Practitioner) == 0  # nobody registered from the roster
    assert not path.exists() and not imports.lock_path(settings, import_id).exists()


CLI = "from workforce.cli import main; from workforce.training.cli import import_roster; main.add_command(import_roster); main()"


async def test_cli_import(client, factory: Factory, settings, tmp_path) -> None:
    base, _ = await accredited_base(client, factory)
    await add_course(client, base, "SK", hours=6)
    roster = tmp_path / "花名册.csv"
    numbers = [factory.id_number() for _ in range(3)]
    roster.write_bytes(
        csv_bytes(
            [[n, f"学员{i}", "SK", "6", "2025-05-01", f"C-{i}"] for i, n in enumerate(numbers)]
            + [["123", "坏号", "SK", "1", "2025-05-01", "C-bad"]],
            header=CHINESE_HEADER,
            encoding="gb18030",
        )
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src") + os.pathsep + str(ROOT),
        "WORKFORCE_DATABASE_URL": settings.effective_database_url,
        "WORKFORCE_VAR_DIR": str(settings.var_dir),
        "WORKFORCE_KEYS_DIR": str(settings.effective_keys_dir),
        "WORKFORCE_ENVIRONMENT": "test",
    }
    command = [
        sys.executable,
        "-c",
        CLI,
        "import",
        str(roster),
        "--base-client-id",
        base.client_id,
        "--json",
    ]
    done = await asyncio.to_thread(
        subprocess.run, command, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert (outcome["status"], outcome["accepted"], outcome["rejected"], outcome["registered"]) == (
        "done",
        3,
        1,
        3,
    )
    assert outcome["errors"][0]["line"] == 5 and outcome["errors"][0]["code"] == "invalid_id_number"
    for number in numbers:
        assert number not in done.stdout and number not in done.stderr
    via_api = await client.get(
        f"/api/v1/training-records/imports/{outcome['id']}", headers=base.headers
    )
    assert via_api.json()["accepted"] == 3
    assert _spool_files(settings) == []
    usage = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", CLI, "import", str(roster)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert usage.returncode == 2
    unknown = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", CLI, "import", str(roster), "--org-id", str(uuid.uuid4())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert unknown.returncode == 1 and "no training base" in unknown.stderr


async def test_lost_worker_without_lock_file_and_orphans(
    client, factory: Factory, session, settings, ctx
) -> None:
    base, _ = await accredited_base(client, factory)
    import_id = new_id()
    path = imports.upload_path(settings, import_id)
    path.write_bytes(b"id_number\n")
    spooled = imports.Spooled(path=path, size=10, sha256="0" * 64, filename="x.csv")
    await imports.start_import(session, ctx, base.principal, import_id, spooled)
    await session.commit()
    url = f"/api/v1/training-records/imports/{import_id}"
    # A fresh import whose worker has not started yet (no lock file) is given time…
    assert (await client.get(url, headers=base.headers)).json()["status"] == "running"
    # …but not forever: its heartbeat goes stale (a worker on another host that died).
    row = await session.get(RosterImport, import_id)
    assert row is not None
    row.heartbeat_at = row.heartbeat_at - dt.timedelta(seconds=imports.STALE_AFTER_SECONDS + 1)
    await session.commit()
    body = (await client.get(url, headers=base.headers)).json()
    assert body["status"] == "failed" and body["failure"]["code"] == "worker_lost"
    assert not path.exists()
    # Orphaned spool files (a crash before the import row was committed) are swept.
    old, fresh, held = (imports.upload_path(settings, new_id()) for _ in range(3))
    for spool in (old, fresh, held):
        spool.write_bytes(b"secret")
    long_ago = 1_000_000_000
    os.utime(old, (long_ago, long_ago))
    os.utime(held, (long_ago, long_ago))
    lock = imports.WorkerLock(imports.lock_path(settings, uuid.UUID(held.stem)))
    lock.acquire()
    try:
        assert imports.sweep_orphans(settings) == 1
    finally:
        lock.release()
    assert not old.exists() and fresh.exists() and held.exists()


@pytest.mark.postgres
async def test_heartbeat_on_postgres(client, factory: Factory, session, monkeypatch) -> None:
    """PostgreSQL: a side connection refreshes heartbeat_at while the import transaction runs."""
    base, _ = await accredited_base(client, factory)
    await add_course(client, base, "SK", hours=6)
    monkeypatch.setattr(imports, "HEARTBEAT_SECONDS", 0.05)
    original = imports.Importer.process

    async def slow(self, items):
        await asyncio.sleep(1)
        await original(self, items)

    monkeypatch.setattr(imports.Importer, "process", slow)
    content = csv_bytes([[factory.id_number(), "周杰", "SK", "6", "2025-05-01", "H-1"]])
    started = (await upload(client, base, content)).json()
    import_id = uuid.UUID(started["id"])
    first = await session.scalar(
        select(RosterImport.heartbeat_at).where(RosterImport.id == import_id)
    )
    await session.rollback()
    beats = set()
    for _ in range(40):
        beats.add(
            await session.scalar(
                select(RosterImport.heartbeat_at).where(RosterImport.id == import_id)
            )
        )
        await session.rollback()
        await asyncio.sleep(0.02)
    assert len(beats - {first}) >= 2
    assert (await wait_import(client, base, started["id"]))["status"] == "done"
