"""ledger: the ban ledger's insert-only public tables, its private tables and the triggers.

The public tables (``ledger_entries``, ``ledger_subtrees``, ``ledger_checkpoints``) refuse UPDATE
and DELETE with a trigger: on SQLite ``RAISE(ABORT, 'append-only')``, on PostgreSQL a plpgsql
function raising ``append-only``. The private tables (``ledger_subjects``, ``ledger_cases``) may
be erased to forget a person without breaking the tree.

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-23 19:28:45.297014
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types.datetime
import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PUBLIC_TABLES = ("ledger_entries", "ledger_subtrees", "ledger_checkpoints")


def _seq() -> sa.types.TypeEngine[int]:
    # On SQLite only ``INTEGER PRIMARY KEY`` aliases the rowid (the clustered key).
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _utc() -> advanced_alchemy.types.datetime.DateTimeUTC:
    return advanced_alchemy.types.datetime.DateTimeUTC(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ledger_cases",
        sa.Column("case_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("commitment", sa.String(length=64), nullable=False),
        sa.Column("salt", sa.LargeBinary(length=32), nullable=False),
        sa.Column("value_cipher", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("case_key", name=op.f("pk_ledger_cases")),
        sa.UniqueConstraint("commitment", name=op.f("uq_ledger_cases_commitment")),
    )
    op.create_table(
        "ledger_checkpoints",
        sa.Column("size", _seq(), autoincrement=False, nullable=False),
        sa.Column("prev_size", sa.BigInteger(), nullable=True),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("size", name=op.f("pk_ledger_checkpoints")),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("seq", _seq(), autoincrement=False, nullable=False),
        sa.Column("leaf", sa.LargeBinary(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_ledger_entries")),
    )
    op.create_table(
        "ledger_subjects",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("field", sa.String(length=16), nullable=False),
        sa.Column("salt", sa.LargeBinary(length=32), nullable=False),
        sa.Column("value_cipher", sa.LargeBinary(), nullable=True),
        sa.Column("subject_key", sa.LargeBinary(length=32), nullable=True),
        sa.PrimaryKeyConstraint("seq", "field", name=op.f("pk_ledger_subjects")),
    )
    with op.batch_alter_table("ledger_subjects", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_subjects_subject_key"), ["subject_key"], unique=False
        )
    op.create_table(
        "ledger_subtrees",
        sa.Column("node", _seq(), autoincrement=False, nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("idx", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("node", name=op.f("pk_ledger_subtrees")),
    )
    _create_append_only_triggers()


def downgrade() -> None:
    _drop_append_only_triggers()
    op.drop_table("ledger_subtrees")
    with op.batch_alter_table("ledger_subjects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_subjects_subject_key"))
    op.drop_table("ledger_subjects")
    op.drop_table("ledger_entries")
    op.drop_table("ledger_checkpoints")
    op.drop_table("ledger_cases")


def _create_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'append-only' "
            "USING ERRCODE = 'integrity_constraint_violation', "
            "DETAIL = TG_TABLE_NAME || ' is an insert-only ledger table'; END $$"
        )
        for table in PUBLIC_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION ledger_append_only()"
            )
        return
    for table in PUBLIC_TABLES:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                "BEGIN SELECT RAISE(ABORT, 'append-only'); END"
            )


def _drop_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in PUBLIC_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS ledger_append_only()")
        return
    for table in PUBLIC_TABLES:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
