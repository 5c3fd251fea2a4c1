"""Ban-ledger figures: inclusion proofs, durable appends and ``ledger verify`` at scale.

    python -m bench.ledger [--entries N] [--full] [--rounds R] [--workdir DIR [--verify-only | --appends-only]]

Peers measured in the same run (the machine is shared and noisy; ratios are what to compare):

- pymerkle 7.0's ``SqliteTree`` on a file holding the same leaves: proofs per second
  (``prove_inclusion``) and durable appends per second (``append_entry``, one commit each);
- for ``ledger verify``: reading the ``ledger_entries`` rows exactly as ``ledger verify`` reads
  them and hashing each leaf once, in one thread. Peer, ``ledger verify`` (default: one worker
  process per CPU) and ``ledger verify --jobs 1`` are timed alternately, ``--rounds`` rounds,
  each by the wall clock and by CPU time summed over the process and its (reaped) children, so
  that a win from using more CPUs shows as such.

``--workdir DIR`` keeps the populated databases in ``DIR``; ``--appends-only`` then re-runs only
the durable-append rounds on them (appending more entries), ``--verify-only`` only the verify
rounds (each prints its rows, without writing ``--out``).

The ledger is populated with the bulk path: ``service.append(session, ctx, *drafts)`` with 1000
entries per transaction and one signed checkpoint per batch. Durable appends are then made on top
of that tree through a ``LedgerWriter`` (each its own transaction with a freshly signed
checkpoint, one at a time, then 32 callers at once), and in the caller's unit of work.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import random
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from pymerkle import SqliteTree  # type: ignore[import-untyped]
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from workforce import synth
from workforce.context import AppContext
from workforce.db import make_engine
from workforce.ledger import fastverify, parallel, service, store
from workforce.ledger.cli import verify_database
from workforce.ledger.entry import Issuer
from workforce.ledger.fastverify import CHUNK
from workforce.ledger.writer import LedgerWriter
from workforce.migrate import upgrade
from workforce.settings import Settings

BATCH = 1000
APPEND_ROUNDS = 5
"""Rounds of durable appends, ours and pymerkle's alternating."""
CONCURRENT = 2
"""The concurrent run appends this many rounds' worth."""
CALLERS = 32
"""Callers appending at once in the concurrent run."""
VERIFY_ROUNDS = 5
ISSUER = Issuer(org="bench-regulator", region="320000")


def _rate(n: int, seconds: float) -> float:
    return n / seconds if seconds else float("inf")


class Drafts:
    """Ban drafts with valid, distinct ID numbers (pre-generated; cheap per draft)."""

    def __init__(self, ctx: AppContext, count: int) -> None:
        rng = random.Random(20261123)
        base = [synth.random_id_number(rng, region_code="320102") for _ in range(min(count, 5000))]
        self.numbers = [base[i % len(base)] for i in range(count)]
        self.ctx = ctx
        self.decision = service.commitment("decision", "宁卫罚〔2026〕1号")
        self.case = service.commitment("case", "(2026)苏0102刑初1号")

    def draft(self, i: int) -> service.Draft:
        return service.ban_draft(
            self.ctx,
            self.numbers[i],
            kind="lifetime",
            until=None,
            reason_code="child_abuse",
            issuer=ISSUER,
            decision=self.decision,
            case=self.case,
        )


async def populate(maker: async_sessionmaker[AsyncSession], drafts: Drafts, count: int) -> float:
    started = time.perf_counter()
    for start in range(0, count, BATCH):
        async with maker() as session:
            await service.append(
                session,
                drafts.ctx,
                *[drafts.draft(i) for i in range(start, min(count, start + BATCH))],
            )
            await session.commit()
    return time.perf_counter() - started


async def session_appends(
    maker: async_sessionmaker[AsyncSession], drafts: Drafts, first: int, count: int
) -> float:
    """Appends in the caller's unit of work (``service.append`` + commit), one at a time."""
    started = time.perf_counter()
    for i in range(first, first + count):
        async with maker() as session:
            await service.append(session, drafts.ctx, drafts.draft(i))
            await session.commit()
    return time.perf_counter() - started


async def writer_appends(
    writer: LedgerWriter, drafts: Drafts, first: int, count: int
) -> tuple[float, float]:
    """Durable appends through ``writer``, one at a time (each awaited before the next).

    Returns wall-clock and CPU seconds (the process, all its threads: the background WAL
    checkpoints included).
    """
    cpu, started = cpu_seconds(), time.perf_counter()
    for i in range(first, first + count):
        await writer.append(drafts.draft(i))
    return time.perf_counter() - started, cpu_seconds() - cpu


