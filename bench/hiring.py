"""Hiring figures: admission checks per second over HTTP, against a one-lookup GET, same stack.

    python -m bench.hiring [--practitioners N | --full] [--pg-url URL] [--duration S]
                           [--client auto|wrk|python]

Two server processes (``workforce serve --workers 2``: each accepts on its own ``SO_REUSEPORT``
socket, see ``workforce.serving``) serve one database; a load generator keeps 64 connections
busy, first with the trivial one-lookup ORM
``GET /api/v1/orgs/{id}`` (the peer), then with ``POST /api/v1/admission-checks`` (ID number
validation and HMAC lookup, ledger status, certificates, credit grade, the signed receipt, an
insert-only check row and an access-log row per request), and reports throughput, p50 and p99
for both and their ratio.  The candidates are a mix: registered with a valid certificate
(admitted), registered without one, banned, and not registered at all.

The load generator is ``wrk`` (C, epoll; Debian package ``wrk``) when it is installed, driven by
a Lua script that cycles through the candidates' request bodies; otherwise a minimal asyncio
HTTP/1.1 keep-alive client written here (httpx costs more CPU per request than the server on
this two-core machine, which would measure the client).  Either runs on the same machine as the
servers, so its CPU is taken from them: absolute figures are lower bounds; the ratio between the
two endpoints, measured in the same run with the same client, is what to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker

from bench.generate import generate
from workforce import synth
from workforce.certificates import service as certificates
from workforce.context import AppContext
from workforce.db import make_engine, utcnow
from workforce.ledger.schemas import BanCreate
from workforce.ledger.service import record_bans
from workforce.migrate import upgrade
from workforce.orgs.models import Org
from workforce.orgs.schemas import OrgCreate
from workforce.orgs.service import create_org
from workforce.practitioners.service import find_by_id_number
from workforce.security.principal import Principal
from workforce.security.tokens import mint_access_token
from workforce.settings import Settings

OUT = Path("bench/out/hiring")
NOTES = """Reading the figures:

