"""Ready chunks (the reader child's own look-ups, SQLite) give exactly what row-by-row gives.

The same random roster is imported into two copies of one database: once with every chunk
checked row by row by the importer, once with the reader child sending the plain chunks ready
to write. Everything the import leaves behind must be equal: the import's counts and errors
(lines, codes, details), the records, the running totals, the region hours, the rule-met
counts, the links and the registrations.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import random
import shutil
import signal
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import PG_URL
from tests.factories import Factory
from tests.unit.training.support import accredited_base, add_course, csv_bytes, import_rows, log
from workforce.context import AppContext
from workforce.db import make_engine, new_id
from workforce.practitioners.models import Practitioner
from workforce.settings import Settings
from workforce.training import imports, reader, ruleindex
from workforce.training.models import RosterImport, TrainingRecord, TrainingTotal

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(bool(PG_URL), reason="ready chunks are the SQLite path"),
]

DAYS = [dt.date(2025, 3, d) for d in range(1, 8)] + [dt.date(2024, 12, 30), dt.date(2026, 1, 5)]


def _database_file(settings: Settings) -> Path:
    return Path(settings.effective_database_url.split("///", 1)[1])


def _outcome(path: Path, import_id: uuid.UUID) -> dict[str, Any]:
    """What an import left behind, by natural keys (ids differ between the two runs)."""
    con = sqlite3.connect(path)
    try:
        key = "(SELECT hex(subject_key) FROM practitioners p WHERE p.id = t.practitioner_id)"
        return {
            "import": con.execute(
                "SELECT status, total_rows, accepted, rejected, already_recorded, registered "
                "FROM training_imports WHERE id = ?",
                (import_id.hex,),
            ).fetchall(),
            "errors": con.execute(
                "SELECT line, code, detail FROM training_import_errors ORDER BY line"
            ).fetchall(),
            "records": con.execute(
                f"SELECT t.external_ref, {key}, t.course_code, t.category, t.mode, "  # noqa: S608 - constant
                "t.hours_tenths, t.completed_on, t.import_id FROM training_records t "
                "ORDER BY t.base_org_id, t.external_ref"
            ).fetchall(),
            "totals": con.execute(
                f"SELECT {key}, t.category, t.year, t.mode, t.hours_tenths "  # noqa: S608 - constant
                "FROM training_totals t ORDER BY 1, 2, 3, 4"
            ).fetchall(),
            "region_hours": con.execute(
                "SELECT * FROM training_region_hours ORDER BY 1, 2, 3, 4"
            ).fetchall(),
            "rule_met": con.execute("SELECT * FROM training_rule_met ORDER BY 1, 2, 3").fetchall(),
            "links": con.execute(
                f"SELECT {key}, t.org_id, t.relation FROM practitioner_links t ORDER BY 1, 2, 3"  # noqa: S608 - constant
            ).fetchall(),
            "people": con.execute(
                "SELECT hex(subject_key), name, region_code, positions FROM practitioners "
                "ORDER BY 1"
            ).fetchall(),
        }
    finally:
        con.close()


def _random_rows(
    rng: random.Random, registered: list[tuple[str, str]], strangers: list[tuple[str, str]]
) -> list[list[str]]:
    """Mostly plain rows of registered people; repeats, replays, caps, errors sprinkled in."""
    rows = []
    for i in range(rng.randint(800, 1200)):
        number, name = rng.choice(strangers if rng.random() < 0.004 else registered)
        if rng.random() < 0.003:
            name = "别人"  # name_mismatch
        ref = f"R{i}"
        roll = rng.random()
        if roll < 0.02:
            ref = f"R{rng.randrange(max(i, 1))}"  # repeats an earlier reference (any chunk)
        elif roll < 0.026:
            ref = f"OLD{rng.randrange(12)}"  # recorded before the import (replay or conflict)
        hours = rng.choice(["1", "2", "2.5", "4", "6", "8"])
        if rng.random() < 0.005:
            hours = "abc"  # invalid_hours, its reference still noted
        code = rng.choice(["SK", "SK", "ETH", "CR"])
        rows.append([number, name, code, hours, rng.choice(DAYS).isoformat(), ref])
    return rows


async def _import(
    settings: Settings,
    ctx: AppContext,
    base: Any,
    db_file: Path,
    content: bytes,
    import_id: uuid.UUID,
    *,
    ready: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[str, dict[str, int]]:
    """Import ``content`` into ``db_file`` through the reader child, ready chunks on or off."""
    url = f"sqlite+aiosqlite:///{db_file}"
    calls = {"ready": 0, "recheck": 0, "flips": 0}
    original = imports.Importer.process_ready
    original_recheck = imports.Importer._recheck

    async def recheck(self: imports.Importer, *args: Any) -> Any:
        calls["recheck"] += 1
        return await original_recheck(self, *args)

    original_flips = ruleindex.RuleIndex.flips

    def flips(self: ruleindex.RuleIndex, *args: Any) -> Any:
        calls["flips"] += 1  # in this process only: the reader's own are not counted
        return original_flips(self, *args)

    async def counted(self: imports.Importer, chunk: reader.ReadyChunk) -> None:
        calls["ready"] += 1
        await original(self, chunk)

    with monkeypatch.context() as patch:
        patch.setattr(imports, "READER_PROCESS_MIN_BYTES", 0)
        patch.setattr(imports, "HEAD_ROWS", 30)
        patch.setattr(imports.Importer, "process_ready", counted)
        patch.setattr(imports.Importer, "_recheck", recheck)
        patch.setattr(ruleindex.RuleIndex, "flips", flips)
        if not ready:
            patch.setattr(imports.Importer, "lookups", lambda self: None)
        imports.upload_path(settings, import_id).write_bytes(content)
        engine = make_engine(url)
        try:
            status = await imports.run_import(
                engine,
                ctx,
                base.principal,
                import_id,
                file_format="csv",
                encoding="utf-8",
                chunk_rows=60,
            )
        finally:
            await engine.dispose()
    return status, calls


@pytest.mark.parametrize("seed", [*range(4), "plain"])
async def test_ready_chunks_give_what_row_by_row_gives(  # noqa: PLR0915 - one scenario, two runs
    client, factory: Factory, session, settings, ctx, tmp_path, monkeypatch, seed: int | str
) -> None:
    """``plain``: like the benchmark, every person's rows together, nothing to refuse."""
    rng = random.Random(str(seed))
    base, _ = await accredited_base(client, factory)
    other, _ = await accredited_base(client, factory, region="320104")
    for actor in (base, other):
        await add_course(client, actor, "SK", hours=8)
        await add_course(client, actor, "ETH", category="ethics", hours=4, mode="online")
        await add_course(client, actor, "CR", category="caregiver_round", hours=8)
    registered = []
    for i in range(60 if seed == "plain" else 25):
        positions = ["director"] if i % 5 == 0 else ["caregiver"]
        person, number = await factory.practitioner(by=base, positions=positions)
        registered.append((number, person.name, person.id))
    strangers = [(factory.id_number(), f"新人{i}") for i in range(4)]
    # Hours recorded before the import: its references (replays, conflicts) and busy days,
    # by this base and by another one (the daily cap counts every base).
    for i in range(0 if seed == "plain" else 12):
        _, _, pid = rng.choice(registered)
        day = rng.choice(DAYS)
        response = await log(client, base, pid, "SK", rng.choice([2, 6, 8]), day, f"OLD{i}")
        assert response.status_code in (201, 422), response.text  # 422: that day is full
        response = await log(client, other, pid, "SK", 4, day, f"X{i}")
        assert response.status_code in (201, 422), response.text
    if seed == "plain":
        # Like the benchmark, but the people straddle chunks, and half of them meet the yearly
        # skills rule (72 h) within the file.
        weeks = [dt.date(2025, 1, 6) + dt.timedelta(days=7 * k) for k in range(9)]
        rows = [
            [number, name, "SK", "8", day.isoformat(), f"P{i}-{k}"]
            for i, (number, name, _) in enumerate(registered)
            for k, day in enumerate(weeks[: 9 if i % 2 else 5])
        ]
    else:
        rows = _random_rows(rng, [(n, name) for n, name, _ in registered], strangers)
    content = csv_bytes(rows)
    import_id = new_id()
    spooled = imports.Spooled(
        path=imports.upload_path(settings, import_id),
        size=len(content),
        sha256="0" * 64,
        filename="r.csv",
        file_format="csv",
        encoding="utf-8",
    )
    spooled.path.write_bytes(content)
    await imports.start_import(session, ctx, base.principal, import_id, spooled)
    await session.commit()
    source = _database_file(settings)
    with sqlite3.connect(source) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    copies = {}
    for name in ("row_by_row", "ready"):
        copies[name] = tmp_path / f"{name}.db"
        shutil.copyfile(source, copies[name])
    status, calls = await _import(
        settings,
        ctx,
        base,
        copies["row_by_row"],
        content,
        import_id,
        ready=False,
        monkeypatch=monkeypatch,
    )
    assert status == "done" and calls["ready"] == 0
    status, calls = await _import(
        settings,
        ctx,
        base,
        copies["ready"],
        content,
        import_id,
        ready=True,
        monkeypatch=monkeypatch,
    )
    assert status == "done"
    assert calls["ready"] > 0  # the scenario does go through ready chunks
    if seed == "plain":
        # Most rule flips came from the reader; people straddling two chunks were evaluated
        # here (their totals before the chunk are not the ones the reader saw).
        assert 0 < calls["flips"] < len(registered) // 2, calls
    expected = _outcome(copies["row_by_row"], import_id)
    got = _outcome(copies["ready"], import_id)
    for part in expected:
        assert got[part] == expected[part], part
    codes = {code for _, code, _ in expected["errors"]}
    if seed == "plain":
        assert not codes and expected["import"][0][2] == len(rows)
        assert sum(met for *_, met in expected["rule_met"]) == len(registered) // 2
    else:
        assert {"duplicate_in_file", "invalid_hours"} <= codes, codes  # the mix is there
        assert calls["recheck"] > 0


