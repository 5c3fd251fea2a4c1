"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from workforce.db import Base, make_engine
from workforce.migrate import alembic_config, upgrade
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


def test_ledger_subjects_layout_round_trips_its_rows(tmp_path: Path) -> None:
    """0008 rebuilds ``ledger_subjects`` on SQLite (WITHOUT ROWID); rows survive both ways."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'layout.db'}"
    upgrade(url, "0007")
    rows = [(1, "case", b"\x00" * 32, None, None), (1, "subject", b"\x01" * 32, b"c", b"k" * 32)]

    def table() -> tuple[str, list[tuple[object, ...]]]:
        with closing(sqlite3.connect(tmp_path / "layout.db")) as db:
            ddl = db.execute(
                "SELECT sql FROM sqlite_master WHERE name = 'ledger_subjects'"
            ).fetchone()[0]
            return ddl, db.execute("SELECT * FROM ledger_subjects ORDER BY seq, field").fetchall()

    with closing(sqlite3.connect(tmp_path / "layout.db")) as db, db:
        db.executemany("INSERT INTO ledger_subjects VALUES (?, ?, ?, ?, ?)", rows)
    upgrade(url, "0008")
    ddl, stored = table()
    assert "WITHOUT ROWID" in ddl and stored == rows
    command.downgrade(alembic_config(url), "0007")
    ddl, stored = table()
    assert "WITHOUT ROWID" not in ddl and stored == rows