- Throughput goal (checks/s ≥ 1.5× the GET's): the ratio column. An admission check now costs
  less than the one-lookup ORM GET because its hot path (`workforce.hiring.gate`) does not use
  the ORM: one SQL statement (one snapshot) reads the ledger checkpoint, the person, whether a
  ledger entry names the ID number, whether the person has credit events, and their
  certificates, through the driver (SQLite: a read-only `sqlite3` connection on the event loop;
  PostgreSQL: a few `asyncpg` connections with the statement prepared); the decision is made by the same pure functions as the ORM
  path (tested equal); the check row and the access-log row of every check waiting at that
  moment are written in one transaction (group commit) and each request answers after that
  commit. The GET peer goes through the SQLAlchemy session of the Litestar plugin, as every
  other route does. A person with credit events (none in this pool) takes the ORM path.
- Changes that serve every route, the peer included: `workforce serve --workers N` gives each
  worker its own `SO_REUSEPORT` socket (with uvicorn's shared socket all 64 connections landed
  on one of the two workers), role guards are coroutines (Litestar ran the plain-function guards
  in a worker thread), a repeated access token is served from a cache of decoded tokens, and the
  objects built at start-up are frozen out of the garbage collector's sight (`gc.freeze`): before
  that, each full collection walked several hundred thousand long-lived objects while every
  request in flight waited, which alone set the p99 of both endpoints (~110 ms for checks).
- p99 < 50 ms at 64 connections: the p99 column. The floor, `GET /.well-known/jwks.json`,
  touches no database and needs no token; the load generator, both server processes, the
  database and other work share the two CPUs, so when the machine is busy the tail of every
  endpoint, the floor's included, reflects CPU scheduling as much as the endpoint. With a closed
  loop of 64 connections the mean latency is 64 / throughput (Little's law).
- The one-connection table is service time without queueing: each check pays a commit of its
  own (no other check to share it with). On PostgreSQL that commit waits for the WAL to reach
  the disk, which puts a lone check behind the GET there; on SQLite (WAL, `synchronous=NORMAL`)
  it does not.
- This machine is shared and noisy: absolute figures move by ±40 % between rounds (see the
  bracketed per-round ratios); compare ratios measured in the same round.
"""
RESULTS = Path("bench/results/hiring.md")


# --------------------------------------------------------------------------- data


@dataclass
class Fixture:
    institution: Principal
    regulator: Principal
    numbers: list[str]
    mix: dict[str, int]


def _fixture_path(label: str) -> Path:
    """Where a run keeps what ``--reuse`` needs of the database labelled ``label``."""
    return OUT / f"fixture-{label.lower()}.json"


def _save_fixture(path: Path, fixture: Fixture, count: int) -> None:
    """Keep what a later ``--reuse`` run needs (synthetic numbers only, under bench/out)."""
    data = {
        "count": count,
        "principals": {
            name: msgspec.to_builtins(getattr(fixture, name))
            for name in ("institution", "regulator")
        },
        "numbers": fixture.numbers,
        "mix": fixture.mix,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


def _load_fixture(path: Path, count: int) -> Fixture:
    data = json.loads(path.read_text(encoding="utf-8"))
    if data["count"] != count:
        raise SystemExit(
            f"{path} was populated with {data['count']:,} practitioners, not {count:,}"
        )
    principals = {k: msgspec.convert(v, Principal) for k, v in data["principals"].items()}
    return Fixture(
        institution=principals["institution"],
        regulator=principals["regulator"],
        numbers=data["numbers"],
        mix=data["mix"],
    )


async def _org(
    session: Any, ctx: AppContext, kind: str, name: str, rng: random.Random
) -> Principal:
    data: dict[str, Any] = {
        "kind": kind,
        "name": name,
        "region_code": "320102" if kind != "regulator" else "320100",
    }
    if kind == "institution":
        data["uscc"] = synth.random_uscc(rng, "320102")
    org, creds = await create_org(session, ctx, None, msgspec.convert(data, OrgCreate))
    return Principal(
        client_id=creds.client_id, org_id=org.id, role=kind, region=data["region_code"]
    )  # type: ignore[arg-type]


async def prepare(settings: Settings, count: int, sample: int) -> Fixture:
    """Register ``count`` practitioners; certify and ban some of the sample; pick the mix."""
    _, seconds, numbers = await generate(settings, count, seed=11, keep=sample)
    print(f"  registered {count:,} practitioners in {seconds:.0f} s", flush=True)
    ctx = AppContext.open(settings)
    rng = random.Random(4711)
    engine = make_engine(settings.effective_database_url)
    maker = async_sessionmaker(engine, expire_on_commit=False)
    async with maker() as session:
        inst = await _org(session, ctx, "institution", "基准托育园", rng)
        regulator = await _org(session, ctx, "regulator", "南京市卫生健康委员会", rng)
        await session.commit()
    certified = numbers[: sample // 2]
    banned = numbers[sample // 2 : sample // 2 + max(1, sample // 50)]
    started = time.perf_counter()
    async with maker() as session:
        org = await session.get(Org, regulator.org_id)
        cert_type = ctx.catalog.certificate_type("caregiver_post")
        for i, number in enumerate(certified):
            person = await find_by_id_number(session, ctx, number)
            assert person is not None
            # Bench set-up: a real signed certificate without the training prerequisites.
            await certificates._sign_and_insert(
                session,
                ctx,
                org,
                "regulator",
                person,
                cert_type,
                None,
                hours_tenths=0,
                assessment_ref=None,
                moment=utcnow(),
            )
            if i % 500 == 499:
                await session.commit()
        await session.commit()
    print(f"  certified {len(certified):,} in {time.perf_counter() - started:.0f} s", flush=True)
    for n, number in enumerate(banned):
        async with maker() as session:
            cmd = BanCreate(
                id_number=number,
                kind="lifetime",
                reason_code="child_abuse",
                decision_ref=f"宁卫禁〔2026〕{n + 1}号",
                related_case=f"（2026）苏0102刑初{n + 1}号",
            )
            await record_bans(session, ctx, regulator, cmd)
            await session.commit()
    await engine.dispose()
    strangers = [
        synth.random_id_number(random.Random(1000 + i)) for i in range(max(1, sample // 10))
    ]
    pool = numbers[:sample] + strangers
    rng.shuffle(pool)
    return Fixture(
        institution=inst,
        regulator=regulator,
        numbers=pool,
        mix={
            "registered, certified": len(certified),
            "registered, banned": len(banned),
            "registered, no certificate": sample - len(certified) - len(banned),
            "not registered": len(strangers),
        },
    )


# --------------------------------------------------------------------------- servers


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_servers(settings: Settings, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        WORKFORCE_DATABASE_URL=settings.effective_database_url,
        WORKFORCE_KEYS_DIR=str(settings.effective_keys_dir),
        WORKFORCE_VAR_DIR=str(settings.var_dir),
        WORKFORCE_ENVIRONMENT="test",
    )
    # `workforce serve`: one SO_REUSEPORT socket per worker (see workforce.serving).
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "workforce.cli",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env=env,
        start_new_session=True,
    )


def stop_servers(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


async def wait_ready(port: int, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            conn = await Conn.open(port)
            status, _ = await conn.request(b"GET /health HTTP/1.1\r\nHost: bench\r\n\r\n")
            conn.close()
            if status == 200:
                return
        except OSError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("servers did not become ready")


# --------------------------------------------------------------------------- load


@dataclass
class Endpoint:
    """One endpoint under load: a GET, or a POST cycling through JSON bodies."""

    name: str
    method: str
    path: str
    token: str
    bodies: list[bytes] | None = None

    def raw(self, i: int) -> bytes:
        head = (
            f"{self.method} {self.path} HTTP/1.1\r\nHost: bench\r\n"
            f"Authorization: Bearer {self.token}\r\n"
        )
        if self.bodies is None:
            return (head + "\r\n").encode()
        body = self.bodies[i % len(self.bodies)]
        return (
            head + f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body

    def lua(self) -> str:
        lines = [
            f'wrk.method = "{self.method}"',
            f'wrk.headers["Authorization"] = "Bearer {self.token}"',
        ]
        if self.bodies is not None:
            quoted = ",\n".join(json.dumps(b.decode()) for b in self.bodies)
            lines += [
                'wrk.headers["Content-Type"] = "application/json"',
                f"local bodies = {{{quoted}}}",
                "local i = 0",
                "request = function()",
                "  i = i + 1",
                f'  return wrk.format(nil, "{self.path}", nil, bodies[(i % #bodies) + 1])',
                "end",
            ]
        lines += [
            "done = function(summary, latency, requests)",
            '  io.write(string.format("FIGURES %d %d %d %d %d %d\\n", summary.requests,',
            "    summary.duration, latency:percentile(50), latency:percentile(99),",
            "    summary.errors.status, summary.errors.connect + summary.errors.read +",
            "    summary.errors.write + summary.errors.timeout))",
            "end",
        ]
        return "\n".join(lines) + "\n"


@dataclass
class Load:
    name: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    statuses: dict[str, int]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


class Conn:
    """One keep-alive HTTP/1.1 connection (enough HTTP for our own server's answers)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> Conn:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = 0
        chunked = False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            lowered = name.strip().lower()
            if lowered == b"content-length":
                length = int(value)
            elif lowered == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:
            body = b""
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                body += chunk[:-2]
            return status, body
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


async def python_load(
    port: int, endpoint: Endpoint, connections: int, duration: float, warmup: float
) -> Load:
    """The asyncio client: ``connections`` keep-alive connections, closed loop."""
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    start = time.perf_counter()
    measure_from = start + warmup
    stop_at = measure_from + duration

    async def worker(k: int) -> None:
        conn = await Conn.open(port)
        i = k
        try:
            while True:
                t0 = time.perf_counter()
                if t0 >= stop_at:
                    return
                status, _ = await conn.request(endpoint.raw(i))
                t1 = time.perf_counter()
                i += connections
                if t0 >= measure_from:
                    latencies.append((t1 - t0) * 1000)
                    statuses[str(status)] = statuses.get(str(status), 0) + 1
        finally:
            conn.close()

    await asyncio.gather(*(worker(k) for k in range(connections)))
    ordered = sorted(latencies)

    def pct(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return Load(endpoint.name, len(latencies), duration, pct(0.5), pct(0.99), statuses)


def wrk_load(
    port: int, endpoint: Endpoint, connections: int, duration: float, warmup: float
) -> Load:
    """``wrk`` with one thread (the second CPU is the servers'), after a discarded warm-up."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(endpoint.lua())
    url = f"http://127.0.0.1:{port}{endpoint.path}"
    base = ["wrk", "-t", "1", "-c", str(connections), "-s", script.name, "--timeout", "10s"]
    try:
        if warmup > 0:
            subprocess.run(
                [*base, "-d", f"{max(1, round(warmup))}s", url], capture_output=True, check=True
            )
        out = subprocess.run(
            [*base, "-d", f"{max(1, round(duration))}s", url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        Path(script.name).unlink()
    line = next(x for x in out.splitlines() if x.startswith("FIGURES "))
    requests, micros, p50, p99, non2xx, errors = (int(x) for x in line.split()[1:])
    statuses = {"2xx": requests - non2xx, "other status": non2xx}
    if errors:
        statuses["socket errors"] = errors
    return Load(endpoint.name, requests, micros / 1e6, p50 / 1000, p99 / 1000, statuses)


def client_kind(requested: str) -> str:
    if requested == "auto":
        return "wrk" if shutil.which("wrk") else "python"
    if requested == "wrk" and not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")
    return requested


def measure(
    kind: str, port: int, endpoint: Endpoint, connections: int, duration: float, warmup: float
) -> Load:
    if kind == "wrk":
        return wrk_load(port, endpoint, connections, duration, warmup)
    return asyncio.run(python_load(port, endpoint, connections, duration, warmup))


# --------------------------------------------------------------------------- one run


async def _decisions(settings: Settings) -> dict[str, int]:
    engine = make_engine(settings.effective_database_url)
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT decision, count(*) FROM admission_checks GROUP BY decision")
        )
        out = {str(r[0]): int(r[1]) for r in rows}
    await engine.dispose()
    return out


def _median_load(loads: list[Load]) -> Load:
    """The round with the median rate (its own latencies: figures of one real round)."""
    return sorted(loads, key=lambda x: x.rate)[len(loads) // 2]


def bench_database(
    label: str, settings: Settings, count: int, args: argparse.Namespace
) -> dict[str, Any]:
    print(f"== {label}: {count:,} practitioners", flush=True)
    saved = _fixture_path(label)
    if args.reuse and saved.exists():
        fixture = _load_fixture(saved, count)
        print(f"  reusing the database populated before ({saved})", flush=True)
    else:
        upgrade(settings.effective_database_url)
        fixture = asyncio.run(prepare(settings, count, args.sample))
        _save_fixture(saved, fixture, count)
    ctx = AppContext.open(settings)
    token = mint_access_token(ctx.keyring, fixture.institution, settings.issuer, 3600)
    kind = client_kind(args.client)
    peer = Endpoint(
        "GET /api/v1/orgs/{id}", "GET", f"/api/v1/orgs/{fixture.institution.org_id}", token
    )
    bodies = [
        json.dumps({"id_number": n, "position": "caregiver"}).encode() for n in fixture.numbers
    ]
    checks = Endpoint(
        "POST /api/v1/admission-checks", "POST", "/api/v1/admission-checks", token, bodies
    )
    # A request that touches no database and needs no token: what the machine allows.
    floor = Endpoint("GET /.well-known/jwks.json", "GET", "/.well-known/jwks.json", token)
    port = _free_port()
    servers = start_servers(settings, port, args.workers)
    rounds: list[tuple[Load, Load]] = []
    floors: list[Load] = []
    try:
        asyncio.run(wait_ready(port))
        # Alternate the two endpoints, so that both see the same slow phases of the machine.
        for n in range(args.rounds):
            a = measure(kind, port, peer, args.connections, args.duration, args.warmup)
            b = measure(kind, port, checks, args.connections, args.duration, args.warmup)
            c = measure(kind, port, floor, args.connections, args.duration, args.warmup)
            rounds.append((a, b))
            floors.append(c)
            print(
                f"  round {n + 1}: GET {a.rate:,.0f}/s (p99 {a.p99_ms:.1f} ms), "
                f"checks {b.rate:,.0f}/s (p99 {b.p99_ms:.1f} ms), ratio {b.rate / a.rate:.2f}, "
                f"JWKS {c.rate:,.0f}/s (p99 {c.p99_ms:.1f} ms), "
                f"statuses {a.statuses} / {b.statuses}",
                flush=True,
            )
        # Service time without queueing: one connection at a time.
        peer_1 = measure(kind, port, peer, 1, args.duration / 3, 1.0)
        checks_1 = measure(kind, port, checks, 1, args.duration / 3, 1.0)
    finally:
        stop_servers(servers)
    decisions = asyncio.run(_decisions(settings))
    ratios = sorted(b.rate / a.rate for a, b in rounds)
    return {
        "label": label,
        "count": count,
        "client": kind,
        "peer": _median_load([a for a, _ in rounds]),
        "checks": _median_load([b for _, b in rounds]),
        "floor": _median_load(floors),
        "ratios": ratios,
        "peer_1": peer_1,
        "checks_1": checks_1,
        "mix": fixture.mix,
        "decisions": decisions,
    }


def render(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    clients = {r["client"] for r in results}
    client = (
        "`wrk` (one thread)" if clients == {"wrk"} else "the asyncio load generator of this module"
    )
    lines = [
        f"## Hiring — {dt.date.today().isoformat()}",
        "",
        f"Two server processes (`workforce serve --workers {args.workers}`, one `SO_REUSEPORT` "
        "socket each) on one database, "
        f"{args.connections} keep-alive connections from {client} on the same "
        f"{os.cpu_count()}-CPU machine, {args.rounds} alternating rounds of {args.duration:.0f} s "
        f"per endpoint, each after {args.warmup:.0f} s of warm-up. Goals: admission checks per "
        "second ≥ 1.5× the one-lookup ORM GET's, and p99 < 50 ms at 64 connections. The rows "
        "show each endpoint's median round; the ratio column is the median of the per-round "
        "ratios (all of them in brackets). The floor row, `GET /.well-known/jwks.json` (no "
        "token, no database), measured in the same rounds, is what the machine allows a "
        "request that does almost nothing.",
        "",
        "| database | practitioners | endpoint | requests/s | p50 | p99 | checks/s ÷ GET/s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        peer, checks = r["peer"], r["checks"]
        ratios = r["ratios"]
        median = ratios[len(ratios) // 2]
        lines.append(
            f"| {r['label']} | {r['count']:,} | peer: GET /api/v1/orgs/{{id}} | {peer.rate:,.0f} | "
            f"{peer.p50_ms:.1f} ms | {peer.p99_ms:.1f} ms | |"
        )
        lines.append(
            f"| {r['label']} | {r['count']:,} | POST /api/v1/admission-checks | {checks.rate:,.0f} | "
            f"{checks.p50_ms:.1f} ms | {checks.p99_ms:.1f} ms | **{median:.2f}×** "
            f"({', '.join(f'{x:.2f}' for x in ratios)}) |"
        )
        floor = r["floor"]
        lines.append(
            f"| {r['label']} | {r['count']:,} | floor: GET /.well-known/jwks.json (no database) | "
            f"{floor.rate:,.0f} | {floor.p50_ms:.1f} ms | {floor.p99_ms:.1f} ms | |"
        )
    lines += [
        "",
        "Service time without queueing (one connection, same servers):",
        "",
        "| database | endpoint | requests/s | p50 | p99 | checks/s ÷ GET/s |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        peer, checks = r["peer_1"], r["checks_1"]
        lines.append(
            f"| {r['label']} | peer: GET /api/v1/orgs/{{id}} | {peer.rate:,.0f} | "
            f"{peer.p50_ms:.1f} ms | {peer.p99_ms:.1f} ms | |"
        )
        lines.append(
            f"| {r['label']} | POST /api/v1/admission-checks | {checks.rate:,.0f} | "
            f"{checks.p50_ms:.1f} ms | {checks.p99_ms:.1f} ms | {checks.rate / peer.rate:.2f}× |"
        )
    lines.append("")
    for r in results:
        mix = ", ".join(f"{k}: {v:,}" for k, v in r["mix"].items())
        lines.append(
            f"- {r['label']}: candidate pool {mix}; decisions stored {r['decisions']}; "
            f"statuses of the median check round {r['checks'].statuses}."
        )
    lines += ["", NOTES.strip(), ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--practitioners", type=int, default=100_000)
    parser.add_argument("--full", action="store_true", help="10^6 practitioners")
    parser.add_argument(
        "--sample", type=int, default=4000, help="registered candidates in the pool"
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("WORKFORCE_BENCH_PG_URL", ""),
        help="also run on this PostgreSQL database (its schema is dropped first)",
    )
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per endpoint")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure again on the databases populated by the previous run (same size)",
    )
    parser.add_argument(
        "--client",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="load generator (auto: wrk when installed)",
    )
    args = parser.parse_args()
    count = 1_000_000 if args.full else args.practitioners
    results = []
    if not args.no_sqlite:
        out = OUT / "sqlite"
        saved = _fixture_path("SQLite")
        if not (args.reuse and saved.exists()):
            shutil.rmtree(out, ignore_errors=True)
            saved.unlink(missing_ok=True)
        out.mkdir(parents=True, exist_ok=True)
        settings = Settings(
            var_dir=out, keys_dir=OUT / "keys", scrypt_log2_n=10, environment="test"
        )
        results.append(bench_database("SQLite", settings, count, args))
    if args.pg_url:
        saved = _fixture_path("PostgreSQL")
        if not (args.reuse and saved.exists()):
            asyncio.run(_reset_pg(args.pg_url))
            saved.unlink(missing_ok=True)
        settings = Settings(
            var_dir=OUT,
            keys_dir=OUT / "keys",
            database_url=args.pg_url,
            scrypt_log2_n=10,
            environment="test",
        )
        results.append(bench_database("PostgreSQL", settings, count, args))
    text_out = render(results, args)
    print(text_out)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text_out, encoding="utf-8")


async def _reset_pg(url: str) -> None:
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


if __name__ == "__main__":
    main()