async def concurrent_appends(
    engine: AsyncEngine, drafts: Drafts, first: int, count: int, callers: int
) -> tuple[float, int]:
    """``callers`` tasks appending at once through one ``LedgerWriter``, one entry per call.

    Returns the wall-clock seconds and the number of transactions (each one signed checkpoint).
    """
    writer = LedgerWriter(drafts.ctx, engine)
    await writer.append(drafts.draft(first))
    before = writer.batches
    todo = iter(range(first + 1, first + count))

    async def caller() -> None:
        for i in todo:
            await writer.append(drafts.draft(i))

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(callers)))
    wall = time.perf_counter() - started
    batches = writer.batches - before
    await writer.close()
    return wall, batches


async def proofs(
    maker: async_sessionmaker[AsyncSession], size: int, indices: list[int]
) -> tuple[float, int]:
    longest = 0
    async with maker() as session:
        started = time.perf_counter()
        for index in indices:
            path = await service.inclusion_proof(session, index, size)
            longest = max(longest, len(path))
        elapsed = time.perf_counter() - started
    return elapsed, longest


def _read_and_hash_sync(db: Any) -> int:
    """Every ledger_entries row, read in the chunks ``ledger verify`` reads; each leaf hashed."""
    count, start, sha256 = 0, 0, hashlib.sha256
    while True:
        rows = db.execute(fastverify.ENTRIES_SQL, {"start": start, "end": start + CHUNK}).fetchall()
        for row in rows:
            sha256(b"\x00" + row[1]).digest()
        count += len(rows)
        if len(rows) < CHUNK:
            return count
        start += CHUNK


