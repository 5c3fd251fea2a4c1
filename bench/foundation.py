"""Foundation figures: tokens, authenticated requests, registration and lookup at scale.

    python -m bench.foundation [--practitioners N] [--full]

Each figure is printed with a raw peer measured in the same run, and as a ratio to it, because
these machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import logging
import os
import random
import sqlite3
import time
from pathlib import Path

import jwt
import msgspec
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import async_sessionmaker

from bench.generate import generate
from workforce import synth
from workforce.app import create_app
from workforce.context import AppContext
from workforce.db import make_engine
from workforce.migrate import upgrade
from workforce.orgs.schemas import OrgCreate
from workforce.orgs.service import create_org
from workforce.practitioners.service import find_by_id_number
from workforce.security.passwords import hash_secret, verify_secret
from workforce.settings import Settings


def _rate(n: int, seconds: float) -> float:
    return n / seconds if seconds else float("inf")


def raw_sqlite_insert(path: Path, rows: int) -> float:
    """Rows/s of a raw executemany insert of rows shaped like practitioners."""
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute(
        "CREATE TABLE p (id BLOB PRIMARY KEY, k BLOB UNIQUE, c BLOB, m TEXT, n TEXT, r TEXT)"
    )
    data = [
        (
            os.urandom(16),
            hashlib.sha256(i.to_bytes(8, "big")).digest(),
            os.urandom(47),
            "x" * 18,
            "王芳",
            "320102",
        )
        for i in range(rows)
    ]
    started = time.perf_counter()
    for i in range(0, rows, 5000):
        con.executemany("INSERT INTO p VALUES (?,?,?,?,?,?)", data[i : i + 5000])
        con.commit()
    elapsed = time.perf_counter() - started
    con.close()
    return _rate(rows, elapsed)


def raw_sqlite_lookup(db_file: Path, keys: list[bytes]) -> float:
    con = sqlite3.connect(db_file)
    started = time.perf_counter()
    for k in keys:
        con.execute("SELECT id FROM practitioners WHERE subject_key = ?", (k,)).fetchone()
    elapsed = time.perf_counter() - started
    con.close()
    return _rate(len(keys), elapsed)


async def http_figures(
    settings: Settings, ctx: AppContext, sample_numbers: list[str], n: int
) -> dict[str, float]:
    app = create_app(settings, ctx)
    engine = make_engine(settings.effective_database_url)
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        cmd = msgspec.convert({"kind": "admin", "name": "基准运维"}, OrgCreate)
        org, creds = await create_org(session, ctx, None, cmd)
        inst_cmd = msgspec.convert(
            {
                "kind": "institution",
                "name": "基准托育园",
                "region_code": "320102",
                "uscc": synth.random_uscc(random.Random(5), "320102"),
            },
            OrgCreate,
        )
        _, inst_creds = await create_org(session, ctx, None, inst_cmd)
        await session.commit()
    await engine.dispose()
    out: dict[str, float] = {}
    async with AsyncTestClient(app=app) as client:
        form = {
            "grant_type": "client_credentials",
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
        }
        tokens = max(5, n // 50)
        started = time.perf_counter()
        for _ in range(tokens):
            r = await client.post("/api/v1/auth/token", data=form)
            assert r.status_code == 200
        out["token_http_per_s"] = _rate(tokens, time.perf_counter() - started)
        stored = hash_secret("s" * 43, settings.scrypt_log2_n)
        started = time.perf_counter()
        for _ in range(tokens):
            verify_secret("s" * 43, stored)
        out["scrypt_raw_per_s"] = _rate(tokens, time.perf_counter() - started)
        token = r.json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        started = time.perf_counter()
        for _ in range(n):
            await client.get("/health")
        out["health_per_s"] = _rate(n, time.perf_counter() - started)
        started = time.perf_counter()
        for _ in range(n):
            await client.get(f"/api/v1/orgs/{org.id}", headers=headers)
        out["auth_get_per_s"] = _rate(n, time.perf_counter() - started)
        key = ctx.keyring.current.public
        started = time.perf_counter()
        for _ in range(n):
            jwt.decode(token, key, algorithms=["EdDSA"], options={"verify_aud": False})
        out["jwt_verify_per_s"] = _rate(n, time.perf_counter() - started)
        inst_token = (
            await client.post(
                "/api/v1/auth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": inst_creds.client_id,
                    "client_secret": inst_creds.client_secret,
                },
            )
        ).json()["access_token"]
        ih = {"Authorization": f"Bearer {inst_token}"}
        started = time.perf_counter()
        for number in sample_numbers[:n]:
            r = await client.post(
                "/api/v1/practitioners/lookup", json={"id_number": number}, headers=ih
            )
            assert r.status_code == 200, r.text
        out["lookup_http_per_s"] = _rate(min(n, len(sample_numbers)), time.perf_counter() - started)
    return out


async def service_lookup(settings: Settings, ctx: AppContext, numbers: list[str]) -> float:
    engine = make_engine(settings.effective_database_url)
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        started = time.perf_counter()
        for number in numbers:
            assert await find_by_id_number(session, ctx, number) is not None
        elapsed = time.perf_counter() - started
    await engine.dispose()
    return _rate(len(numbers), elapsed)


def main() -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--practitioners", type=int, default=100_000)
    parser.add_argument("--full", action="store_true", help="10^6 practitioners")
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    count = 1_000_000 if args.full else args.practitioners
    out_dir = Path("bench/out/foundation")
    if out_dir.exists():
        for f in [*out_dir.glob("*.db*"), *out_dir.glob("*.sqlite*")]:
            f.unlink()
    out_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings(var_dir=out_dir, scrypt_log2_n=15, environment="test")
    upgrade(settings.effective_database_url)
    ctx = AppContext.open(settings)

    raw_insert = raw_sqlite_insert(out_dir / "raw.sqlite", min(count, 200_000))
    _, seconds, sample = asyncio.run(generate(settings, count, seed=7))
    register_rate = count / seconds
    random.Random(7).shuffle(sample)
    keys = [ctx.vault.subject_key(n) for n in sample]
    raw_lookup = raw_sqlite_lookup(out_dir / "workforce.db", keys)
    svc_lookup = asyncio.run(service_lookup(settings, ctx, sample[:2000]))
    http = asyncio.run(http_figures(settings, ctx, sample, args.requests))

    lines = [
        f"## Foundation — {dt.date.today().isoformat()} — {count:,} practitioners (SQLite)",
        "",
        "| figure | ours | raw peer (same run) | ratio |",
        "|---|---|---|---|",
        f"| token issuance (HTTP, scrypt N=2^15) | {http['token_http_per_s']:,.1f}/s | scrypt verify {http['scrypt_raw_per_s']:,.1f}/s | {http['token_http_per_s'] / http['scrypt_raw_per_s']:.2f}× |",
        f"| authenticated GET /api/v1/orgs/{{id}} | {http['auth_get_per_s']:,.0f}/s | unauthenticated GET /health {http['health_per_s']:,.0f}/s | {http['auth_get_per_s'] / http['health_per_s']:.2f}× |",
        f"| auth overhead per request | {1e6 / http['auth_get_per_s'] - 1e6 / http['health_per_s']:,.0f} µs | EdDSA JWT verify {1e6 / http['jwt_verify_per_s']:,.0f} µs | — |",
        f"| practitioner registration (bulk path: validate, HMAC, AES-GCM, insert) | {register_rate:,.0f}/s | raw sqlite3 executemany {raw_insert:,.0f}/s | {register_rate / raw_insert:.2f}× |",
        f"| lookup by ID number (service, at {count:,}) | {svc_lookup:,.0f}/s | raw sqlite3 SELECT by key {raw_lookup:,.0f}/s | {svc_lookup / raw_lookup:.2f}× |",
        f"| lookup by ID number (HTTP POST /practitioners/lookup, access-logged) | {http['lookup_http_per_s']:,.0f}/s | raw sqlite3 SELECT by key {raw_lookup:,.0f}/s | {http['lookup_http_per_s'] / raw_lookup:.3f}× |",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    Path("bench/results").mkdir(parents=True, exist_ok=True)
    Path("bench/results/foundation.md").write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
