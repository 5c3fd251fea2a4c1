"""Generate national-scale synthetic data through the service's bulk paths.

    python -m bench.generate --practitioners 1000000 [--database-url URL]

Realistic, valid ID numbers (GB 11643) from many regions and Simplified Chinese names, registered
with ``practitioners.service.register_many`` (the path rosters use), in batches.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from pathlib import Path

import msgspec
from sqlalchemy.ext.asyncio import async_sessionmaker

from workforce import synth
from workforce.context import AppContext
from workforce.db import make_engine
from workforce.migrate import upgrade
from workforce.orgs.schemas import OrgCreate
from workforce.orgs.service import create_org
from workforce.practitioners.service import register_many
from workforce.security.principal import Principal
from workforce.settings import Settings

BATCH = 5_000


async def generate(
    settings: Settings, count: int, seed: int = 1, keep: int = 5000
) -> tuple[Principal, float, list[str]]:
    """Register ``count`` synthetic practitioners.

    Returns the registering base, the seconds taken and the first ``keep`` ID numbers.
    """
    rng = random.Random(seed)
    ctx = AppContext.open(settings)
    engine = make_engine(settings.effective_database_url)
    maker = async_sessionmaker(engine, expire_on_commit=False)
    async with maker() as session:
        cmd = msgspec.convert(
            {
                "kind": "training_base",
                "name": "基准测试实训基地",
                "region_code": "320102",
                "uscc": synth.random_uscc(rng, "320102"),
            },
            OrgCreate,
        )
        org, creds = await create_org(session, ctx, None, cmd)
        await session.commit()
    base = Principal(
        client_id=creds.client_id, org_id=org.id, role="training_base", region="320102"
    )
    numbers = synth.unique_id_numbers(rng, count)
    started = time.perf_counter()
    done = 0
    kept: list[str] = []
    while done < count:
        size = min(BATCH, count - done)
        people = [(next(numbers), synth.random_name(rng), ["caregiver"]) for _ in range(size)]
        kept.extend(p[0] for p in people[: max(0, keep - len(kept))])
        async with maker() as session:
            await register_many(session, ctx, base, people)
            await session.commit()
        done += size
    elapsed = time.perf_counter() - started
    await engine.dispose()
    return base, elapsed, kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--practitioners", type=int, default=100_000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--var-dir", default="bench/out/generate")
    args = parser.parse_args()
    var_dir = Path(args.var_dir)
    var_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings(var_dir=var_dir, database_url=args.database_url, scrypt_log2_n=10)
    upgrade(settings.effective_database_url)
    _, elapsed, _ = asyncio.run(generate(settings, args.practitioners))
    print(
        f"registered {args.practitioners:,} practitioners in {elapsed:.1f} s "
        f"({args.practitioners / elapsed:,.0f}/s)"
    )


if __name__ == "__main__":
    main()
