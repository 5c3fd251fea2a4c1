"""Webhooks: registration rules, and delivery to a real local HTTP receiver.

The receiver is a ``ThreadingHTTPServer`` on 127.0.0.1 that fails the first N requests; the
dispatcher's clock is moved forward to skip the backoff, so the test takes seconds.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import json
import threading
import time
import uuid
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.api.test_admission import change_certificate, give_certificate, wire_hiring
from tests.api.test_employments import hire
from tests.factories import Actor, Factory
from workforce.app import create_app
from workforce.context import AppContext
from workforce.db import make_engine, utcnow
from workforce.hiring import webhooks
from workforce.hiring.models import WebhookAttempt, WebhookDelivery
from workforce.settings import Settings

pytestmark = pytest.mark.anyio


@dataclasses.dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """A real HTTP server on 127.0.0.1 that answers ``fail_first`` times with ``fail_status``."""

    def __init__(
        self,
        fail_first: int = 0,
        fail_status: int = 503,
        delay: float = 0.0,
        hold_first: threading.Event | None = None,
    ) -> None:
        self.fail_first = fail_first
        self.hold_first = hold_first
        self.fail_status = fail_status
        self.delay = delay
        self.received: list[Received] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with outer.lock:
                    outer.received.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    n = len(outer.received)
                if outer.delay:
                    time.sleep(outer.delay)
                if n == 1 and outer.hold_first is not None:
                    outer.hold_first.wait(30)  # the client may be gone by then
                    self.close_connection = True
                    return
                if self.path == "/redirect":
                    self.send_response(302)
                    self.send_header("Location", "/elsewhere")
                elif n <= outer.fail_first:
                    self.send_response(outer.fail_status)
                else:
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class Clock:
    """A settable clock for the dispatcher."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
async def factory_maker(database_url: str) -> Any:
    engine = make_engine(database_url)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


async def _register(client: Any, inst: Actor, url: str, secret: str | None = None) -> Any:
    body: dict[str, Any] = {"url": url}
    if secret is not None:
        body["secret"] = secret
    return await client.put(
        f"/api/v1/institutions/{inst.org.id}/webhook", json=body, headers=inst.headers
    )


async def _enqueue(session: AsyncSession, inst: Actor, n: int = 1) -> list[uuid.UUID]:
    ids = []
    for i in range(n):
        row = webhooks.enqueue(session, inst.org.id, "alert.created", {"kind": "test", "n": i})
        ids.append(row.id)
    await session.commit()
    return ids


def _check_signature(secret: str, got: Received) -> None:
    timestamp = got.headers["x-workforce-timestamp"]
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + got.body, hashlib.sha256)
    assert got.headers["x-workforce-signature"] == f"sha256={mac.hexdigest()}"


# --------------------------------------------------------------------------- registration


async def test_register_shows_the_secret_once(
    client: AsyncTestClient[Litestar], factory: Factory
) -> None:
    inst = await factory.org("institution")
    response = await _register(client, inst, "https://hooks.example.cn/workforce")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["secret"].startswith("whsec_")
    assert response.headers["cache-control"] == "no-store"
    shown = await client.get(f"/api/v1/institutions/{inst.org.id}/webhook", headers=inst.headers)
    assert shown.status_code == 200
    assert shown.json()["secret"] is None
    assert shown.json()["url"] == "https://hooks.example.cn/workforce"
    chosen = await _register(client, inst, "https://hooks.example.cn/v2", secret="s" * 32)
    assert chosen.json()["secret"] == "s" * 32
    other = await factory.org("institution")
    assert (await _register(client, other, "https://x.example.cn/h")).status_code == 200
    foreign = await client.put(
        f"/api/v1/institutions/{inst.org.id}/webhook",
        json={"url": "https://evil.example.cn/h"},
        headers=other.headers,
    )
    assert foreign.status_code == 404
    regulator = await factory.org("regulator", region="320100")
    assert (await _register(client, regulator, "https://x.example.cn/h")).status_code == 403
    unauthenticated = await client.put(
        f"/api/v1/institutions/{inst.org.id}/webhook", json={"url": "https://x.example.cn/h"}
    )
    assert unauthenticated.status_code == 401
    deleted = await client.delete(
        f"/api/v1/institutions/{inst.org.id}/webhook", headers=inst.headers
    )
    assert deleted.status_code == 204
    gone = await client.get(f"/api/v1/institutions/{inst.org.id}/webhook", headers=inst.headers)
    assert gone.status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hooks.example.cn/x",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "https://user:pw@hooks.example.cn/",
    ],
)
async def test_only_http_or_https(
    client: AsyncTestClient[Litestar], factory: Factory, url: str
) -> None:
    inst = await factory.org("institution")
    response = await _register(client, inst, url)
    assert response.status_code == 422
    assert response.json()["type"] == "urn:workforce:webhook_url_not_allowed"
    assert (
        await client.get(f"/api/v1/institutions/{inst.org.id}/webhook", headers=inst.headers)
    ).status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.1.10/hook",
        "http://172.16.0.5/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[fd00::1]/hook",
        "http://224.0.0.1/hook",
        "http://0.0.0.0/hook",
        "http://240.0.0.1/hook",
        "http://[::ffff:127.0.0.1]/hook",
    ],
)
async def test_private_targets_refused_in_production(
    settings: Settings, ctx: AppContext, factory: Factory, url: str
) -> None:
    production = dataclasses.replace(settings, environment="production")
    app = create_app(
        production, AppContext(settings=production, keyring=ctx.keyring, secrets=ctx.secrets)
    )
    inst = await factory.org("institution")
    async with AsyncTestClient(app=app) as client:
        response = await _register(client, inst, url)
        assert response.status_code == 422, url
        assert response.json()["type"] == "urn:workforce:webhook_url_not_allowed"
        public = await _register(client, inst, "https://93.184.216.34/hook")
        assert public.status_code == 200


