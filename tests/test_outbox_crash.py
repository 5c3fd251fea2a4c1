"""The outbox survives a crash: a killed process loses no alert and delivers no half-change.

Each scenario runs the writer in a real subprocess that is killed with SIGKILL (no cleanup,
no ``finally``), then a fresh dispatcher in the test process finishes the job.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.api.test_admission import give_certificate, wire_hiring
from tests.api.test_employments import hire
from tests.factories import Actor, Factory
from tests.test_webhooks import Clock, Receiver, _check_signature, _register
from workforce.certificates import service as certificates
from workforce.context import AppContext
from workforce.db import make_engine
from workforce.hiring import webhooks
from workforce.hiring.models import Alert, WebhookAttempt, WebhookDelivery
from workforce.settings import Settings

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[1]

PRELUDE = """
import asyncio, json, os, signal, sys, uuid
from sqlalchemy.ext.asyncio import async_sessionmaker
from workforce import hooks
from workforce.certificates import service as certificates
from workforce.context import AppContext
from workforce.db import make_engine
from workforce.security.principal import Principal
from workforce.settings import load_settings

hooks.SUBSCRIBERS = {
    **hooks.SUBSCRIBERS,
    "certificate_status_changed": (
        *hooks.SUBSCRIBERS["certificate_status_changed"],
        "workforce.hiring.alerts:on_certificate_status_changed",
    ),
}
args = json.loads(sys.argv[1])
settings = load_settings()
ctx = AppContext.open(settings)
regulator = Principal(
    client_id=args["client_id"], org_id=uuid.UUID(args["org_id"]), role="regulator",
    region=args["region"],
)

