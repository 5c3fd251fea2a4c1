"""Certificate figures: issuance, offline verification, status-list signing.

    python -m bench.certificates [--certificates N] [--verifications M] [--full]

Each figure is printed next to a raw peer measured in the same run (these machines are shared
and noisy): issuance against a raw Ed25519 signature, offline verification against a raw
Ed25519 verification of the same tokens' signatures (``cryptography``), both on one core.

The offline-verification rows cycle through all the certificates issued in the run (distinct
tokens, as a verifier sees them), all pointing into the same two published status lists; the raw
peer cycles through the same tokens. Each of these rows is timed in process CPU time, in 30 batches
alternating between ours and the raw peer, each side's rate being its best batch: on a shared
machine, wall time mostly measures how often the process was descheduled. The "cold" row empties the JWK Set and status-list caches
before every call, so it pays for both list signatures and both gunzips each time.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import itertools
import logging
import os
import random
import sqlite3
import time
from pathlib import Path
from typing import Any

import msgspec
from cryptography.exceptions import InvalidSignature
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from workforce import synth
from workforce.app import create_app
from workforce.certificates import credential, service, status_list, status_store
from workforce.certificates.credential import credential_problem, jwks_keys, verify_vc_jwt
from workforce.certificates.schemas import CertificateCreate
from workforce.certificates.verify import verify_certificate_offline
from workforce.context import AppContext
from workforce.db import make_engine
from workforce.migrate import upgrade
from workforce.orgs.schemas import OrgCreate
from workforce.orgs.service import create_org
from workforce.practitioners.models import Practitioner
from workforce.practitioners.service import register_many
from workforce.security.idnumber import today_in_china
from workforce.security.principal import Principal
from workforce.security.tokens import mint_access_token
from workforce.settings import Settings
from workforce.training.schemas import AccreditationCreate
from workforce.training.service import accredit

OUT = Path("bench/out/certificates")


def _rate(n: int, seconds: float) -> float:
    return n / seconds if seconds else float("inf")


def _timed(fn: Any, n: int, clock: Any = time.perf_counter) -> float:
    started = clock()
    for _ in range(n):
        fn()
    return _rate(n, clock() - started)


def _paired(fn: Any, peer: Any, n: int, rounds: int = 30) -> tuple[float, float, float]:
    """Time ``fn`` and its raw ``peer`` in alternating batches of ``n / rounds`` calls.

    Both are CPU-bound and single-threaded, so they are timed in process CPU time: on a shared,
    oversubscribed machine wall time mostly measures how often we were descheduled. Each side's
    rate is its best batch (as ``timeit`` advises: slower batches are other processes
    interfering, through shared cores and caches), and the batches alternate so that both sides
    get the same chances. Returns our rate, the peer's rate and their ratio.
    """
    batch = max(1, n // rounds)
    ours = theirs = 0.0
    for _ in range(rounds):
        theirs = max(theirs, _timed(peer, batch, time.process_time))
        ours = max(ours, _timed(fn, batch, time.process_time))
    return ours, theirs, ours / theirs


async def _org(
    session: AsyncSession, ctx: AppContext, kind: str, name: str, region: str
) -> Principal:
    data: dict[str, Any] = {"kind": kind, "name": name, "region_code": region}
    if kind == "training_base":
        data["uscc"] = synth.random_uscc(random.Random(11), region)
    org, creds = await create_org(session, ctx, None, msgspec.convert(data, OrgCreate))
    return Principal(client_id=creds.client_id, org_id=org.id, role=kind, region=region)  # type: ignore[arg-type]


async def setup(
    settings: Settings, ctx: AppContext, people: int
) -> tuple[Principal, Principal, list[Any]]:
    """A regulator, a base accredited for 1+X certificates, and ``people`` practitioners."""
    engine = make_engine(settings.effective_database_url)
    rng = random.Random(7)
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        regulator = await _org(session, ctx, "regulator", "南京市卫生健康委员会", "320100")
        base = await _org(session, ctx, "training_base", "南京市托育实训基地", "320102")
        today = today_in_china()
        await accredit(
            session,
            ctx,
            regulator,
            base.org_id,
            AccreditationCreate(
                level="city",
                valid_from=today - dt.timedelta(days=30),
                valid_until=today + dt.timedelta(days=365),
                categories=["skills"],
                certificate_types=["1x_infant_care"],
            ),
        )
        roster = [
            (
                synth.random_id_number(rng, region_code="320102"),
                synth.random_name(rng),
                ["caregiver"],
            )
            for _ in range(people)
        ]
        for start in range(0, people, 5000):
            await register_many(session, ctx, base, roster[start : start + 5000])
        await session.commit()
        ids = list(
            (
                await session.scalars(
                    Practitioner.__table__.select().with_only_columns(Practitioner.id)
                )
            ).all()
        )
    await engine.dispose()
    return regulator, base, ids


async def issuance(
    settings: Settings, ctx: AppContext, base: Principal, ids: list[Any]
) -> tuple[float, list[str]]:
    """Certificates issued per second through the service, one committed transaction each."""
    engine = make_engine(settings.effective_database_url)
    tokens: list[str] = []
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        started = time.perf_counter()
        for index, pid in enumerate(ids):
            cmd = CertificateCreate(
                practitioner_id=pid,
                type="1x_infant_care",
                level="junior",
                assessment_passed=True,
                assessment_ref=f"KH-{index}",
            )
            cert = await service.issue_certificate(session, ctx, base, cmd)
            await session.commit()
            tokens.append(cert.token)
        elapsed = time.perf_counter() - started
    await engine.dispose()
    return _rate(len(ids), elapsed), tokens


async def http_figures(
    settings: Settings,
    ctx: AppContext,
    base: Principal,
    regulator: Principal,
    ids: list[Any],
    tokens: list[str],
) -> dict[str, float]:
    """Issuance and verification through HTTP; status-list publication after revocations."""
    app = create_app(settings, ctx)
    out: dict[str, float] = {}
    headers = {
        "Authorization": f"Bearer {mint_access_token(ctx.keyring, base, settings.issuer, 3600)}"
    }
    reg_headers = {
        "Authorization": f"Bearer {mint_access_token(ctx.keyring, regulator, settings.issuer, 3600)}"
    }
    async with AsyncTestClient(app=app) as client:
        started = time.perf_counter()
        for index, pid in enumerate(ids):
            body = {
                "practitioner_id": str(pid),
                "type": "1x_infant_care",
                "level": "junior",
                "assessment_passed": True,
                "assessment_ref": f"H-{index}",
            }
            response = await client.post("/api/v1/certificates", json=body, headers=headers)
            assert response.status_code == 201, response.text
        out["issue_http_per_s"] = _rate(len(ids), time.perf_counter() - started)
        sample = tokens[: min(len(tokens), 300)]
        started = time.perf_counter()
        for token in sample:
            response = await client.post("/api/v1/certificates/verify", json={"token": token})
            assert response.json()["verdict"] == "valid", response.text
        out["verify_http_per_s"] = _rate(len(sample), time.perf_counter() - started)
        # revoke 1 % of the certificates, then time the re-signature of the revocation list
        serials = [
            _claims(t)["credentialSubject"]["certificate"]["serial"]
            for t in tokens[:: max(1, len(tokens) // 100)]
        ]
        for serial in serials:
            response = await client.post(
                f"/api/v1/certificates/{serial}/revocation",
                json={"action": "revoke", "reason": "基准"},
                headers=reg_headers,
            )
            assert response.status_code == 200, response.text
        path = status_store.LIST_PATH + _list_id(tokens[0])
        started = time.perf_counter()
        response = await client.get(path)
        out["list_resign_ms"] = (time.perf_counter() - started) * 1000
        out["list_bytes"] = len(response.content)
        started = time.perf_counter()
        for _ in range(200):
            await client.get(path)
        out["list_cached_per_s"] = _rate(200, time.perf_counter() - started)
        out["revoked"] = len(serials)
    return out


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    return msgspec.json.decode(raw, type=dict[str, Any])


def _list_id(token: str) -> str:
    entry = next(
        e for e in _claims(token)["credentialStatus"] if e["statusPurpose"] == "revocation"
    )
    return str(entry["statusListCredential"]).rsplit("/", 1)[1]


async def published_lists(settings: Settings, ctx: AppContext, token: str) -> dict[str, str]:
    engine = make_engine(settings.effective_database_url)
    ids = [
        status_store.list_id_of(ctx, e["statusListCredential"])
        for e in _claims(token)["credentialStatus"]
    ]
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        rows = await status_store.fresh_lists(session, ctx, [i for i in ids if i is not None])
        await session.commit()
    await engine.dispose()
    return {status_store.list_url(ctx, row.id): str(row.signed_token) for row in rows}


def raw_issuance(path: Path, ctx: AppContext, token: str, n: int) -> float:
    """The floor of issuance: Ed25519-sign a certificate-sized payload, insert it, commit."""
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute(
        "CREATE TABLE IF NOT EXISTS c (id BLOB PRIMARY KEY, serial TEXT UNIQUE, token TEXT)"
    )
    message = token.rsplit(".", 1)[0].encode()
    key = ctx.keyring.current.private
    started = time.perf_counter()
    for _ in range(n):
        signature = key.sign(message + os.urandom(8))
        con.execute(
            "INSERT INTO c VALUES (?, ?, ?)",
            (os.urandom(16), os.urandom(15).hex(), signature.hex()),
        )
        con.commit()
    elapsed = time.perf_counter() - started
    con.close()
    return _rate(n, elapsed)


def _direct_check(token: str, keys: dict[str, Any], now: dt.datetime) -> bool:
    """Reference only: the JOSE checks done directly (header and payload parsed once, no PyJWT)."""
    head, payload, signature = token.split(".")
    header = msgspec.json.decode(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    key = keys.get(header.get("kid"))
    if header.get("alg") != "EdDSA" or header.get("typ") != "vc+jwt" or key is None:
        return False
    try:
        key.verify(base64.urlsafe_b64decode(signature + "=="), f"{head}.{payload}".encode())
    except InvalidSignature:
        return False
    claims = msgspec.json.decode(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return credential_problem(claims) is None and claims.get("exp", 1e18) > now.timestamp()


def _cold_full(token: str, jwks: dict[str, Any], lists: dict[str, str], now: dt.datetime) -> Any:
    """A full verification with nothing cached: both lists verified and gunzipped again."""
    credential.clear_cache()
    status_list.clear_cache()
    return verify_certificate_offline(token, jwks, lists, now)


def verification(
    ctx: AppContext, tokens: list[str], lists: dict[str, str], n: int
) -> dict[str, float]:
    """Offline verification rates against raw Ed25519 verifications of the same signatures."""
    jwks = ctx.keyring.jwks()
    keys = jwks_keys(jwks)
    public = ctx.keyring.current.public
    now = dt.datetime.now(dt.UTC)
    raw: list[tuple[bytes, bytes]] = []
    for token in tokens:
        head, payload, signature = token.split(".")
        raw.append((base64.urlsafe_b64decode(signature + "=="), f"{head}.{payload}".encode()))
        assert verify_certificate_offline(token, jwks, lists, now).verdict == "valid"
        assert _direct_check(token, keys, now)
    message = raw[0][1]

    def cycling(fn: Any) -> Any:
        it = itertools.cycle(tokens)
        return lambda: fn(next(it))

    raw_it = itertools.cycle(raw)

    def raw_verify() -> None:
        signature, signed = next(raw_it)
        public.verify(signature, signed)

    rows = {
        "vc_jwt": (cycling(lambda t: verify_vc_jwt(t, jwks, now)), n),
        "direct": (cycling(lambda t: _direct_check(t, keys, now)), n),
        "offline_no_status": (
            cycling(lambda t: verify_certificate_offline(t, jwks, None, now)),
            n,
        ),
        "offline_full": (cycling(lambda t: verify_certificate_offline(t, jwks, lists, now)), n),
        "offline_cold": (cycling(lambda t: _cold_full(t, jwks, lists, now)), max(20, n // 4)),
    }
    out = {
        "raw_verify_per_s": _timed(raw_verify, n),
        "raw_sign_per_s": _timed(lambda: ctx.keyring.current.private.sign(message), n),
    }
    for name, (fn, count) in rows.items():
        ours, peer, ratio = _paired(fn, raw_verify, count)
        out[f"{name}_per_s"], out[f"{name}_peer_per_s"], out[f"{name}_ratio"] = ours, peer, ratio
    return out


def _table(
    count: int,
    total: int,
    issue: float,
    raw_issue: float,
    f: dict[str, float],
    http: dict[str, float],
) -> str:
    raw_v = f["raw_verify_per_s"]
    floor = f"Ed25519 sign + sqlite3 insert + commit {raw_issue:,.0f}/s"
    verify = f"Ed25519 verify {raw_v:,.0f}/s"

    def peer(row: str) -> str:
        return f"Ed25519 verify {f[row + '_peer_per_s']:,.0f}/s (interleaved, CPU time)"

    rows = [
        (
            "issuance (service: visibility, ban check, hours, prerequisites, status entries, "
            "VC sign, insert, history; one commit each)",
            issue,
            floor,
            issue / raw_issue,
        ),
        (
            "issuance (HTTP POST /api/v1/certificates)",
            http["issue_http_per_s"],
            floor,
            http["issue_http_per_s"] / raw_issue,
        ),
        (
            "offline verification: signature + validity period (verify_certificate_offline, "
            "no status lists)",
            f["offline_no_status_per_s"],
            peer("offline_no_status"),
            f["offline_no_status_ratio"],
        ),
        (
            "offline verification: full (signature, validity, both status lists; lists verified "
            "and decoded once, then served from the cache, validity window checked every call)",
            f["offline_full_per_s"],
            peer("offline_full"),
            f["offline_full_ratio"],
        ),
        (
            "offline verification: full, cold (caches emptied before every call: both lists "
            "verified and gunzipped each time)",
            f["offline_cold_per_s"],
            peer("offline_cold"),
            f["offline_cold_ratio"],
        ),
        (
            "vc+jwt check alone (credential.verify_vc_jwt)",
            f["vc_jwt_per_s"],
            peer("vc_jwt"),
            f["vc_jwt_ratio"],
        ),
        (
            "reference, not our code path: the bare JOSE checks done inline (no reason codes, "
            "no canonical-base64 or header checks)",
            f["direct_per_s"],
            peer("direct"),
            f["direct_ratio"],
        ),
        (
            "HTTP POST /api/v1/certificates/verify (live JWKS, lists from the DB)",
            http["verify_http_per_s"],
            verify,
            http["verify_http_per_s"] / raw_v,
        ),
    ]
    lines = [
        f"## Certificates — {dt.date.today().isoformat()} — {count:,} certificates issued (SQLite)",
        "",
        "| figure | ours | raw peer (same run) | ratio |",
        "|---|---|---|---|",
        *(
            f"| {name} | {value:,.0f}/s | {peer} | {ratio:.2f}× |"
            for name, value, peer, ratio in rows
        ),
        f"| GET /api/v1/status-lists/{{id}} (cached signed token, 304-capable) | "
        f"{http['list_cached_per_s']:,.0f}/s | — | — |",
        f"| status list re-signature after {http['revoked']:.0f} revocations (bits rebuilt from "
        f"the rows of {total:,} certificates, gzip, sign) | {http['list_resign_ms']:,.1f} ms | — | — |",
        "",
        f"Raw Ed25519 sign in the same run: {f['raw_sign_per_s']:,.0f}/s. A published status list"
        f" is {http['list_bytes']:,.0f} bytes (131,072 entries).",
        "",
        "Goal for offline verification: >= 0.6x raw Ed25519 verify. `credential.verify_vc_jwt`"
        " no longer goes through PyJWT: the compact JWS is split and base64url-decoded once"
        " (alphabet by one regex, canonical last character checked, as PyJWT 2.15 does by"
        " re-encoding), header and payload parsed once with msgspec (`json.loads` only for what"
        " msgspec refuses, so the verdicts stay PyJWT's), and the Ed25519 signature verified"
        " directly over `header.payload`; the usable keys of a JWK Set are kept in a small LRU"
        " keyed by its JSON. `status_list.check_status` keeps verified, decoded lists in a"
        " 32-entry LRU keyed by (SHA-256 of the list token, fingerprint of the JWK Set's keys);"
        " their validity window, URL and issuer are still checked on every call. The cold row is"
        " the price when every certificate comes with lists never seen before: three Ed25519"
        " verifications and two gunzips, so it cannot reach 0.6x.",
        "",
        "Measurement (changed on 2026-11-23): the offline rows cycle through all the issued"
        " certificates instead of re-verifying one token, and each is timed in process CPU time,"
        " in 30 batches alternating with the raw verify, each side's rate being its best batch"
        " (the peer column is that row's own interleaved raw rate, hence CPU-time rates). Before,"
        " every row was wall-clock timed once and divided by one raw figure taken earlier; on"
        " this shared 2-core machine (load average 4-5) that gave the same code 0.79x in one run"
        " and 0.45x in the next for the full row. The issuance and HTTP rows are still"
        " wall-clock, as before.",
        "",
        "Before this change, same day, same machine: 0.23x signature + validity and 0.09x full"
        " with the old measurement (0.21x and 0.06x in the previous results); with the new"
        " measurement, the old code (PyJWT path and no list cache, patched back in) gave"
        " 0.31-0.32x signature + validity, 0.10-0.11x full, 0.29-0.33x vc+jwt alone, and the new"
        " code 0.74-0.77x, 0.66-0.67x and 0.76-0.77x in the same two runs. The HTTP verify row"
        " is not part of this change: it is dominated by the request, the database read of the"
        " lists and `service.verify_token` verifying the token twice.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("workforce").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--certificates", type=int, default=2000, help="issued through the service")
    parser.add_argument("--http", type=int, default=300, help="issued through HTTP")
    parser.add_argument("--verifications", type=int, default=5000)
    parser.add_argument("--full", action="store_true", help="100,000 certificates")
    args = parser.parse_args()
    count = 100_000 if args.full else args.certificates
    if OUT.exists():
        for f in [*OUT.glob("*.db*"), *OUT.glob("*.sqlite*")]:
            f.unlink()
    OUT.mkdir(parents=True, exist_ok=True)
    settings = Settings(var_dir=OUT, scrypt_log2_n=10, environment="test")
    upgrade(settings.effective_database_url)
    ctx = AppContext.open(settings)

    regulator, base, ids = asyncio.run(setup(settings, ctx, count + args.http))
    issue_rate, tokens = asyncio.run(issuance(settings, ctx, base, ids[:count]))
    lists = asyncio.run(published_lists(settings, ctx, tokens[0]))
    figures = verification(ctx, tokens, lists, args.verifications)
    raw_issue = raw_issuance(OUT / "raw.sqlite", ctx, tokens[0], min(count, 2000))
    http = asyncio.run(http_figures(settings, ctx, base, regulator, ids[count:], tokens))

    text = _table(count, count + args.http, issue_rate, raw_issue, figures, http)
    print(text)
    Path("bench/results").mkdir(parents=True, exist_ok=True)
    Path("bench/results/certificates.md").write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