async def test_loopback_allowed_outside_production(
    client: AsyncTestClient[Litestar], factory: Factory
) -> None:
    inst = await factory.org("institution")
    assert (await _register(client, inst, "http://127.0.0.1:9/hook")).status_code == 200


# --------------------------------------------------------------------------- delivery


async def test_retries_with_backoff_until_delivered(
    client: AsyncTestClient[Litestar],
    factory: Factory,
    session: AsyncSession,
    ctx: AppContext,
    factory_maker: async_sessionmaker[AsyncSession],
) -> None:
    inst = await factory.org("institution")
    with Receiver(fail_first=2) as receiver:
        secret = (await _register(client, inst, receiver.url)).json()["secret"]
        (delivery_id,) = await _enqueue(session, inst)
        clock = Clock()
        dispatcher = webhooks.Dispatcher(factory_maker, ctx, clock=clock)
        first = await dispatcher.run_once()
        assert (first.claimed, first.retried) == (1, 1)
        # Not due again before the backoff has passed.
        clock.advance(9)
        assert (await dispatcher.run_once()).claimed == 0
        clock.advance(2)
        assert (await dispatcher.run_once()).retried == 1
        clock.advance(59)
        assert (await dispatcher.run_once()).claimed == 0
        clock.advance(2)
        assert (await dispatcher.run_once()).delivered == 1
        clock.advance(10_000)
        assert (await dispatcher.run_once()).claimed == 0

    assert len(receiver.received) == 3
    for got in receiver.received:
        _check_signature(secret, got)
        assert got.headers["x-workforce-delivery"] == str(delivery_id)
        assert got.headers["content-type"] == "application/json"
        payload = json.loads(got.body)
        assert payload["id"] == str(delivery_id)
        assert payload["event"] == "alert.created"
    attempts = list(
        (
            await session.scalars(
                select(WebhookAttempt)
                .where(WebhookAttempt.delivery_id == delivery_id)
                .order_by(WebhookAttempt.attempt)
            )
        ).all()
    )
    assert [(a.attempt, a.status_code, a.error) for a in attempts] == [
        (1, 503, "http_503"),
        (2, 503, "http_503"),
        (3, 200, None),
    ]
    assert all(a.duration_ms >= 0 and a.url == receiver.url for a in attempts)
    session.expire_all()
    delivery = await session.get(WebhookDelivery, delivery_id)
    assert delivery is not None
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("delivered", 3, None)
    # Attempts are insert-only.
    with pytest.raises(Exception):  # noqa: B017 - the driver's own error type
        await session.execute(text("UPDATE webhook_attempts SET status_code = 200"))
    await session.rollback()


async def test_gives_up_after_the_last_retry(
    client: AsyncTestClient[Litestar],
    factory: Factory,
    session: AsyncSession,
    ctx: AppContext,
    factory_maker: async_sessionmaker[AsyncSession],
) -> None:
    inst = await factory.org("institution")
    with Receiver(fail_first=100, fail_status=500) as receiver:
        await _register(client, inst, receiver.url)
        (delivery_id,) = await _enqueue(session, inst)
        clock = Clock()
        dispatcher = webhooks.Dispatcher(factory_maker, ctx, clock=clock)
        for delay in (0, *webhooks.BACKOFF_SECONDS):
            clock.advance(delay)
            assert (await dispatcher.run_once()).claimed == 1
        clock.advance(100_000)
        assert (await dispatcher.run_once()).claimed == 0
    assert len(receiver.received) == webhooks.MAX_ATTEMPTS == 6
    session.expire_all()
    delivery = await session.get(WebhookDelivery, delivery_id)
    assert delivery is not None
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("failed", 6, "http_500")