async def test_ready_chunks_of_a_killed_reader_leave_nothing(
    client, factory: Factory, session, monkeypatch
) -> None:
    """The reader child dies after a ready chunk was written: nothing stays, the import fails."""
    base, _ = await accredited_base(client, factory)
    await add_course(client, base, "SK", hours=6)
    people = [await factory.practitioner(by=base) for _ in range(20)]
    # Far more than the pipe holds (1 MiB): the child cannot have finished when it is killed.
    content = csv_bytes(
        [
            [
                people[i % 20][1],
                people[i % 20][0].name,
                "SK",
                "1",
                f"2025-{1 + i % 12:02}-{1 + i // 240 % 28:02}",
                f"D-{i}",
            ]
            for i in range(60_000)
        ]
    )
    children: list[reader.ReaderProcess] = []
    original_init = reader.ReaderProcess.__init__
    original_ready = imports.Importer.process_ready

    def init(self: reader.ReaderProcess) -> None:
        original_init(self)
        children.append(self)

    async def process_ready(self: imports.Importer, chunk: reader.ReadyChunk) -> None:
        await original_ready(self, chunk)
        if children and children[0]._proc.poll() is None:
            os.kill(children[0].pid, signal.SIGKILL)
            children[0]._proc.wait()

    monkeypatch.setattr(imports, "READER_PROCESS_MIN_BYTES", 0)
    monkeypatch.setattr(imports, "CHUNK_ROWS", 500)
    monkeypatch.setattr(reader.ReaderProcess, "__init__", init)
    monkeypatch.setattr(imports.Importer, "process_ready", process_ready)
    before = await session.scalar(select(func.count()).select_from(Practitioner))
    await session.rollback()
    body = await import_rows(client, base, content)
    assert len(children) == 1
    assert body["status"] == "failed" and body["failure"]["code"] == "worker_lost", body
    assert body["accepted"] == 0 and body["errors"] == []
    for model in (TrainingRecord, TrainingTotal):
        assert await session.scalar(select(func.count()).select_from(model)) == 0
    assert await session.scalar(select(func.count()).select_from(Practitioner)) == before
    row = await session.scalar(select(RosterImport))
    assert row is not None and row.status == "failed"


