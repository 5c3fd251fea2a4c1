"""Practitioner tables. The ID number is never stored in plain text."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workforce.db import Base, CreatedMixin, IdMixin


class Practitioner(IdMixin, CreatedMixin, Base):
    """A person working, or training to work, in childcare."""

    __tablename__ = "practitioners"

    subject_key: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    """HMAC-SHA256 of the normalized ID number under a key kept outside the database."""
    id_cipher: Mapped[bytes] = mapped_column(LargeBinary(64))
    """AES-256-GCM ciphertext of the ID number (the regulator's explicit reveal only)."""
    id_masked: Mapped[str] = mapped_column(String(18))
    """Display form: first six and last four characters, e.g. ``320102********123X``."""
    name: Mapped[str] = mapped_column(String(50))
    """Name as on the ID card."""
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    """GB/T 2260 code of where the person works (decides the rules and the jurisdiction)."""
    positions: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Position codes held or trained for (``caregiver``, ``director``…)."""
    registered_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"))
    """The organisation that first registered the person."""


class PractitionerLink(IdMixin, CreatedMixin, Base):
    """A relation that lets an organisation see a practitioner (registered, trained, employed)."""

    __tablename__ = "practitioner_links"
    __table_args__ = (UniqueConstraint("practitioner_id", "org_id", "relation"),)

    practitioner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("practitioners.id"), index=True)
    """The practitioner."""
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"), index=True)
    """The organisation that may see the practitioner."""
    relation: Mapped[str] = mapped_column(String(20))
    """``registered``, ``trained`` or ``employed``."""
    ended_at: Mapped[datetime | None]
    """When the relation ended (an employment that ended); ended links grant nothing."""
