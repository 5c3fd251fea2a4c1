"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from workforce.db import Base, make_engine
from workforce.migrate import alembic_config
from workforce.models import load_all_models


def _diff(url: str) -> list[object]:
    load_all_models()

    def compare(conn: Connection) -> list[object]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    async def run() -> list[object]:
        engine = make_engine(url)
        async with engine.connect() as conn:
            result = await conn.run_sync(compare)
        await engine.dispose()
        return result

    return asyncio.run(run())


def test_models_match_migrations(database_url: str) -> None:
    assert _diff(database_url) == []


def test_single_head(database_url: str) -> None:
    heads = ScriptDirectory.from_config(alembic_config(database_url)).get_heads()
    assert len(heads) == 1, f"merge the migration heads: {heads}"