def test_the_bloom_filter_never_forgets() -> None:
    seen = reader._Bloom(1_000)
    values = [f"R-{i}" for i in range(5_000)]  # five times what it was sized for
    assert not any(seen.add(value) for value in values[:1])
    for value in values[1:]:
        seen.add(value)
    assert all(seen.add(value) for value in values)
    fresh = sum(seen.add(f"other-{i}") for i in range(1_000))
    assert fresh < 200  # overloaded, still mostly right; a false "seen" costs an exact check


async def test_a_database_the_reader_cannot_open_means_row_by_row(
    client, factory: Factory, session, settings, ctx, tmp_path, monkeypatch
) -> None:
    """No snapshot for the reader (e.g. the file is not where it looks): nothing fails."""
    base, _ = await accredited_base(client, factory)
    await add_course(client, base, "SK", hours=8)
    people = [await factory.practitioner(by=base) for _ in range(5)]
    content = csv_bytes(
        [
            [number, person.name, "SK", "2", f"2025-03-{1 + k:02}", f"N{i}-{k}"]
            for i, (person, number) in enumerate(people)
            for k in range(20)
        ]
    )
    original = imports.Importer.lookups

    def elsewhere(self: imports.Importer) -> reader.Lookups | None:
        found = original(self)
        assert found is not None
        return dataclasses.replace(found, database=str(tmp_path / "missing" / "workforce.db"))

    monkeypatch.setattr(imports.Importer, "lookups", elsewhere)
    monkeypatch.setattr(imports, "READER_PROCESS_MIN_BYTES", 0)
    monkeypatch.setattr(imports, "CHUNK_ROWS", 20)
    monkeypatch.setattr(imports, "HEAD_ROWS", 10)
    ready = []
    original_ready = imports.Importer.process_ready

    async def counted(self: imports.Importer, chunk: reader.ReadyChunk) -> None:
        ready.append(chunk)
        await original_ready(self, chunk)

    monkeypatch.setattr(imports.Importer, "process_ready", counted)
    body = await import_rows(client, base, content)
    assert body["status"] == "done" and body["accepted"] == 100 and body["errors"] == [], body
    assert ready == []
    assert await session.scalar(select(func.count()).select_from(TrainingRecord)) == 100
