"""Training figures: roster imports, one practitioner's compliance, the regional report.

    python -m bench.training [--full] [--practitioners N] [--records N] [--one-file]

Default: 10^5 practitioners and 10^6 records on SQLite; ``--full``: 10^6 and 10^7.
``--one-file``: every practitioner under one base, so the records come as a single roster file
(10^6 rows by default: the issue's memory bound).
Every figure is printed next to a raw peer measured in the same run, and as a ratio:

* roster import (the service's bulk path, one subprocess per file, CSV parsed and validated,
  bulk lookups, records + running totals + region aggregates + rule counts in one transaction)
  vs a raw ``sqlite3`` ``executemany`` of the same record rows into a table of the same shape;
* peak memory of an import (``ru_maxrss`` of the import subprocess; ``VmHWM`` of its reader
  child, sampled every 50 ms: a child's ``ru_maxrss`` also counts the parent's pages it saw
  between vfork and exec);
* CPU time of an import: the import subprocess (all threads) plus its reader child process.
* one practitioner's compliance for a year (``service.compliance``) vs a raw single-row SELECT;
* the regional report (``reports.workforce_report``) vs a raw GROUP BY over the records.

Data is realistic: valid ID numbers from many counties, Chinese names, 8 accredited bases in
five provinces, four course categories, at most one completion per practitioner per day.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import json
import logging
import os
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from workforce import synth
from workforce.context import AppContext
from workforce.db import make_engine, new_id
from workforce.migrate import upgrade
from workforce.orgs.schemas import OrgCreate
from workforce.orgs.service import create_org
from workforce.practitioners.models import Practitioner
from workforce.practitioners.service import register_many
from workforce.security.principal import Principal
from workforce.settings import Settings
from workforce.training import imports, service
from workforce.training.reports import workforce_report
from workforce.training.schemas import AccreditationCreate, CourseCreate, DeliveryMode

OUT = Path("bench/out/training")
BASES = ["320102", "320104", "320505", "320205", "110101", "310101", "440103", "330102"]
COURSES: list[tuple[str, str, DeliveryMode]] = [
    ("SK", "skills", "in_person"),
    ("ETH", "ethics", "online"),
    ("CR", "caregiver_round", "in_person"),
    ("DR", "director_round", "in_person"),
]
COURSE_WEIGHTS = [5, 2, 2, 1]
YEARS = (2024, 2025)
REGISTER_BATCH = 5_000


def settings_for(out: Path) -> Settings:
    return Settings(var_dir=out, keys_dir=out / "keys", environment="test", scrypt_log2_n=10)


# --------------------------------------------------------------------------- setup


async def make_orgs(settings: Settings) -> dict[str, Any]:
    """Regulators, accredited bases and their courses."""
    rng = random.Random(11)
    ctx = AppContext.open(settings)
    engine = make_engine(settings.effective_database_url)
    out: dict[str, Any] = {"bases": []}
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        national, _ = await create_org(
            session,
            ctx,
            None,
            msgspec.convert(
                {"kind": "regulator", "name": "国家卫生健康委员会", "region_code": "000000"},
                OrgCreate,
            ),
        )
        province, _ = await create_org(
            session,
            ctx,
            None,
            msgspec.convert(
                {"kind": "regulator", "name": "江苏省卫生健康委员会", "region_code": "320000"},
                OrgCreate,
            ),
        )
        out["national"] = [str(national.id), "000000"]
        out["province"] = [str(province.id), "320000"]
        nat = Principal(client_id="bench", org_id=national.id, role="regulator", region="000000")
        for region in BASES:
            org, creds = await create_org(
                session,
                ctx,
                None,
                msgspec.convert(
                    {
                        "kind": "training_base",
                        "name": f"实训基地{region}",
                        "region_code": region,
                        "uscc": synth.random_uscc(rng, region),
                    },
                    OrgCreate,
                ),
            )
            await service.accredit(
                session,
                ctx,
                nat,
                org.id,
                AccreditationCreate(
                    level="province",
                    valid_from=dt.date(2020, 1, 1),
                    valid_until=dt.date(2030, 12, 31),
                    categories=[c[1] for c in COURSES],
                    certificate_types=[],
                ),
            )
            actor = Principal(
                client_id=creds.client_id, org_id=org.id, role="training_base", region=region
            )
            for code, category, mode in COURSES:
                await service.create_course(
                    session,
                    ctx,
                    actor,
                    CourseCreate(
                        code=code,
                        title=f"课程{code}",
                        category=category,
                        hours=12,
                        delivery_mode=mode,
                    ),
                )
            out["bases"].append([str(org.id), region, creds.client_id])
        await session.commit()
    await engine.dispose()
    return out


async def register_people(
    settings: Settings, orgs: dict[str, Any], count: int
) -> tuple[float, Path]:
    """Register ``count`` practitioners through ``register_many`` (one base each, round robin).

    Writes their numbers and names to a side file (deleted at the end of the run).
    """
    rng = random.Random(7)
    ctx = AppContext.open(settings)
    engine = make_engine(settings.effective_database_url)
    maker = async_sessionmaker(engine, expire_on_commit=False)
    numbers = synth.unique_id_numbers(rng, count)
    people_file = OUT / "people.tsv"
    started = time.perf_counter()
    with people_file.open("w", encoding="utf-8") as side:
        done = 0
        while done < count:
            size = min(REGISTER_BATCH, count - done)
            batch = [
                (
                    next(numbers),
                    synth.random_name(rng),
                    ["director"] if rng.random() < 0.1 else ["caregiver"],
                )
                for _ in range(size)
            ]
            by_base: dict[int, list[tuple[str, str, list[str]]]] = {}
            for i, person in enumerate(batch):
                by_base.setdefault((done + i) % len(orgs["bases"]), []).append(person)
            async with maker() as session:
                for index, people in by_base.items():
                    org_id, region, client_id = orgs["bases"][index]
                    actor = Principal(
                        client_id=client_id,
                        org_id=uuid.UUID(org_id),
                        role="training_base",
                        region=region,
                    )
                    await register_many(session, ctx, actor, people)
                await session.commit()
            for i, (number, name, _) in enumerate(batch):
                side.write(f"{(done + i) % len(orgs['bases'])}\t{number}\t{name}\n")
            done += size
    elapsed = time.perf_counter() - started
    await engine.dispose()
    return elapsed, people_file


def write_rosters(
    people_file: Path, n_bases: int, per_person: int, seed: int, tag: str
) -> list[Path]:
    """One CSV per base: ``per_person`` completions per practitioner on distinct days."""
    rng = random.Random(seed)
    days = [dt.date(year, 1, 1) + dt.timedelta(days=d) for year in YEARS for d in range(360)]
    files = [OUT / f"roster-{tag}-{i}.csv" for i in range(n_bases)]
    handles = [f.open("w", encoding="utf-8", newline="") for f in files]
    writers = [csv.writer(h) for h in handles]
    for w in writers:
        w.writerow(["id_number", "name", "course_code", "hours", "completed_on", "external_ref"])
    codes = [c[0] for c in COURSES]
    with people_file.open(encoding="utf-8") as side:
        for n, line in enumerate(side):
            index, number, name = line.rstrip("\n").split("\t")
            writer = writers[int(index)]
            for k, day in enumerate(rng.sample(days, per_person)):
                code = rng.choices(codes, COURSE_WEIGHTS)[0]
                hours = rng.randint(10, 120) / 10
                writer.writerow(
                    [number, name, code, f"{hours:.1f}", day.isoformat(), f"{tag}-{n}-{k}"]
                )
    for h in handles:
        h.close()
    return files


# --------------------------------------------------------------------------- import worker (subprocess)


def import_worker(args: dict[str, Any]) -> None:
    """Import one file as the CLI does; print seconds, rows and peak RSS as JSON."""
    logging.disable(logging.WARNING)
    settings = settings_for(Path(args["out"]))
    ctx = AppContext.open(settings)
    actor = Principal(
        client_id="bench",
        org_id=uuid.UUID(args["org_id"]),
        role="training_base",
        region=args["region"],
    )

    async def main() -> dict[str, Any]:
        engine = make_engine(settings.effective_database_url)
        import_id = new_id()
        source = Path(args["file"])
        spooled = imports.Spooled(
            path=imports.upload_path(settings, import_id),
            size=source.stat().st_size,  # noqa: ASYNC240 - a benchmark driver
            sha256="bench",
            filename=source.name,
        )
        os.link(source, spooled.path)
        imports.inspect_file(spooled)
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            await imports.start_import(session, ctx, actor, import_id, spooled)
            await session.commit()
        cpu0, child_cpu0 = _cpu_seconds(), _cpu_seconds(resource.RUSAGE_CHILDREN)
        watcher = ChildPeak()
        watcher.start()
        started = time.perf_counter()
        status = await imports.run_import(
            engine,
            ctx,
            actor,
            import_id,
            file_format=spooled.file_format,
            encoding=spooled.encoding,
        )
        elapsed = time.perf_counter() - started
        watcher.stop()
        cpu = _cpu_seconds() - cpu0
        child_cpu = _cpu_seconds(resource.RUSAGE_CHILDREN) - child_cpu0
        async with async_sessionmaker(engine)() as session:
            from workforce.training.models import RosterImport  # noqa: PLC0415

            row = await session.get(RosterImport, import_id)
            assert row is not None
            counts = {
                "accepted": row.accepted,
                "rejected": row.rejected,
                "registered": row.registered,
                "total_rows": row.total_rows,
            }
        await engine.dispose()
        return {
            "status": status,
            "seconds": elapsed,
            "cpu_seconds": cpu + child_cpu,
            "parent_cpu_seconds": cpu,
            "child_cpu_seconds": child_cpu,
            "import_id": import_id.hex,
            "child_peak_mb": watcher.peak_kib / 1024,
            **counts,
        }

    result = asyncio.run(main())
    result["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # The kernel's ru_maxrss of a child also counts the pages it shared with this process
    # between vfork and exec; the reader's own peak is its VmHWM, sampled by ChildPeak.
    result["child_maxrss_mb"] = result.pop("child_peak_mb")
    print(json.dumps(result))


class ChildPeak(threading.Thread):
    """Samples the peak RSS (``VmHWM``) of this process's children (the reader) every 50 ms."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak_kib = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(0.05):
            self.sample()

    def sample(self) -> None:
        for children in Path("/proc/self/task").glob("*/children"):
            try:
                pids = children.read_text().split()
            except OSError:
                continue
            for pid in pids:
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                for line in status.splitlines():
                    if line.startswith("VmHWM:"):
                        self.peak_kib = max(self.peak_kib, int(line.split()[1]))

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def _cpu_seconds(who: int = resource.RUSAGE_SELF) -> float:
    """CPU time (user + system) of this process, all threads, or of its reaped children."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def run_import_subprocess(out: Path, org: list[str], file: Path) -> dict[str, Any]:
    payload = json.dumps({"out": str(out), "org_id": org[0], "region": org[1], "file": str(file)})
    done = subprocess.run(
        [sys.executable, "-m", "bench.training", "--import-worker", payload],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


# --------------------------------------------------------------------------- raw peers


def raw_insert_rate(db_file: Path, import_id: str, cache_kib: int) -> tuple[float, float]:
    """Rows/s of a raw ``sqlite3`` ``executemany`` of exactly the rows an import inserted.

    The rows are copied, 5,000 at a time, into a twin of ``training_records`` (same columns,
    indexes and foreign keys, enforced) in the same database, with the same pragmas as the
    import's connection; only the ``executemany`` calls and the commit are timed. The twin
    starts empty, whereas the import writes into a table that already holds the earlier
    imports' rows: if anything, that favours the peer.

    Returns rows per wall-clock second and rows per CPU second (this process, single-threaded
    here), the latter to read the comparison on a loaded machine.
    """
    con = sqlite3.connect(db_file, isolation_level=None)
    for pragma in (
        "journal_mode=WAL",
        "synchronous=NORMAL",
        "foreign_keys=ON",
        f"cache_size=-{cache_kib}",
    ):
        con.execute(f"PRAGMA {pragma}")
    ddl = [
        r[0]
        for r in con.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'training_records' AND sql IS NOT NULL"
        )
    ]
    con.execute("DROP TABLE IF EXISTS bench_raw_records")
    for statement in ddl:
        con.execute(statement.replace("training_records", "bench_raw_records"))
    columns = (
        "id, base_org_id, practitioner_id, course_id, course_code, category, mode, hours_tenths, "
        "completed_on, external_ref, import_id, created_at"
    )
    reader = sqlite3.connect(db_file)
    cursor = reader.execute(
        f"SELECT {columns} FROM training_records WHERE import_id = ?",  # noqa: S608 - constants
        (import_id,),
    )
    sql = f"INSERT INTO bench_raw_records ({columns}) VALUES ({', '.join('?' * 12)})"  # noqa: S608
    elapsed, cpu, rows = 0.0, 0.0, 0
    con.execute("BEGIN")
    while batch := cursor.fetchmany(5000):
        t0, c0 = time.perf_counter(), _cpu_seconds()
        con.executemany(sql, batch)
        elapsed += time.perf_counter() - t0
        cpu += _cpu_seconds() - c0
        rows += len(batch)
    t0, c0 = time.perf_counter(), _cpu_seconds()
    con.execute("COMMIT")
    elapsed += time.perf_counter() - t0
    cpu += _cpu_seconds() - c0
    reader.close()
    con.execute("DROP TABLE bench_raw_records")
    con.close()
    return rows / elapsed, rows / max(cpu, 1e-9)


def raw_select_us(db_file: Path, ids: list[uuid.UUID]) -> float:
    con = sqlite3.connect(db_file)
    keys = [i.hex for i in ids]
    started = time.perf_counter()
    for key in keys:
        con.execute("SELECT * FROM practitioners WHERE id = ?", (key,)).fetchone()
    elapsed = time.perf_counter() - started
    con.close()
    return elapsed / len(keys) * 1e6


def raw_group_by_s(db_file: Path, prefix: str, year: int, repeat: int = 3) -> float:
    """The naive report: hours per sub-region and category straight from the records."""
    con = sqlite3.connect(db_file)
    width = 2 if prefix == "" else len(prefix) + 2
    sql = (
        f"SELECT substr(p.region_code, 1, {width}) AS sub, r.category, SUM(r.hours_tenths), "  # noqa: S608
        "COUNT(*), COUNT(DISTINCT r.practitioner_id) "
        "FROM training_records r JOIN practitioners p ON p.id = r.practitioner_id "
        "WHERE r.voided_at IS NULL AND r.completed_on BETWEEN ? AND ? AND p.region_code LIKE ? "
        "GROUP BY sub, r.category"
    )
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        con.execute(sql, (f"{year}-01-01", f"{year}-12-31", prefix + "%")).fetchall()
        best = min(best, time.perf_counter() - started)
    con.close()
    return best


# --------------------------------------------------------------------------- reads


async def compliance_ms(settings: Settings, sample: int) -> tuple[list[float], list[uuid.UUID]]:
    ctx = AppContext.open(settings)
    engine = make_engine(settings.effective_database_url)
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        ids = list((await session.scalars(select(Practitioner.id).limit(200_000))).all())
        chosen = random.Random(5).sample(ids, min(sample, len(ids)))
        people = [await session.get(Practitioner, pid) for pid in chosen]
        timings = []
        for person in people:
            assert person is not None
            started = time.perf_counter()
            await service.compliance(session, ctx, person, 2025)
            timings.append((time.perf_counter() - started) * 1000)
    await engine.dispose()
    return timings, chosen


async def report_s(settings: Settings, org: list[str], repeat: int = 3) -> tuple[float, Any]:
    ctx = AppContext.open(settings)
    engine = make_engine(settings.effective_database_url)
    actor = Principal(client_id="bench", org_id=uuid.UUID(org[0]), role="regulator", region=org[1])
    best, report = float("inf"), None
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        for _ in range(repeat):
            started = time.perf_counter()
            report = await workforce_report(session, ctx, actor, None, 2025)
            best = min(best, time.perf_counter() - started)
            await session.rollback()
    await engine.dispose()
    return best, report


# --------------------------------------------------------------------------- main


def main() -> None:  # noqa: PLR0915 - a linear script
    logging.getLogger("httpx").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--full", action="store_true", help="10^6 practitioners, 10^7 records")
    parser.add_argument("--practitioners", type=int, default=None)
    parser.add_argument("--records", type=int, default=None)
    parser.add_argument(
        "--one-file",
        action="store_true",
        help="every practitioner under one base: a single roster file of all the records",
    )
    parser.add_argument("--import-worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.import_worker:
        import_worker(json.loads(args.import_worker))
        return
    people = args.practitioners or (1_000_000 if args.full else 100_000)
    records = args.records or people * 10
    per_person = max(1, records // people)
    records = people * per_person

    OUT.mkdir(parents=True, exist_ok=True)
    for f in OUT.iterdir():
        if f.is_file():
            f.unlink()
    settings = settings_for(OUT)
    upgrade(settings.effective_database_url)
    run_started = time.perf_counter()
    print(f"bench.training: {people:,} practitioners, {records:,} records", flush=True)

    orgs = asyncio.run(make_orgs(settings))
    if args.one_file:
        orgs["bases"] = orgs["bases"][:1]
    reg_s, people_file = asyncio.run(register_people(settings, orgs, people))
    print(f"registered {people:,} in {reg_s:.1f} s ({people / reg_s:,.0f}/s)", flush=True)
    files = write_rosters(people_file, len(orgs["bases"]), per_person, seed=1, tag="A")
    sizes = [f.stat().st_size for f in files]
    print(f"rosters written: {sum(sizes) / 1e6:,.0f} MB in {len(files)} files", flush=True)

    results = []
    db_file = OUT / "workforce.db"
    raw_rates = []
    raw_cpu_rates = []
    for org, file in zip(orgs["bases"], files, strict=True):
        result = run_import_subprocess(OUT, org, file)
        results.append(result)
        assert result["status"] == "done" and result["rejected"] == 0, result
        raw, raw_cpu = raw_insert_rate(db_file, result["import_id"], imports.IMPORT_CACHE_KIB)
        raw_rates.append(raw)
        raw_cpu_rates.append(raw_cpu)
        print(
            f"  imported {file.name}: {result['accepted']:,} rows in {result['seconds']:.1f} s "
            f"({result['accepted'] / result['seconds']:,.0f}/s; raw peer {raw:,.0f}/s; "
            f"ratio {result['accepted'] / result['seconds'] / raw:.2f}; CPU ratio "
            f"{result['accepted'] / result['cpu_seconds'] / raw_cpu:.2f}; CPU s import "
            f"{result['parent_cpu_seconds']:.2f} + reader {result['child_cpu_seconds']:.2f}), "
            f"peak RSS {result['maxrss_mb']:.0f} MB + reader {result['child_maxrss_mb']:.0f} MB",
            flush=True,
        )
        file.unlink()
    imported = sum(r["accepted"] for r in results)
    import_s = sum(r["seconds"] for r in results)
    import_rate = imported / import_s
    peak_mb = max(r["maxrss_mb"] for r in results)
    peak_child_mb = max(r["child_maxrss_mb"] for r in results)
    peak_sum_mb = max(r["maxrss_mb"] + r["child_maxrss_mb"] for r in results)
    largest = max(r["accepted"] for r in results)

    # Import of a roster whose people are not registered yet (registration on the way).
    new_count = min(20_000, people)
    fresh_people = OUT / "fresh.tsv"
    rng = random.Random(99)
    with fresh_people.open("w", encoding="utf-8") as side:
        numbers = synth.unique_id_numbers(rng, new_count, birth_year_range=(1970, 1979))
        for _ in range(new_count):
            side.write(f"0\t{next(numbers)}\t{synth.random_name(rng)}\n")
    fresh_files = write_rosters(fresh_people, 1, 5, seed=2, tag="N")
    fresh = run_import_subprocess(OUT, orgs["bases"][0], fresh_files[0])
    fresh_rate = fresh["accepted"] / fresh["seconds"]
    fresh_files[0].unlink()
    fresh_people.unlink()
    people_file.unlink()

    raw_rate = imported / sum(
        r["accepted"] / raw for r, raw in zip(results, raw_rates, strict=True)
    )
    import_cpu_rate = imported / sum(r["cpu_seconds"] for r in results)
    parent_cpu_rate = imported / sum(r["parent_cpu_seconds"] for r in results)
    raw_cpu_rate = imported / sum(
        r["accepted"] / raw for r, raw in zip(results, raw_cpu_rates, strict=True)
    )
    per_file = [
        r["accepted"] / r["seconds"] / raw for r, raw in zip(results, raw_rates, strict=True)
    ]
    timings, chosen = asyncio.run(compliance_ms(settings, 2000))
    raw_us = raw_select_us(db_file, chosen)
    province_s, province_report = asyncio.run(report_s(settings, orgs["province"]))
    national_s, _ = asyncio.run(report_s(settings, orgs["national"]))
    raw_repeat = 1 if imported > 5_000_000 else 3
    raw_province_s = raw_group_by_s(db_file, "32", 2025, raw_repeat)
    raw_national_s = raw_group_by_s(db_file, "", 2025, raw_repeat)
    total_s = time.perf_counter() - run_started

    p50 = statistics.median(timings)
    p99 = sorted(timings)[int(len(timings) * 0.99) - 1]
    mean = statistics.fmean(timings)
    assert province_report is not None
    label = ("--full" if args.full else "default") + (" --one-file" if args.one_file else "")
    lines = [
        f"## Training — {dt.date.today().isoformat()} — {people:,} practitioners, {imported:,} records (SQLite, `{label}` run, {total_s / 60:.0f} min)",
        "",
        "| figure | ours | raw peer (same run) | ratio | goal |",
        "|---|---|---|---|---|",
        f"| roster import, registered people ({len(results)} CSV files, largest {largest:,} rows; parse, validate, bulk lookups, records + totals + aggregates, one transaction per file) | {import_rate:,.0f} rows/s | raw sqlite3 `executemany` of the same rows into a twin of `training_records` (same indexes, foreign keys on, same pragmas; measured right after each of the {len(raw_rates)} imports): {raw_rate:,.0f} rows/s | {import_rate / raw_rate:.2f}× | ≥ 0.5× |",
        f"| same imports, per CPU second (user + system of the import process, all threads, plus its reader child process; the peer's CPU time likewise) | {import_cpu_rate:,.0f} rows/CPU-s | {raw_cpu_rate:,.0f} rows/CPU-s | {import_cpu_rate / raw_cpu_rate:.2f}× | (noise check) |",
        f"| same imports, CPU of the import process alone (the reader child left out) | {parent_cpu_rate:,.0f} rows/CPU-s | {raw_cpu_rate:,.0f} rows/CPU-s | {parent_cpu_rate / raw_cpu_rate:.2f}× | — |",
        f"| per-file ratios (wall) | {', '.join(f'{x:.2f}' for x in per_file)} | | min {min(per_file):.2f}× | |",
        f"| roster import of new people (registration on the way: HMAC, AES-GCM, insert) | {fresh_rate:,.0f} rows/s | same raw peer | {fresh_rate / raw_rate:.2f}× | — |",
        f"| peak memory of an import (ru_maxrss of the import subprocess + VmHWM of its reader child, file of {largest:,} rows) | {peak_mb:,.0f} MB + {peak_child_mb:,.0f} MB (sum at most {peak_sum_mb:,.0f} MB) | — | — | ≤ 300 MB |",
        f"| one practitioner's compliance for a year (`service.compliance`, {len(timings):,} random people) | mean {mean:.2f} ms, p50 {p50:.2f} ms, p99 {p99:.2f} ms | raw sqlite3 single-row SELECT by primary key: {raw_us:.0f} µs | {p50 * 1000 / raw_us:.1f}× (p50) | ≤ 2 ms |",
        f"| regional report, province (320000, by city) | {province_s * 1000:,.0f} ms | raw GROUP BY over the records (JOIN practitioners, year, region): {raw_province_s * 1000:,.0f} ms | {province_s / raw_province_s:.2f}× | ≤ 0.25× |",
        f"| regional report, national (by province) | {national_s * 1000:,.0f} ms | raw GROUP BY over the records: {raw_national_s * 1000:,.0f} ms | {national_s / raw_national_s:.2f}× | ≤ 0.25× |",
        f"| practitioner registration before the imports (`register_many`, context) | {people / reg_s:,.0f}/s | — | — | — |",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    Path("bench/results").mkdir(parents=True, exist_ok=True)
    Path("bench/results/training.md").write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