async def test_timeouts_redirects_and_refused_connections(
    client: AsyncTestClient[Litestar],
    factory: Factory,
    session: AsyncSession,
    ctx: AppContext,
    settings: Settings,
    factory_maker: async_sessionmaker[AsyncSession],
) -> None:
    fast = AppContext(
        settings=dataclasses.replace(settings, webhook_timeout_seconds=0.2),
        keyring=ctx.keyring,
        secrets=ctx.secrets,
    )
    inst = await factory.org("institution")
    with Receiver(delay=1.0) as slow:
        await _register(client, inst, slow.url)
        await _enqueue(session, inst)
        await webhooks.Dispatcher(factory_maker, fast).run_once()
    with Receiver() as redirecting:
        await _register(client, inst, redirecting.url.replace("/hook", "/redirect"))
        await _enqueue(session, inst)
        await webhooks.Dispatcher(factory_maker, fast).run_once()
        assert [r.path for r in redirecting.received] == ["/redirect"]
    closed = Receiver()
    port = closed.server.server_address[1]
    closed.server.server_close()
    await _register(client, inst, f"http://127.0.0.1:{port}/hook")
    await _enqueue(session, inst)
    await webhooks.Dispatcher(factory_maker, fast).run_once()
    errors = [
        a.error
        for a in (
            await session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.created_at))
        ).all()
    ]
    assert errors == ["timeout", "http_302", "connect_error"]


async def test_concurrent_dispatchers_deliver_each_once(
    client: AsyncTestClient[Litestar],
    factory: Factory,
    session: AsyncSession,
    ctx: AppContext,
    factory_maker: async_sessionmaker[AsyncSession],
) -> None:
    inst = await factory.org("institution")
    with Receiver() as receiver:
        await _register(client, inst, receiver.url)
        ids = await _enqueue(session, inst, n=20)
        dispatchers = [webhooks.Dispatcher(factory_maker, ctx) for _ in range(3)]
        for _ in range(3):
            await asyncio.gather(*(d.run_once(limit=5) for d in dispatchers))
    delivered = sorted(json.loads(r.body)["id"] for r in receiver.received)
    assert delivered == sorted(str(i) for i in ids)


async def test_removed_webhook_cancels_pending(
    client: AsyncTestClient[Litestar],
    factory: Factory,
    session: AsyncSession,
    ctx: AppContext,
    factory_maker: async_sessionmaker[AsyncSession],
) -> None:
    inst = await factory.org("institution")
    await _register(client, inst, "http://127.0.0.1:9/hook")
    (delivery_id,) = await _enqueue(session, inst)
    await client.delete(f"/api/v1/institutions/{inst.org.id}/webhook", headers=inst.headers)
    summary = await webhooks.Dispatcher(factory_maker, ctx).run_once()
    assert summary.cancelled == 1
    session.expire_all()
    delivery = await session.get(WebhookDelivery, delivery_id)
    assert delivery is not None
    assert delivery.status == "cancelled"


async def test_a_revocation_reaches_the_receiver(
    client: AsyncTestClient[Litestar],
    factory: Factory,
    session: AsyncSession,
    ctx: AppContext,
    factory_maker: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wire_hiring(monkeypatch)
    regulator = await factory.org("regulator", region="320100")
    inst = await factory.org("institution")
    person, number = await factory.practitioner(by=inst)
    cert = await give_certificate(session, ctx, regulator, person)
    assert (await hire(client, inst, number)).status_code == 201
    with Receiver() as receiver:
        secret = (await _register(client, inst, receiver.url)).json()["secret"]
        await change_certificate(session, ctx, regulator, cert.serial, "revoke")
        assert (await webhooks.Dispatcher(factory_maker, ctx).run_once()).delivered == 1
    (got,) = receiver.received
    _check_signature(secret, got)
    data = json.loads(got.body)["data"]
    assert data["kind"] == "certificate_revoked"
    assert data["practitioner_id"] == str(person.id)
    assert data["id_number_masked"] == person.id_masked
    assert number not in got.body.decode()


def test_signature_format() -> None:
    value = webhooks.sign("secret", "1700000000", b'{"a":1}')
    expected = hmac.new(b"secret", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
    assert value == f"sha256={expected}"