async def read_and_hash(url: str) -> tuple[float, int]:
    """The peer of ``ledger verify``: every ledger_entries row read, each leaf hashed once.

    Reads exactly as ``ledger verify`` does on SQLite: the same engine, read transaction and
    statement (``fastverify.ENTRIES_SQL``, ``CHUNK`` rows a query), on the driver's thread with
    the plain ``sqlite3`` connection, in one call, with the cyclic GC paused.
    """
    started = time.perf_counter()  # timed like verify_database: engine, connection, reads
    engine = make_engine(url)
    async with engine.connect() as conn, conn.begin():
        worker = store.sqlite_worker(conn)
        assert worker is not None
        with fastverify.paused_gc():  # as ledger verify reads
            count = await worker.run(lambda ledger: _read_and_hash_sync(ledger.db))
    await engine.dispose()
    return time.perf_counter() - started, count


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and its reaped children (verify's workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


async def _timed(work: Any) -> tuple[float, float, Any]:
    """Wall-clock seconds, CPU seconds (all processes) and result of awaiting ``work()``."""
    cpu, started = cpu_seconds(), time.perf_counter()
    result = await work()
    return time.perf_counter() - started, cpu_seconds() - cpu, result


def _spread(values: list[float]) -> str:
    ordered = sorted(values)
    return f"{statistics.median(ordered):.1f}× (rounds {ordered[0]:.1f}–{ordered[-1]:.1f}×)"


async def verify_rounds(settings: Settings, verifiers: Any, size: int, rounds: int) -> list[str]:
    """Peer, ``ledger verify`` and ``ledger verify --jobs 1``, alternated; the table rows."""
    url, origin = settings.database_url, settings.ledger_origin
    runs: dict[str, list[tuple[float, float]]] = {"peer": [], "jobs": [], "one": []}
    report = None
    for _ in range(rounds):  # alternate, so all see the same cache and load
        wall, cpu, (_, read_count) = await _timed(lambda: read_and_hash(url))
        assert read_count == size
        runs["peer"].append((wall, cpu))
        for name, jobs in (("jobs", None), ("one", 1)):
            wall, cpu, report = await _timed(
                lambda jobs=jobs: verify_database(url, verifiers, origin, jobs=jobs)
            )
            assert report.size == size
            runs[name].append((wall, cpu))
        print(
            "  round: peer {:.2f} s (cpu {:.2f}) | verify {:.2f} s (cpu {:.2f}) | "
            "--jobs 1 {:.2f} s (cpu {:.2f})".format(
                *runs["peer"][-1], *runs["jobs"][-1], *runs["one"][-1]
            ),
            flush=True,
        )
    assert report is not None

    def median(name: str, which: int) -> float:
        return statistics.median(run[which] for run in runs[name])

    def ratios(name: str, which: int) -> list[float]:
        return [r[which] / p[which] for r, p in zip(runs[name], runs["peer"], strict=True)]

    jobs = parallel.default_jobs()
    what = (
        f"entries re-parsed, re-hashed, chain, {report.subtrees:,} subtrees, "
        f"{report.checkpoints:,} checkpoints; median of {rounds} alternated rounds"
    )
    return [
        f"| `ledger verify` ({what}; {jobs} worker processes, the default on this "
        f"{jobs}-CPU box), wall clock | {median('jobs', 0):.2f} s | read rows + hash once "
        f"{median('peer', 0):.2f} s | {_spread(ratios('jobs', 0))} | ≤ 2× |",
        f"| the same, CPU time summed over all processes | {median('jobs', 1):.2f} s | "
        f"{median('peer', 1):.2f} s | {_spread(ratios('jobs', 1))} | |",
        f"| `ledger verify --jobs 1` (one process), wall clock | {median('one', 0):.2f} s | "
        f"{median('peer', 0):.2f} s | {_spread(ratios('one', 0))} | ≤ 2× |",
        f"| the same, CPU time | {median('one', 1):.2f} s | {median('peer', 1):.2f} s | "
        f"{_spread(ratios('one', 1))} | |",
    ]


class Pymerkle:
    """pymerkle 7.0's ``SqliteTree`` holding the same leaves (run on this thread)."""

    def __init__(self, path: Path, leaves: list[bytes]) -> None:
        """Open the tree at ``path`` and append ``leaves`` in bulk (none: an earlier run's)."""
        self.tree = SqliteTree(str(path))
        started = time.perf_counter()
        if leaves:
            self.tree.append_entries(leaves)
        self.bulk = time.perf_counter() - started

    def appends(self, data: list[bytes]) -> tuple[float, float]:
        """``append_entry`` (one commit each), one after the other: wall and CPU seconds."""
        cpu, started = cpu_seconds(), time.perf_counter()
        for item in data:
            self.tree.append_entry(item)
        return time.perf_counter() - started, cpu_seconds() - cpu

    def proofs(self, indices: list[int]) -> float:
        size = self.tree.get_size()
        started = time.perf_counter()
        for index in indices:
            self.tree.prove_inclusion(index + 1, size)
        return time.perf_counter() - started

    def close(self) -> None:
        self.tree.close()


def _settings(workdir: Path) -> Settings:
    return Settings(
        var_dir=workdir,
        database_url=f"sqlite+aiosqlite:///{workdir / 'ledger.db'}",
        keys_dir=workdir / "keys",
        environment="test",
    )


async def _entry_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        count: int = (await conn.execute(text("SELECT count(*) FROM ledger_entries"))).scalar_one()
    return count


def _appended(per_round: int) -> int:
    """How many entries :func:`append_figures` appends (at most)."""
    return (APPEND_ROUNDS + 3 + CONCURRENT) * per_round


async def verify_only(workdir: Path, rounds: int) -> str:
    """The verify rounds on a database populated by an earlier run with ``--workdir``."""
    settings = _settings(workdir)
    ctx = AppContext.open(settings)
    engine = make_engine(settings.database_url)
    size = await _entry_count(engine)
    await engine.dispose()
    print(f"verify rounds on {size:,} entries…", flush=True)
    return "\n".join(await verify_rounds(settings, service.verifiers(ctx), size, rounds))


async def append_figures(
    engine: AsyncEngine,
    drafts: Drafts,
    peer: Pymerkle,
    peer_data: list[bytes],
    first: int,
    per_round: int,
) -> tuple[list[str], int]:
    """The durable-append rows of the table, appending from entry ``first``; the new size.

    Ours and pymerkle's one-at-a-time appends alternate, round by round; ours go through one
    ``LedgerWriter``, kept across the rounds as a server process keeps it.
    """
    ctx, maker = drafts.ctx, async_sessionmaker(engine, expire_on_commit=False)
    writer = LedgerWriter(ctx, engine)
    await writer.append(drafts.draft(first))  # opens its connection (not timed)
    next_seq = first + 1
    ours_runs: list[tuple[float, float]] = []
    peer_runs: list[tuple[float, float]] = []
    for round_ in range(APPEND_ROUNDS):
        ours_runs.append(await writer_appends(writer, drafts, next_seq, per_round))
        next_seq += per_round
        peer_runs.append(peer.appends(peer_data[round_ * per_round : (round_ + 1) * per_round]))
        ours_now, peer_now = _rate(per_round, ours_runs[-1][0]), _rate(per_round, peer_runs[-1][0])
        print(f"  appends round: ours {ours_now:,.0f}/s | pymerkle {peer_now:,.0f}/s", flush=True)
    await writer.close()
    full = LedgerWriter(ctx, engine, synchronous="FULL")
    await full.append(drafts.draft(next_seq))
    full_wall, _ = await writer_appends(full, drafts, next_seq + 1, per_round)
    await full.close()
    next_seq += per_round + 1
    session_wall = await session_appends(maker, drafts, next_seq, per_round)
    next_seq += per_round
    concurrent_wall, batches = await concurrent_appends(
        engine, drafts, next_seq, CONCURRENT * per_round, CALLERS
    )
    next_seq += CONCURRENT * per_round

    ours_rates = [_rate(per_round, wall) for wall, _ in ours_runs]
    peer_rates = [_rate(per_round, wall) for wall, _ in peer_runs]
    ratios = [o / p for o, p in zip(ours_rates, peer_rates, strict=True)]
    ours_rate, peer_rate = statistics.median(ours_rates), statistics.median(peer_rates)
    ours_cpu = statistics.median(cpu / per_round for _, cpu in ours_runs) * 1e6
    peer_cpu = statistics.median(cpu / per_round for _, cpu in peer_runs) * 1e6
    full_rate = _rate(per_round, full_wall)
    session_rate = _rate(per_round, session_wall)
    concurrent_rate = _rate(CONCURRENT * per_round - 1, concurrent_wall)
    spread = _spread(ratios)
    peer_name = "pymerkle SqliteTree append_entry"
    lines = [
        f"| durable appends/s, one at a time, through the ledger writer (WAL synchronous=NORMAL: "
        f"survives a process crash; median of {APPEND_ROUNDS} rounds of {per_round:,}) "
        f"| {ours_rate:,.0f} | {peer_name} {peer_rate:,.0f} | {spread} | ≥ 2× and ≥ 2,000/s |",
        f"| CPU per durable append (all threads of the process, the background WAL checkpoints "
        f"included) | {ours_cpu:,.0f} µs | {peer_cpu:,.0f} µs | {ours_cpu / peer_cpu:.2f}× | |",
        f"| the same appends with synchronous=FULL (an fsync per commit: survives power loss, "
        f"like pymerkle) | {full_rate:,.0f} | {peer_rate:,.0f} | {full_rate / peer_rate:.1f}× | |",
        f"| {CALLERS} callers appending at once through one writer (grouped: "
        f"{CONCURRENT * per_round - 1:,} appends in {batches:,} transactions, each with its "
        f"signed checkpoint) | {concurrent_rate:,.0f} | {peer_name}, one at a time "
        f"{peer_rate:,.0f} | {concurrent_rate / peer_rate:.1f}× | |",
        f"| appends in the caller's unit of work (`service.append` + commit through the ORM "
        f"session, as the ban routes do with their other rows) | {session_rate:,.0f} | "
        f"{peer_rate:,.0f} | {session_rate / peer_rate:.1f}× | |",
    ]
    return lines, next_seq


async def appends_only(workdir: Path, appends: int) -> str:
    """The durable-append rows on the databases of an earlier run with ``--workdir``."""
    settings = _settings(workdir)
    ctx = AppContext.open(settings)
    engine = make_engine(settings.database_url)
    per_round = appends // APPEND_ROUNDS
    size = await _entry_count(engine)
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT leaf FROM ledger_entries ORDER BY seq LIMIT :n"),
            {"n": APPEND_ROUNDS * per_round},
        )
        peer_data = [bytes(r[0]) for r in rows]
    drafts = Drafts(ctx, size + _appended(per_round))
    peer = Pymerkle(workdir / "pymerkle.db", [])
    print(f"append rounds on {size:,} entries…", flush=True)
    lines, _ = await append_figures(engine, drafts, peer, peer_data, size, per_round)
    peer.close()
    await engine.dispose()
    return "\n".join(lines)


