"""A process killed (SIGKILL) in the middle of appending leaves a ledger that verifies."""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.ledger.test_concurrency import worker_command, worker_env
from workforce.context import AppContext
from workforce.ledger import service
from workforce.ledger.cli import verify_database
from workforce.settings import Settings

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("mode", ["session", "writer"])
def test_sigkill_during_appends_leaves_a_verifiable_ledger(
    tmp_path: Path, settings: Settings, ctx: AppContext, mode: str
) -> None:
    (tmp_path / "go").touch()
    rng = random.Random(4)
    sizes = []
    for round_ in range(3):
        # Endless appends of 25 entries per transaction: most of the time is spent inside one.
        proc = subprocess.Popen(
            worker_command(tmp_path, settings, 0, 25, round_, mode),
            env=worker_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        for _ in range(2 + round_):
            assert proc.stdout.readline().startswith("appended")
        time.sleep(rng.uniform(0.0, 0.05))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
        assert proc.returncode == -signal.SIGKILL
        report = asyncio.run(
            verify_database(
                settings.database_url, service.verifiers(ctx), ctx.settings.ledger_origin
            )
        )
        assert report.entries % 25 == 0  # whole appends only: nothing half-written
        sizes.append(report.entries)
    assert sizes == sorted(sizes) and sizes[-1] > sizes[0]
