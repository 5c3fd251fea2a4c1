"""Webhooks: registration, the outbox and its dispatcher.

An alert and its delivery row are written in the transaction of the change that causes them
(the hooks run inside the caller's unit of work), so neither is lost if the process dies before
the message is sent: the transactional outbox.  A dispatcher (a background task of ``serve`` and
``workforce webhooks dispatch``) claims due deliveries, POSTs them, records every attempt
(insert-only) and retries with exponential backoff.

Claiming: PostgreSQL ``SELECT … FOR UPDATE SKIP LOCKED`` inside the claiming ``UPDATE``; SQLite a
claim-by-update under ``BEGIN IMMEDIATE``.  On both, a claim is a lease (``lease_until``): the
claim is committed before the HTTP request is made, so a dispatcher that dies mid-delivery
releases its rows when the lease lapses, and another dispatcher delivers them (at least once).

Signature (the receiver checks it with the secret shown once at registration)::

    X-Workforce-Timestamp: <unix seconds>
    X-Workforce-Delivery:  <delivery id, stable across retries: deduplicate on it>
    X-Workforce-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>

Targets: ``http``/``https`` only; in production, hosts that resolve to private, loopback,
link-local, multicast, reserved or unspecified addresses are refused, at registration and again
before every attempt (a name may be re-pointed); redirects are never followed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import ipaddress
import logging
import secrets
import socket
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

import httpx
import msgspec
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import and_, or_, select, update

from workforce.db import begin_write, new_id, utcnow
from workforce.errors import Invalid, NotFound, Reason
from workforce.hiring.models import WebhookAttempt, WebhookDelivery, WebhookSecret
from workforce.orgs.models import Org

if TYPE_CHECKING:
    import uuid
    from collections.abc import Callable, Sequence

    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from workforce.context import AppContext
    from workforce.hiring.schemas import WebhookSet
    from workforce.security.principal import Principal

log = logging.getLogger("workforce.webhooks")

BACKOFF_SECONDS: Final = (10, 60, 300, 1800, 7200)
"""Delay before each retry; after the last one fails the delivery is ``failed``."""
MAX_ATTEMPTS: Final = len(BACKOFF_SECONDS) + 1
LEASE_SECONDS: Final = 60
"""How long a claim lasts (longer than any attempt: the timeout is a few seconds)."""
WEBHOOK_URL_NOT_ALLOWED: Final = "webhook_url_not_allowed"
SIGNATURE_HEADER: Final = "X-Workforce-Signature"
TIMESTAMP_HEADER: Final = "X-Workforce-Timestamp"
DELIVERY_HEADER: Final = "X-Workforce-Delivery"
_SECRET_INFO: Final = b"workforce/webhook-secret/aes-256-gcm/v1"
_USER_AGENT: Final = "workforce-webhooks/1"


# --------------------------------------------------------------------------- secrets


def _aead(ctx: AppContext) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_SECRET_INFO).derive(
        ctx.secrets.webhook_key
    )
    return AESGCM(key)


def seal_secret(ctx: AppContext, org_id: uuid.UUID, secret: str) -> bytes:
    """AES-256-GCM of a webhook secret, bound to its organisation."""
    nonce = secrets.token_bytes(12)
    return nonce + _aead(ctx).encrypt(nonce, secret.encode(), org_id.bytes)


def open_secret(ctx: AppContext, org_id: uuid.UUID, sealed: bytes) -> str:
    """The webhook secret of an organisation."""
    return _aead(ctx).decrypt(sealed[:12], sealed[12:], org_id.bytes).decode()


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Workforce-Signature`` value of a body sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


# --------------------------------------------------------------------------- URL policy


def _address_allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


async def _resolve(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _refuse(detail: str) -> Invalid:
    return Invalid(
        detail, code=WEBHOOK_URL_NOT_ALLOWED, reasons=[Reason(WEBHOOK_URL_NOT_ALLOWED, detail)]
    )


def check_url_shape(url: str) -> tuple[str, int]:
    """``http``/``https`` with a host and no credentials; returns host and port."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise _refuse("the webhook URL is not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise _refuse("a webhook URL must use http or https")
    if not parts.hostname:
        raise _refuse("a webhook URL needs a host")
    if parts.username is not None or parts.password is not None:
        raise _refuse("a webhook URL must not carry credentials")
    if parts.fragment:
        raise _refuse("a webhook URL must not have a fragment")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def check_target(url: str, *, production: bool) -> None:
    """Refuse a URL that is not http(s), or (production) whose host is not public."""
    host, port = check_url_shape(url)
    if not production:
        return
    try:
        addresses = await _resolve(host, port)
    except (OSError, UnicodeError):
        raise _refuse("the webhook host does not resolve") from None
    if not addresses or not all(_address_allowed(a) for a in addresses):
        raise _refuse(
            "the webhook host resolves to a private, loopback, link-local, multicast or "
            "reserved address"
        )


# --------------------------------------------------------------------------- registration