async def run(entries: int, appends: int, samples: int, workdir: Path, rounds: int) -> str:
    settings = _settings(workdir)
    await asyncio.to_thread(upgrade, settings.database_url)
    ctx = AppContext.open(settings)
    per_round = appends // APPEND_ROUNDS
    drafts = Drafts(ctx, entries + _appended(per_round))
    engine = make_engine(settings.database_url)
    maker = async_sessionmaker(engine, expire_on_commit=False)

    print(
        f"populating {entries:,} entries (bulk: {BATCH} per transaction and checkpoint)…",
        flush=True,
    )
    bulk_seconds = await populate(maker, drafts, entries)
    print(f"  {_rate(entries, bulk_seconds):,.0f} entries/s", flush=True)
    async with maker() as session:
        rows = await session.execute(text("SELECT leaf FROM ledger_entries ORDER BY seq"))
        leaves = [bytes(r[0]) for r in rows]
    print("pymerkle 7.0 SqliteTree on the same leaves…", flush=True)
    peer = Pymerkle(workdir / "pymerkle.db", leaves)
    # pymerkle's appends take leaves of the same shape (it hashes any bytes).
    peer_data = leaves[: APPEND_ROUNDS * per_round]
    del leaves

    append_lines, size = await append_figures(engine, drafts, peer, peer_data, entries, per_round)
    rng = random.Random(1)
    indices = [rng.randrange(entries) for _ in range(samples)]
    proving, longest = await proofs(maker, size, indices)
    await engine.dispose()
    pm_proving = peer.proofs(indices)
    peer.close()

    print("ledger verify against read + hash…", flush=True)
    verify_lines = await verify_rounds(settings, service.verifiers(ctx), size, rounds)

    ours_proofs, pm_proofs = _rate(samples, proving), _rate(samples, pm_proving)
    lines = [
        f"## Ban ledger — {dt.date.today().isoformat()}",
        "",
        f"`python -m bench.ledger{' --full' if entries >= 10**6 else ''}`: {entries:,} entries "
        f"populated in bulk ({BATCH} per transaction and signed checkpoint), then "
        f"{size - entries:,} appended; SQLite (WAL, the registry's synchronous=NORMAL unless "
        f"noted), one process, {samples:,} random proofs. pymerkle runs with its defaults "
        "(rollback journal, synchronous=FULL, one commit per append_entry). Durable appends: "
        f"{APPEND_ROUNDS} rounds of {per_round:,}, ours and pymerkle's alternating; each of ours "
        "is one transaction (entry, subtrees, 3 private rows, signed checkpoint) committed "
        "before the next starts.",
        "",
        "| figure | ours | peer | ratio | goal |",
        "|---|---|---|---|---|",
        f"| inclusion proofs/s at {size:,} entries (in-process, from stored subtrees, one query each) "
        f"| {ours_proofs:,.0f} | pymerkle SqliteTree {pm_proofs:,.0f} | {ours_proofs / pm_proofs:.1f}× | ≥ 3× |",
        *append_lines,
        f"| hashes per inclusion proof (max of {samples:,}) | {longest} | ⌈log2 n⌉ = {(size - 1).bit_length()} | | ≤ 20 |",
        *verify_lines,
        f"| bulk population | {_rate(entries, bulk_seconds):,.0f} entries/s | pymerkle append_entries "
        f"{_rate(entries, peer.bulk):,.0f}/s | | |",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument(
        "--appends", type=int, default=2500, help="ours one at a time, over all rounds"
    )
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--full", action="store_true", help="10^6 entries")
    parser.add_argument("--rounds", type=int, default=VERIFY_ROUNDS)
    parser.add_argument("--workdir", type=Path, default=None, help="keep the database here")
    parser.add_argument("--verify-only", action="store_true", help="verify rounds on --workdir")
    parser.add_argument(
        "--appends-only", action="store_true", help="durable-append rounds on --workdir"
    )
    parser.add_argument("--out", type=Path, default=Path("bench/results/ledger.md"))
    args = parser.parse_args()
    entries = 1_000_000 if args.full else args.entries
    if args.appends_only:
        if args.workdir is None:
            parser.error("--appends-only needs --workdir")
        print(asyncio.run(appends_only(args.workdir, args.appends)))
        return
    if args.verify_only:
        if args.workdir is None:
            parser.error("--verify-only needs --workdir")
        print(asyncio.run(verify_only(args.workdir, args.rounds)))
        return
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        report = asyncio.run(run(entries, args.appends, args.samples, args.workdir, args.rounds))
    else:
        with tempfile.TemporaryDirectory(prefix="bench-ledger-") as tmp:
            report = asyncio.run(run(entries, args.appends, args.samples, Path(tmp), args.rounds))
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report)


if __name__ == "__main__":
    main()
