"""Shared fixtures: a migrated database per test, the app, a client and real tokens.

Tests run on the migrated schema (never ``create_all``).  SQLite: the schema is migrated once
into a template file that each test copies.  PostgreSQL (``WORKFORCE_TEST_DATABASE_URL``): the
schema is rebuilt once per session and every table is truncated between tests.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.factories import Factory
from workforce.app import create_app
from workforce.context import AppContext
from workforce.db import make_engine
from workforce.migrate import upgrade
from workforce.settings import Settings

PG_URL = os.environ.get("WORKFORCE_TEST_DATABASE_URL", "")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if PG_URL:
        return
    skip = pytest.mark.skip(
        reason="PostgreSQL not configured: set WORKFORCE_TEST_DATABASE_URL to run this test"
    )
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def pytest_report_header() -> str:
    return f"database: {'PostgreSQL ' + PG_URL.split('@')[-1] if PG_URL else 'SQLite (set WORKFORCE_TEST_DATABASE_URL for PostgreSQL)'}"


async def _reset_postgres(url: str) -> None:
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


async def _truncate_postgres(url: str) -> None:
    engine = make_engine(url)
    async with engine.begin() as conn:
        rows = await conn.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"
            )
        )
        tables = [r[0] for r in rows]
        if tables:
            await conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("keys")


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Migrate once per session: a SQLite template file, or the PostgreSQL test database."""
    if PG_URL:
        asyncio.run(_reset_postgres(PG_URL))
        upgrade(PG_URL)
        return PG_URL
    template = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{template}")
    return str(template)


@pytest.fixture
def database_url(migrated_db: str, tmp_path: Path) -> str:
    """A fresh, migrated database for this test."""
    if PG_URL:
        asyncio.run(_truncate_postgres(PG_URL))
        return PG_URL
    target = tmp_path / "workforce.db"
    shutil.copyfile(migrated_db, target)
    return f"sqlite+aiosqlite:///{target}"


@pytest.fixture
def settings(database_url: str, tmp_path: Path, keys_dir: Path) -> Settings:
    return Settings(
        var_dir=tmp_path,
        database_url=database_url,
        keys_dir=keys_dir,
        environment="test",
        scrypt_log2_n=10,
    )


@pytest.fixture
def ctx(settings: Settings) -> AppContext:
    return AppContext.open(settings)


@pytest.fixture
def app(settings: Settings, ctx: AppContext) -> Litestar:
    return create_app(settings, ctx)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


@pytest.fixture
async def session(database_url: str) -> AsyncIterator[AsyncSession]:
    """A session of its own on the test database (for factories and direct checks)."""
    engine = make_engine(database_url)
    async with async_sessionmaker(engine, expire_on_commit=False)() as db:
        yield db
    await engine.dispose()


@pytest.fixture
def rng() -> random.Random:
    return random.Random(20261123)


@pytest.fixture
def factory(session: AsyncSession, ctx: AppContext, rng: random.Random) -> Factory:
    return Factory(session, ctx, rng)


@pytest.fixture
def caplog_all(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Capture every log record at DEBUG (to assert no ID number reaches a log)."""
    caplog.set_level("DEBUG")
    yield caplog


def bearer(token: str) -> dict[str, Any]:
    return {"Authorization": f"Bearer {token}"}
