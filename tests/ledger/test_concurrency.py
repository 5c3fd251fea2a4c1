"""Several processes appending at once keep one linear chain; each checkpoint extends the last."""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker

from workforce.context import AppContext
from workforce.db import make_engine
from workforce.ledger import service
from workforce.ledger.checkpoint import open_checkpoint
from workforce.ledger.cli import verify_database
from workforce.ledger.entry import parse_entry
from workforce.ledger.merkle import verify_consistency
from workforce.settings import Settings

pytestmark = pytest.mark.slow

WORKER = textwrap.dedent(
    """
    import asyncio, random, sys, time
    from pathlib import Path
    from sqlalchemy.ext.asyncio import async_sessionmaker
    from workforce import synth
    from workforce.context import AppContext
    from workforce.db import make_engine
    from workforce.ledger import service
    from workforce.ledger.entry import Issuer
    from workforce.ledger.writer import LedgerWriter
    from workforce.settings import Settings

    url, keys, count, batch, worker = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    mode = sys.argv[7]
    ctx = AppContext.open(Settings(database_url=url, keys_dir=keys, var_dir=keys.parent))
    rng = random.Random(worker)
    issuer = Issuer(org=f"worker-{worker}", region="320000")

    def draft():
        return service.ban_draft(
            ctx, synth.random_id_number(rng, region_code="320102"), kind="lifetime", until=None,
            reason_code="child_abuse", issuer=issuer,
            decision=service.commitment("decision", f"D-{worker}"),
            case=service.commitment("case", f"C-{worker}"),
        )

    async def main():
        engine = make_engine(url)
        maker = async_sessionmaker(engine, expire_on_commit=False)
        writer = LedgerWriter(ctx, engine)
        print("ready", flush=True)
        go = Path(sys.argv[6])
        while not go.exists():
            time.sleep(0.01)
        done = 0
        while count == 0 or done < count:
            if mode == "writer":
                await writer.append(*[draft() for _ in range(batch)])
            else:
                async with maker() as session:
                    await service.append(session, ctx, *[draft() for _ in range(batch)])
                    await session.commit()
            done += 1
            print("appended", done, flush=True)
        await writer.close()
        await engine.dispose()

    asyncio.run(main())
    """
)


def worker_command(
    tmp_path: Path, settings: Settings, count: int, batch: int, worker: int, mode: str = "session"
) -> list[str]:
    """A process appending ``count`` times (0: forever) ``batch`` entries, in the caller's
    transaction (``mode="session"``) or through a ``LedgerWriter`` (``mode="writer"``)."""
    script = tmp_path / "append_worker.py"
    if not script.exists():
        script.write_text(WORKER)
    return [
        sys.executable,
        str(script),
        settings.database_url,
        str(settings.effective_keys_dir),
        str(count),
        str(batch),
        str(worker),
        str(tmp_path / "go"),
        mode,
    ]


def worker_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(Path.cwd() / "src"), env.get("PYTHONPATH")])
    )
    return env


@pytest.mark.parametrize("mode", ["session", "writer", "mixed"])
def test_processes_appending_at_once_keep_one_chain(
    tmp_path: Path, settings: Settings, ctx: AppContext, mode: str
) -> None:
    """Sessions, ledger writers, or both kinds at once (each writer's remembered frontier goes
    stale whenever another process appends)."""
    workers, appends = 4, 25
    modes = {"session": ["session"], "writer": ["writer"], "mixed": ["session", "writer"]}[mode]
    procs = [
        subprocess.Popen(
            worker_command(
                tmp_path, settings, appends, 1 + worker % 2, worker, modes[worker % len(modes)]
            ),
            env=worker_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for worker in range(workers)
    ]
    for proc in procs:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
    (tmp_path / "go").touch()
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert out.count("appended") == appends
    expected = sum(appends * (1 + worker % 2) for worker in range(workers))
    report = asyncio.run(
        verify_database(settings.database_url, service.verifiers(ctx), ctx.settings.ledger_origin)
    )
    assert report.entries == expected
    assert report.checkpoints == workers * appends  # one per append, none forked or lost
    asyncio.run(_check_chain(settings, ctx, workers))


async def _check_chain(settings: Settings, ctx: AppContext, workers: int) -> None:
    """Every checkpoint extends the one before it; the appends really interleaved."""
    engine = make_engine(settings.database_url)
    async with async_sessionmaker(engine)() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT size, prev_size, root_hash, note FROM ledger_checkpoints ORDER BY size"
                )
            )
        ).all()
        previous = None
        for size, prev_size, root, note in rows:
            checkpoint = open_checkpoint(note, service.verifiers(ctx), ctx.settings.ledger_origin)
            assert checkpoint.root_hash == bytes(root)
            if previous is not None:
                assert prev_size == previous[0]
                proof = await service.consistency_proof(session, previous[0], size)
                verify_consistency(previous[0], size, previous[1], bytes(root), proof)
            previous = (size, bytes(root))
        leaves = (
            (await session.execute(text("SELECT leaf FROM ledger_entries ORDER BY seq")))
            .scalars()
            .all()
        )
    await engine.dispose()
    issuers = [parse_entry(bytes(leaf)).issuer.org for leaf in leaves]
    switches = sum(1 for a, b in itertools.pairwise(issuers) if a != b)
    assert switches >= workers  # the processes' appends interleaved