def _institution_only(actor: Principal, org_id: uuid.UUID) -> None:
    if actor.role != "institution" or actor.org_id != org_id:
        raise NotFound("no such institution", code="institution_not_found")


async def set_webhook(
    session: AsyncSession,
    ctx: AppContext,
    actor: Principal,
    org_id: uuid.UUID,
    cmd: WebhookSet,
) -> tuple[Org, WebhookSecret, str]:
    """Register or replace an institution's webhook; returns the secret (shown once)."""
    _institution_only(actor, org_id)
    url = cmd.url
    await check_target(url, production=ctx.settings.environment == "production")
    chosen = cmd.secret or f"whsec_{secrets.token_urlsafe(32)}"
    await begin_write(session)
    org = await session.get(Org, org_id)
    if org is None:  # pragma: no cover - the token names an existing organisation
        raise NotFound("no such institution", code="institution_not_found")
    org.webhook_url = url
    row = await session.scalar(select(WebhookSecret).where(WebhookSecret.org_id == org_id))
    sealed = seal_secret(ctx, org_id, chosen)
    if row is None:
        row = WebhookSecret(org_id=org_id, secret_cipher=sealed, updated_at=utcnow())
        session.add(row)
    else:
        row.secret_cipher = sealed
        row.updated_at = utcnow()
    await session.flush()
    return org, row, chosen


async def get_webhook(
    session: AsyncSession, actor: Principal, org_id: uuid.UUID
) -> tuple[Org, WebhookSecret]:
    """The institution's webhook (404 when none is registered)."""
    _institution_only(actor, org_id)
    org = await session.get(Org, org_id)
    row = await session.scalar(select(WebhookSecret).where(WebhookSecret.org_id == org_id))
    if org is None or org.webhook_url is None or row is None:
        raise NotFound("no webhook is registered", code="webhook_not_found")
    return org, row


async def delete_webhook(session: AsyncSession, actor: Principal, org_id: uuid.UUID) -> None:
    """Remove the webhook; pending deliveries are cancelled when next picked up."""
    await begin_write(session)
    org, _ = await get_webhook(session, actor, org_id)
    org.webhook_url = None
    await session.flush()


# --------------------------------------------------------------------------- the outbox


def enqueue(
    session: AsyncSession,
    org_id: uuid.UUID,
    event: str,
    data: dict[str, Any],
    alert_id: uuid.UUID | None = None,
) -> WebhookDelivery:
    """Add a delivery to the caller's unit of work (written with the change that causes it)."""
    delivery_id = new_id()
    now = utcnow()
    body = msgspec.json.encode(
        {"id": str(delivery_id), "event": event, "created_at": now, "data": data}
    )
    row = WebhookDelivery(
        id=delivery_id,
        created_at=now,
        org_id=org_id,
        alert_id=alert_id,
        event=event,
        payload=body,
        status="pending",
        attempts=0,
        next_attempt_at=now,
    )
    session.add(row)
    return row


@dataclasses.dataclass
class DispatchSummary:
    """What one dispatcher pass did."""

    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0


@dataclasses.dataclass(frozen=True)
class _Claimed:
    id: uuid.UUID
    org_id: uuid.UUID
    attempts: int
    payload: bytes


@dataclasses.dataclass(frozen=True)
class _Outcome:
    status_code: int | None
    error: str | None
    duration_ms: int
    url: str

    @property
    def ok(self) -> bool:
        return self.error is None


def backoff_after(attempt: int) -> timedelta | None:
    """Delay after failed attempt ``attempt`` (1-based); ``None``: give up."""
    if attempt > len(BACKOFF_SECONDS):
        return None
    return timedelta(seconds=BACKOFF_SECONDS[attempt - 1])


