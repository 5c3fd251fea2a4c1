"""``workforce ledger verify --url``: an outside monitor against a live server.

It verifies every entry through the public endpoints, remembers the head it saw, and catches a
checkpoint that is not consistent with it (a fork), a rollback, or an unknown signing key.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from litestar.testing import TestClient
from sqlalchemy.ext.asyncio import async_sessionmaker

from tests.ledger.test_store import seed
from workforce.app import create_app
from workforce.context import AppContext
from workforce.db import make_engine
from workforce.ledger.cli import LedgerMismatch, default_state_path, ledger, monitor
from workforce.settings import Settings

pytestmark = pytest.mark.slow


def _seed(settings: Settings, ctx: AppContext, count: int, seed_value: int, batch: int = 1) -> None:
    async def run() -> None:
        engine = make_engine(settings.database_url)
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            await seed(session, ctx, count, batch=batch, seed_value=seed_value)
        await engine.dispose()

    asyncio.run(run())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def live_server(settings: Settings, ctx: AppContext) -> Iterator[str]:
    port = _free_port()
    env = dict(os.environ)
    env.update(
        WORKFORCE_DATABASE_URL=settings.database_url,
        WORKFORCE_KEYS_DIR=str(settings.effective_keys_dir),
        WORKFORCE_VAR_DIR=str(settings.var_dir),
        WORKFORCE_ENVIRONMENT="test",
    )
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(Path.cwd() / "src"), env.get("PYTHONPATH")])
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "workforce.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        assert ctx.settings.ledger_origin
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _forge(state_file: Path, **changes: object) -> Path:
    state = json.loads(state_file.read_text())
    state.update(changes)
    forged = state_file.with_name(f"forged-{len(changes)}-{abs(hash(str(changes)))}.json")
    forged.write_text(json.dumps(state))
    return forged


def test_monitor_follows_a_live_server_and_catches_a_fork(
    live_server: str, settings: Settings, ctx: AppContext, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    _seed(settings, ctx, 5, seed_value=1)
    first = monitor(live_server, state_path=state)
    assert first.size == 5
    remembered = json.loads(state.read_text())
    assert remembered["size"] == 5 and remembered["vkeys"]
    assert remembered["origin"] == ctx.settings.ledger_origin

    _seed(settings, ctx, 6, seed_value=2, batch=2)
    runner = CliRunner()
    ok = runner.invoke(ledger, ["verify", "--url", live_server, "--state", str(state)])
    assert ok.exit_code == 0, ok.output
    assert "ok: 11 entries" in ok.output
    assert json.loads(state.read_text())["size"] == 11

    other_root = base64.b64encode(hashlib.sha256(b"another history").digest()).decode()
    forked = _forge(state, size=5, root_hash=other_root)
    with pytest.raises(LedgerMismatch, match="not consistent with checkpoint 5"):
        monitor(live_server, state_path=forked)
    result = runner.invoke(ledger, ["verify", "--url", live_server, "--state", str(forked)])
    assert result.exit_code == 1
    assert "FAIL: checkpoint 11: not consistent with checkpoint 5" in result.output
    assert json.loads(forked.read_text())["root_hash"] == other_root  # a failure keeps the old head

    same_size = _forge(state, root_hash=other_root)
    with pytest.raises(LedgerMismatch, match="checkpoint 11"):
        monitor(live_server, state_path=same_size)
    rolled_back = _forge(state, size=40)
    with pytest.raises(LedgerMismatch, match="shrank"):
        monitor(live_server, state_path=rolled_back)

    stranger = "registry.example.cn/workforce/bans/v1+0a37078b+Ab5zzsuHA2xHnxIy5yICyuqy+MRBKbgC/cyPf6z8PpDs"
    vkey_file = tmp_path / "pinned.vkey"
    vkey_file.write_text(stranger + "\n")
    pinned = runner.invoke(
        ledger,
        [
            "verify",
            "--url",
            live_server,
            "--state",
            str(tmp_path / "fresh.json"),
            "--vkey",
            str(vkey_file),
        ],
    )
    assert pinned.exit_code == 1
    assert "FAIL: latest checkpoint" in pinned.output


def test_monitor_follows_a_key_rotation(settings: Settings, tmp_path: Path) -> None:
    own = AppContext.open(dataclasses.replace(settings, keys_dir=tmp_path / "keys"))
    app = create_app(settings, own)
    state = tmp_path / "state.json"
    late = tmp_path / "late.json"
    with TestClient(app) as client:
        _seed(settings, own, 2, seed_value=1)
        assert monitor("", state_path=state, client=client).size == 2
        late.write_text(state.read_text())
        own.keyring.rotate()
        _seed(settings, own, 1, seed_value=2)
        assert monitor("", state_path=state, client=client).size == 3
        assert len(json.loads(state.read_text())["vkeys"]) == 2
        own.keyring.rotate()
        _seed(settings, own, 1, seed_value=3)
        assert monitor("", state_path=state, client=client).size == 4  # signed by keys 2 and 3
        assert len(json.loads(state.read_text())["vkeys"]) == 3
        # A monitor that slept through both rotations no longer knows a signing key.
        with pytest.raises(LedgerMismatch, match="latest checkpoint"):
            monitor("", state_path=late, client=client)


def test_default_state_path_is_per_origin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    a = default_state_path("registry.example.cn/workforce/bans/v1")
    b = default_state_path("example.org/other/log")
    assert a.parent == tmp_path / "workforce" and a.name.startswith("monitor-") and a != b
