"""Access-log table (insert-only by code)."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from workforce.db import Base, CreatedMixin, IdMixin


class AccessLog(IdMixin, CreatedMixin, Base):
    """One read of a practitioner's data or one lookup by ID number."""

    __tablename__ = "access_log"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"), index=True)
    """The organisation that read."""
    client_id: Mapped[str] = mapped_column(String(64))
    """The API client that read."""
    practitioner_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("practitioners.id"), index=True
    )
    """Whose record (null for a lookup that found no one)."""
    action: Mapped[str] = mapped_column(String(40))
    """What was done: ``lookup``, ``read``, ``compliance``, ``ban_check``, ``admission_check``…"""
    route: Mapped[str] = mapped_column(String(200))
    """The route (path template, never a concrete value) that caused it."""
    outcome: Mapped[str | None] = mapped_column(String(40))
    """A short result code (``found``, ``not_found``, ``admitted``, ``denied``…)."""
