"""Merge the domain branches (training, ledger, certificates, credit, hiring) into one head.

Revision ID: 0007
Revises: 0002, 0003, 0004, 0005, 0006
Create Date: 2026-11-23 20:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0007"
down_revision: str | Sequence[str] | None = ("0002", "0003", "0004", "0005", "0006")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to do: the branches touch disjoint tables."""


def downgrade() -> None:
    """Nothing to do: the branches touch disjoint tables."""
