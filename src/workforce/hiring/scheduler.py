"""Background work of ``serve``: the webhook dispatcher and the periodic re-check.

Wire it in ``create_app`` with ``Litestar(..., lifespan=[hiring_lifespan])``.  Every server
process runs both loops: the dispatcher's claims (``SKIP LOCKED`` / leases) and the re-check's
job lease (table ``job_leases``) keep two processes from doing the same work twice.

* The dispatcher runs every ``WEBHOOK_DISPATCH_INTERVAL`` seconds (2 s), except under
  ``environment == "test"`` where tests drive it themselves.
* The re-check runs when ``settings.recheck_interval_seconds > 0``, at start-up and then at
  that interval, by whichever process holds the ``recheck`` lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from workforce.db import begin_write, make_engine, utcnow
from workforce.hiring.models import JobLease
from workforce.hiring.recheck import recheck_all
from workforce.hiring.webhooks import Dispatcher
from workforce.security.idnumber import today_in_china

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Coroutine

    from litestar import Litestar

    from workforce.context import AppContext
    from workforce.settings import Settings

log = logging.getLogger("workforce.hiring")

WEBHOOK_DISPATCH_INTERVAL: Final = 2.0
RECHECK_LEASE: Final = "recheck"


async def acquire_lease(
    session_factory: async_sessionmaker[AsyncSession], name: str, holder: str, seconds: float
) -> bool:
    """Take (or renew) the named job lease for ``seconds``; False if another process holds it."""
    now = utcnow()
    until = now + timedelta(seconds=seconds)
    async with session_factory() as session:
        await begin_write(session)
        stmt = select(JobLease).where(JobLease.name == name)
        if session.bind is not None and session.bind.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        row = await session.scalar(stmt)
        if row is None:
            session.add(JobLease(name=name, holder=holder, lease_until=until))
            try:
                await session.commit()
            except IntegrityError:
                return False
            return True
        if row.holder != holder and row.lease_until > now:
            await session.rollback()
            return False
        row.holder = holder
        row.lease_until = until
        await session.commit()
        return True


class Background:
    """The background loops of one server process."""

    def __init__(
        self,
        settings: Settings,
        ctx: AppContext,
        *,
        dispatch_interval: float | None = None,
        recheck_interval: float | None = None,
    ) -> None:
        self.settings = settings
        self.ctx = ctx
        default_dispatch = 0.0 if settings.environment == "test" else WEBHOOK_DISPATCH_INTERVAL
        self.dispatch_interval = (
            default_dispatch if dispatch_interval is None else dispatch_interval
        )
        self.recheck_interval = (
            float(settings.recheck_interval_seconds)
            if recheck_interval is None
            else recheck_interval
        )
        self.holder = f"worker-{secrets.token_hex(6)}"
        self._engine: AsyncEngine | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def _recheck_loop(self, factory: async_sessionmaker[AsyncSession]) -> None:
        while True:
            try:
                if await acquire_lease(
                    factory, RECHECK_LEASE, self.holder, self.recheck_interval * 0.9
                ):
                    summary = await recheck_all(factory, self.ctx, today_in_china())
                    log.info(
                        "recheck %s: %d checked, %d failing, %d alerts, %d certificates expired",
                        summary.day,
                        summary.checked,
                        summary.failing,
                        summary.alerts,
                        summary.expired,
                    )
            except asyncio.CancelledError:
                raise
            except Exception:  # a failed run must not stop the loop; the next one retries
                log.exception("recheck run failed")
            await asyncio.sleep(self.recheck_interval)

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.append(asyncio.create_task(coro, name=name))

    async def start(self) -> None:
        """Start the loops that are switched on."""
        if self.dispatch_interval <= 0 and self.recheck_interval <= 0:
            return
        self._engine = make_engine(self.settings.effective_database_url)
        factory = async_sessionmaker(self._engine, expire_on_commit=False)
        if self.dispatch_interval > 0:
            dispatcher = Dispatcher(factory, self.ctx, owner=self.holder)
            self._spawn(dispatcher.run_forever(self.dispatch_interval), "webhook-dispatcher")
        if self.recheck_interval > 0:
            self._spawn(self._recheck_loop(factory), "recheck")

    async def stop(self) -> None:
        """Cancel the loops and close their engine."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None


@contextlib.asynccontextmanager
async def hiring_lifespan(app: Litestar) -> AsyncIterator[None]:
    """Litestar lifespan hook: run the background loops while the app serves."""
    background = Background(app.state["settings"], app.state["ctx"])
    await background.start()
    try:
        yield
    finally:
        await background.stop()
