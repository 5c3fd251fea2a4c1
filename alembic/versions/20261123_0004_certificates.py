"""certificates: certificates, their status history, and the Bitstring Status Lists

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-23 19:23:26.966887

``certificate_events`` is insert-only: a trigger refuses UPDATE and DELETE on it (SQLite
``RAISE(ABORT)``, PostgreSQL a plpgsql function).
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types.datetime
import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSERT_ONLY = ("certificate_events",)


def _create_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION certificates_append_only() RETURNS trigger "
            "LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'append-only: %', TG_TABLE_NAME; END $$"
        )
        for table in INSERT_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION certificates_append_only()"
            )
    elif dialect == "sqlite":
        for table in INSERT_ONLY:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    "BEGIN SELECT RAISE(ABORT, 'append-only'); END"
                )


def _drop_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for table in INSERT_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS certificates_append_only()")
    elif dialect == "sqlite":
        for table in INSERT_ONLY:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")


def upgrade() -> None:
    op.create_table(
        "status_lists",
        sa.Column("issuer_org_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(length=12), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("allocated", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("signed_version", sa.Integer(), nullable=True),
        sa.Column("signed_token", sa.Text(), nullable=True),
        sa.Column("signed_kid", sa.String(length=64), nullable=True),
        sa.Column(
            "signed_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True
        ),
        sa.Column(
            "signed_until",
            advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
            nullable=True,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.CheckConstraint(
            "purpose IN ('revocation', 'suspension')", name=op.f("ck_status_lists_purpose")
        ),
        sa.CheckConstraint(
            "allocated >= 0 AND allocated <= size", name=op.f("ck_status_lists_allocated")
        ),
        sa.ForeignKeyConstraint(
            ["issuer_org_id"], ["orgs.id"], name=op.f("fk_status_lists_issuer_org_id_orgs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_lists")),
    )
    with op.batch_alter_table("status_lists", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_status_lists_issuer_org_id"), ["issuer_org_id"], unique=False
        )

    op.create_table(
        "certificates",
        sa.Column("serial", sa.String(length=32), nullable=False),
        sa.Column("practitioner_id", sa.Uuid(), nullable=False),
        sa.Column("issuer_org_id", sa.Uuid(), nullable=False),
        sa.Column("issuer_role", sa.String(length=20), nullable=False),
        sa.Column("issuer_name", sa.String(length=200), nullable=False),
        sa.Column("cert_type", sa.String(length=40), nullable=False),
        sa.Column("type_name", sa.String(length=100), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=True),
        sa.Column("level_name", sa.String(length=50), nullable=True),
        sa.Column("catalog_version", sa.String(length=60), nullable=False),
        sa.Column("hours_tenths", sa.Integer(), nullable=False),
        sa.Column("holder_name", sa.String(length=50), nullable=False),
        sa.Column("holder_id_masked", sa.String(length=18), nullable=False),
        sa.Column(
            "issued_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("assessment_ref", sa.String(length=100), nullable=True),
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("revocation_list_id", sa.Uuid(), nullable=False),
        sa.Column("revocation_index", sa.Integer(), nullable=False),
        sa.Column("suspension_list_id", sa.Uuid(), nullable=False),
        sa.Column("suspension_index", sa.Integer(), nullable=False),
        sa.Column(
            "revoked_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True
        ),
        sa.Column(
            "suspended_at",
            advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
            nullable=True,
        ),
        sa.Column("expiry_recorded_on", sa.Date(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.CheckConstraint(
            "issuer_role IN ('training_base', 'regulator')",
            name=op.f("ck_certificates_issuer_role"),
        ),
        sa.CheckConstraint("hours_tenths >= 0", name=op.f("ck_certificates_hours")),
        sa.ForeignKeyConstraint(
            ["issuer_org_id"], ["orgs.id"], name=op.f("fk_certificates_issuer_org_id_orgs")
        ),
        sa.ForeignKeyConstraint(
            ["practitioner_id"],
            ["practitioners.id"],
            name=op.f("fk_certificates_practitioner_id_practitioners"),
        ),
        sa.ForeignKeyConstraint(
            ["revocation_list_id"],
            ["status_lists.id"],
            name=op.f("fk_certificates_revocation_list_id_status_lists"),
        ),
        sa.ForeignKeyConstraint(
            ["suspension_list_id"],
            ["status_lists.id"],
            name=op.f("fk_certificates_suspension_list_id_status_lists"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificates")),
        sa.UniqueConstraint(
            "revocation_list_id",
            "revocation_index",
            name=op.f("uq_certificates_revocation_list_id_revocation_index"),
        ),
        sa.UniqueConstraint("serial", name=op.f("uq_certificates_serial")),
        sa.UniqueConstraint(
            "suspension_list_id",
            "suspension_index",
            name=op.f("uq_certificates_suspension_list_id_suspension_index"),
        ),
    )
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_certificates_cert_type"), ["cert_type"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_certificates_issuer_org_id"), ["issuer_org_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_certificates_practitioner_id"), ["practitioner_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_certificates_valid_until"), ["valid_until"], unique=False
        )

    op.create_table(
        "certificate_events",
        sa.Column("certificate_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=12), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("actor_org_id", sa.Uuid(), nullable=True),
        sa.Column("actor_client_id", sa.String(length=64), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.CheckConstraint(
            "action IN ('issue', 'revoke', 'suspend', 'reinstate', 'expire')",
            name=op.f("ck_certificate_events_action"),
        ),
        sa.ForeignKeyConstraint(
            ["actor_org_id"], ["orgs.id"], name=op.f("fk_certificate_events_actor_org_id_orgs")
        ),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["certificates.id"],
            name=op.f("fk_certificate_events_certificate_id_certificates"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate_events")),
    )
    with op.batch_alter_table("certificate_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_certificate_events_certificate_id"), ["certificate_id"], unique=False
        )

    _create_triggers()


def downgrade() -> None:
    _drop_triggers()
    with op.batch_alter_table("certificate_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certificate_events_certificate_id"))

    op.drop_table("certificate_events")
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certificates_valid_until"))
        batch_op.drop_index(batch_op.f("ix_certificates_practitioner_id"))
        batch_op.drop_index(batch_op.f("ix_certificates_issuer_org_id"))
        batch_op.drop_index(batch_op.f("ix_certificates_cert_type"))

    op.drop_table("certificates")
    with op.batch_alter_table("status_lists", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_status_lists_issuer_org_id"))

    op.drop_table("status_lists")