class Dispatcher:
    """Claims due deliveries and sends them.

    Args:
        session_factory: Makes sessions on the service database.
        ctx: The application context (secrets, settings).
        owner: Name of this dispatcher in leases (default: random).
        clock: Current time (tests move it forward to skip the backoff).
        transport: An httpx transport (tests); default the network.
    """

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        ctx: AppContext,
        *,
        owner: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.ctx = ctx
        self.owner = owner or f"dispatcher-{secrets.token_hex(6)}"
        self.clock = clock
        self.transport = transport

    async def claim(self, limit: int) -> list[_Claimed]:
        """Lease up to ``limit`` due deliveries to this dispatcher (committed at once)."""
        now = self.clock()
        async with self.session_factory() as session:
            await begin_write(session)
            due = (
                select(WebhookDelivery.id)
                .where(
                    WebhookDelivery.status == "pending",
                    WebhookDelivery.next_attempt_at <= now,
                    or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now),
                )
                .order_by(WebhookDelivery.next_attempt_at)
                .limit(limit)
            )
            if session.bind is not None and session.bind.dialect.name == "postgresql":
                due = due.with_for_update(skip_locked=True)
            stmt = (
                update(WebhookDelivery)
                .where(WebhookDelivery.id.in_(due.scalar_subquery()))
                .values(lease_owner=self.owner, lease_until=now + timedelta(seconds=LEASE_SECONDS))
                .returning(
                    WebhookDelivery.id,
                    WebhookDelivery.org_id,
                    WebhookDelivery.attempts,
                    WebhookDelivery.payload,
                )
                .execution_options(synchronize_session=False)
            )
            rows = (await session.execute(stmt)).all()
            await session.commit()
        return [_Claimed(id=r[0], org_id=r[1], attempts=r[2], payload=r[3]) for r in rows]

    async def _target(self, org_id: uuid.UUID) -> tuple[str, str] | None:
        async with self.session_factory() as session:
            url = await session.scalar(select(Org.webhook_url).where(Org.id == org_id))
            sealed = await session.scalar(
                select(WebhookSecret.secret_cipher).where(WebhookSecret.org_id == org_id)
            )
        if url is None or sealed is None:
            return None
        return url, open_secret(self.ctx, org_id, sealed)

    async def _post(
        self, client: httpx.AsyncClient, item: _Claimed, *, url: str, secret: str
    ) -> _Outcome:
        started = time.perf_counter()
        status: int | None = None
        error: str | None = None
        try:
            await check_target(url, production=self.ctx.settings.environment == "production")
            timestamp = str(int(self.clock().timestamp()))
            headers = {
                "Content-Type": "application/json",
                "User-Agent": _USER_AGENT,
                TIMESTAMP_HEADER: timestamp,
                DELIVERY_HEADER: str(item.id),
                SIGNATURE_HEADER: sign(secret, timestamp, item.payload),
            }
            response = await client.post(url, content=item.payload, headers=headers)
            status = response.status_code
            if not 200 <= status < 300:
                error = f"http_{status}"
        except Invalid:
            error = "address_not_allowed"
        except httpx.TimeoutException:
            error = "timeout"
        except httpx.ConnectError:
            error = "connect_error"
        except httpx.HTTPError as exc:
            error = f"http_error:{type(exc).__name__}"[:200]
        duration = int((time.perf_counter() - started) * 1000)
        return _Outcome(status_code=status, error=error, duration_ms=duration, url=url)

    async def _finish(self, item: _Claimed, outcome: _Outcome | None) -> str:
        """Record the attempt and move the delivery on; returns its new status word."""
        now = self.clock()
        async with self.session_factory() as session:
            await begin_write(session)
            owned = and_(
                WebhookDelivery.id == item.id,
                WebhookDelivery.lease_owner == self.owner,
                WebhookDelivery.status == "pending",
            )
            if outcome is None:
                values: dict[str, Any] = {
                    "status": "cancelled",
                    "last_error": "no_webhook",
                    "lease_until": None,
                }
                word = "cancelled"
            else:
                attempt = item.attempts + 1
                session.add(
                    WebhookAttempt(
                        delivery_id=item.id,
                        attempt=attempt,
                        url=outcome.url[:500],
                        status_code=outcome.status_code,
                        error=outcome.error,
                        duration_ms=outcome.duration_ms,
                    )
                )
                values = {"attempts": attempt, "lease_until": None, "last_error": outcome.error}
                delay = backoff_after(attempt)
                if outcome.ok:
                    values.update(status="delivered", delivered_at=now)
                    word = "delivered"
                elif delay is None:
                    values.update(status="failed")
                    word = "failed"
                else:
                    values.update(next_attempt_at=now + delay)
                    word = "retried"
            await session.execute(
                update(WebhookDelivery)
                .where(owned)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            await session.commit()
        return word

    async def run_once(self, limit: int = 100) -> DispatchSummary:
        """Claim what is due, deliver it concurrently, record the outcomes."""
        summary = DispatchSummary()
        claimed = await self.claim(limit)
        summary.claimed = len(claimed)
        if not claimed:
            return summary
        timeout = httpx.Timeout(self.ctx.settings.webhook_timeout_seconds)
        async with httpx.AsyncClient(
            timeout=timeout, follow_redirects=False, transport=self.transport, trust_env=False
        ) as client:

            async def one(item: _Claimed) -> str:
                target = await self._target(item.org_id)
                if target is None:
                    return await self._finish(item, None)
                outcome = await self._post(client, item, url=target[0], secret=target[1])
                if not outcome.ok:
                    log.info("webhook delivery %s attempt failed: %s", item.id, outcome.error)
                return await self._finish(item, outcome)

            words: Sequence[str] = await asyncio.gather(*(one(item) for item in claimed))
        for word in words:
            setattr(summary, word, getattr(summary, word) + 1)
        return summary

    async def run_forever(self, interval: float = 2.0) -> None:
        """Dispatch until cancelled (the background task of ``serve``)."""
        while True:
            try:
                summary = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # a dispatcher must survive a bad pass; the next one retries
                log.exception("webhook dispatch pass failed")
                summary = DispatchSummary()
            if summary.claimed == 0:
                await asyncio.sleep(interval)
