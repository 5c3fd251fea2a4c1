"""Running a unit of work outside a request (CLI commands, scheduled jobs, scripts)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import async_sessionmaker

from workforce.context import AppContext
from workforce.db import make_engine
from workforce.migrate import upgrade
from workforce.settings import Settings

T = TypeVar("T")


def run_in_session(settings: Settings, fn: Callable[[Any, Any], Awaitable[T]]) -> T:
    """Run ``fn(session, ctx)`` in one committed unit of work against the configured database."""

    async def _main() -> T:
        engine = make_engine(settings.effective_database_url)
        ctx = AppContext.open(settings)
        try:
            async with async_sessionmaker(engine, expire_on_commit=False)() as session:
                result = await fn(session, ctx)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    return asyncio.run(_main())


def ensure_embedded_database(settings: Settings) -> None:
    """Create and migrate the default SQLite database (other databases: ``db upgrade``)."""
    if settings.is_embedded_database:
        settings.var_dir.mkdir(parents=True, exist_ok=True)
        upgrade(settings.effective_database_url)
