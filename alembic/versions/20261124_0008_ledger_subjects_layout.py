"""Ledger subjects: clustered on (seq, field) on SQLite, keyed index on keyed rows only.

An append writes three ``ledger_subjects`` rows. On SQLite the table becomes ``WITHOUT ROWID``
(the primary key is the table: one B-tree instead of a rowid table and a key index), and on both
databases ``ix_ledger_subjects_subject_key`` covers only the rows whose ``subject_key`` is set
(the ``subject`` rows). Every lookup by key (``subject_key = ?``) can use the partial index.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 03:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEX = "ix_ledger_subjects_subject_key"
_KEYED = sa.text("subject_key IS NOT NULL")
_COLUMNS = "seq, field, salt, value_cipher, subject_key"


def _rebuild_sqlite(*, with_rowid: bool) -> None:
    """Copy ``ledger_subjects`` into a table of the wanted layout (SQLite cannot alter it)."""
    op.create_table(
        "_ledger_subjects_new",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("field", sa.String(length=16), nullable=False),
        sa.Column("salt", sa.LargeBinary(length=32), nullable=False),
        sa.Column("value_cipher", sa.LargeBinary(), nullable=True),
        sa.Column("subject_key", sa.LargeBinary(length=32), nullable=True),
        sa.PrimaryKeyConstraint("seq", "field", name="pk_ledger_subjects"),
        sqlite_with_rowid=with_rowid,
    )
    op.execute(
        f"INSERT INTO _ledger_subjects_new ({_COLUMNS}) "  # noqa: S608 - fixed identifiers
        f"SELECT {_COLUMNS} FROM ledger_subjects ORDER BY seq, field"
    )
    op.drop_table("ledger_subjects")
    op.rename_table("_ledger_subjects_new", "ledger_subjects")


def upgrade() -> None:
    """Cluster the table (SQLite) and make the keyed index partial."""
    op.drop_index(_INDEX, table_name="ledger_subjects")
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(with_rowid=False)
    op.create_index(
        _INDEX, "ledger_subjects", ["subject_key"], sqlite_where=_KEYED, postgresql_where=_KEYED
    )


def downgrade() -> None:
    """Back to a rowid table with a full index."""
    op.drop_index(_INDEX, table_name="ledger_subjects")
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(with_rowid=True)
    op.create_index(_INDEX, "ledger_subjects", ["subject_key"])