def die():
    sys.stdout.write("dying\\n")
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)
"""


def _env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        WORKFORCE_DATABASE_URL=settings.database_url,
        WORKFORCE_KEYS_DIR=str(settings.effective_keys_dir),
        WORKFORCE_VAR_DIR=str(settings.var_dir),
        WORKFORCE_ENVIRONMENT="test",
        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")]),
    )
    return env


def _start(settings: Settings, body: str, args: dict[str, Any]) -> subprocess.Popen[str]:
    code = PRELUDE + textwrap.dedent(body)
    return subprocess.Popen(
        [sys.executable, "-c", code, json.dumps(args)],
        env=_env(settings),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _args(regulator: Actor, serial: str) -> dict[str, Any]:
    return {
        "client_id": regulator.client_id,
        "org_id": str(regulator.org.id),
        "region": regulator.principal.region,
        "serial": serial,
    }


@pytest.fixture
async def sessions(database_url: str) -> Any:
    engine = make_engine(database_url)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


async def _employed(
    client: Any, factory: Factory, session: AsyncSession, ctx: AppContext
) -> tuple[Actor, Actor, str]:
    regulator = await factory.org("regulator", region="320100")
    inst = await factory.org("institution")
    person, number = await factory.practitioner(by=inst)
    cert = await give_certificate(session, ctx, regulator, person)
    assert (await hire(client, inst, number)).status_code == 201
    return regulator, inst, cert.serial


async def _count(session: AsyncSession, model: Any) -> int:
    await session.commit()
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_killed_after_commit_before_dispatch(
    client: AsyncTestClient[Litestar],
    factory: Factory,
    session: AsyncSession,
    ctx: AppContext,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    regulator, inst, serial = await _employed(client, factory, session, ctx)
    with Receiver() as receiver:
        secret = (await _register(client, inst, receiver.url)).json()["secret"]
        writer = _start(
            settings,
            """
            async def main():
                engine = make_engine(settings.effective_database_url)
                async with async_sessionmaker(engine, expire_on_commit=False)() as session:
                    await certificates.change_status(
                        session, ctx, regulator, args["serial"], "revoke", "核查发现问题")
                    await session.commit()
                die()  # before any dispatcher ran
            asyncio.run(main())
            """,
            _args(regulator, serial),
        )
        out, err = writer.communicate(timeout=60)
        assert writer.returncode == -signal.SIGKILL, err
        assert "dying" in out
        assert receiver.received == []
        assert await _count(session, Alert) == 1
        delivery = await session.scalar(select(WebhookDelivery))
        assert delivery is not None
        assert delivery.status == "pending"

        summary = await webhooks.Dispatcher(sessions, ctx).run_once()
        assert summary.delivered == 1
    (got,) = receiver.received
    _check_signature(secret, got)
    assert json.loads(got.body)["data"]["kind"] == "certificate_revoked"


async def test_killed_before_commit_leaves_nothing(
    client: AsyncTestClient[Litestar],
    factory: Factory,
    session: AsyncSession,
    ctx: AppContext,
    settings: Settings,
) -> None:
    regulator, inst, serial = await _employed(client, factory, session, ctx)
    await _register(client, inst, "http://127.0.0.1:9/hook")
    writer = _start(
        settings,
        """
        async def main():
            engine = make_engine(settings.effective_database_url)
            async with async_sessionmaker(engine, expire_on_commit=False)() as session:
                await certificates.change_status(
                    session, ctx, regulator, args["serial"], "revoke", "核查发现问题")
                await session.flush()
                die()  # the change, the alert and the delivery are flushed, not committed
        asyncio.run(main())
        """,
        _args(regulator, serial),
    )
    out, err = writer.communicate(timeout=60)
    assert writer.returncode == -signal.SIGKILL, err
    assert "dying" in out
    assert await _count(session, Alert) == 0
    assert await _count(session, WebhookDelivery) == 0
    cert = await certificates.get_by_serial(session, serial)
    await session.refresh(cert)
    assert cert.revoked_at is None
    # The database is usable afterwards: the same change now commits normally.
    await certificates.change_status(session, ctx, regulator.principal, serial, "revoke", "复核")
    await session.commit()


async def test_dispatcher_killed_mid_delivery_is_taken_over(
    client: AsyncTestClient[Litestar],
    factory: Factory,
    session: AsyncSession,
    ctx: AppContext,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wire_hiring(monkeypatch)
    regulator, inst, serial = await _employed(client, factory, session, ctx)
    release = threading.Event()
    with Receiver(hold_first=release) as receiver:
        secret = (await _register(client, inst, receiver.url)).json()["secret"]
        await certificates.change_status(
            session, ctx, regulator.principal, serial, "revoke", "核查"
        )
        await session.commit()
        dispatcher = _start(
            settings,
            """
            import threading, time
            from workforce.hiring.webhooks import Dispatcher
            async def main():
                engine = make_engine(settings.effective_database_url)
                d = Dispatcher(async_sessionmaker(engine, expire_on_commit=False), ctx)
                threading.Timer(2.0, die).start()  # killed while the POST is in flight
                await d.run_once()
            asyncio.run(main())
            """,
            _args(regulator, serial),
        )
        _, err = dispatcher.communicate(timeout=60)
        release.set()
        assert dispatcher.returncode == -signal.SIGKILL, err
        assert len(receiver.received) == 1
        await session.commit()
        claimed = await session.scalar(select(WebhookDelivery))
        assert claimed is not None
        assert claimed.status == "pending"
        assert claimed.lease_owner is not None
        assert await _count(session, WebhookAttempt) == 0
        # Another dispatcher waits for the lease to lapse, then delivers.
        clock = Clock()
        assert (await webhooks.Dispatcher(sessions, ctx, clock=clock).run_once()).claimed == 0
        clock.advance(webhooks.LEASE_SECONDS + 1)
        summary = await webhooks.Dispatcher(sessions, ctx, clock=clock).run_once()
        assert summary.delivered == 1
    assert len(receiver.received) == 2
    _check_signature(secret, receiver.received[1])
    await session.commit()
    session.expire_all()
    done = await session.scalar(select(WebhookDelivery))
    assert done is not None
    assert (done.status, done.attempts) == ("delivered", 1)
    assert await _count(session, WebhookAttempt) == 1
