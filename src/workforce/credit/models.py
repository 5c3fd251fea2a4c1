"""Credit (诚信档案) tables: events, their steps, evidence salts, inspectors and draws.

``credit_events``, ``credit_event_steps``, ``inspection_draws`` and ``inspection_results`` are
insert-only: the code never updates or deletes them and a database trigger refuses it (see the
``0005`` revision).  A correction is a new event that names the one it corrects; an appeal, its
decision and a withdrawal are steps.  Evidence references are kept only as salted commitments;
the salts live in their own table, so erasing a salt forgets the reference without touching the
insert-only event.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from workforce.db import Base, CreatedMixin, IdMixin


class CreditEvent(IdMixin, CreatedMixin, Base):
    """One integrity event about a practitioner or an institution (insert-only)."""

    __tablename__ = "credit_events"
    __table_args__ = (
        CheckConstraint(
            "(practitioner_id IS NULL) <> (institution_id IS NULL)", name="one_subject"
        ),
        CheckConstraint("polarity IN ('positive', 'negative')", name="polarity"),
        CheckConstraint("severity BETWEEN 1 AND 3", name="severity"),
    )

    practitioner_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("practitioners.id"), index=True
    )
    """The practitioner it is about (exactly one of practitioner and institution is set)."""
    institution_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orgs.id"), index=True)
    """The institution it is about."""
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    """The subject's GB/T 2260 region when recorded (jurisdiction of decisions and exports)."""
    type: Mapped[str] = mapped_column(String(40))
    """Event type code from ``event_types.toml`` (e.g. ``substantiated_complaint``)."""
    polarity: Mapped[str] = mapped_column(String(8))
    """``positive`` (守信) or ``negative`` (失信), copied from the type when recorded."""
    severity: Mapped[int] = mapped_column(SmallInteger)
    """1 minor, 2 serious, 3 grave (for a positive type: its weight)."""
    occurred_on: Mapped[date]
    """When the conduct happened (or the decision was made); never in the future."""
    recorded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"), index=True)
    """The regulator that recorded it."""
    recorded_by_client: Mapped[str] = mapped_column(String(64))
    """The API client that recorded it."""
    evidence_commitment: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    """Keyed, salted commitment to the evidence reference (salt in ``credit_evidence_salts``)."""
    corrects_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("credit_events.id"), unique=True
    )
    """The earlier event this one corrects (that one stops counting); at most one correction."""
    rules_version: Mapped[str] = mapped_column(String(40))
    """Version of ``event_types.toml`` in force when recorded."""


class CreditEventStep(IdMixin, CreatedMixin, Base):
    """A step in the life of an event: an appeal, its decision, or a withdrawal (insert-only)."""

    __tablename__ = "credit_event_steps"
    __table_args__ = (
        UniqueConstraint("event_id", "step"),
        CheckConstraint("step IN ('appeal', 'decision', 'withdrawal')", name="step"),
        CheckConstraint(
            "(step = 'decision') = (outcome IS NOT NULL) "
            "AND (outcome IS NULL OR outcome IN ('upheld', 'overturned'))",
            name="outcome",
        ),
    )

    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("credit_events.id"), index=True)
    """The event."""
    step: Mapped[str] = mapped_column(String(12))
    """``appeal`` (复查申请), ``decision`` (复查决定) or ``withdrawal`` (撤回); once each."""
    outcome: Mapped[str | None] = mapped_column(String(12))
    """For a decision: ``upheld`` (维持) or ``overturned`` (撤销原记录)."""
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"))
    """The organisation that took the step."""
    client_id: Mapped[str] = mapped_column(String(64))
    """The API client that took the step."""
    note: Mapped[str | None] = mapped_column(String(500))
    """Grounds of the appeal, or the reasons of the decision or withdrawal (no ID numbers)."""


class CreditEvidenceSalt(Base):
    """The salt that opens an event's evidence commitment (kept apart; deletable to forget)."""

    __tablename__ = "credit_evidence_salts"

    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("credit_events.id"), primary_key=True)
    """The event whose commitment this salt opens."""
    salt: Mapped[bytes] = mapped_column(LargeBinary(32))
    """32 random bytes."""


class Inspector(IdMixin, CreatedMixin, Base):
    """An inspector a regulator registered for random inspection draws."""

    __tablename__ = "inspectors"
    __table_args__ = (UniqueConstraint("regulator_id", "code"),)

    regulator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"), index=True)
    """The regulator the inspector works for."""
    code: Mapped[str] = mapped_column(String(40))
    """Public identifier (e.g. the law-enforcement certificate number); published in draws."""
    name: Mapped[str] = mapped_column(String(50))
    """Name (shown to the regulator only; draws publish the code)."""
    retired_at: Mapped[datetime | None]
    """When the inspector was taken off the list (no longer drawn)."""


class InspectionDraw(IdMixin, CreatedMixin, Base):
    """A published random inspection draw (insert-only); everything needed to re-run it."""

    __tablename__ = "inspection_draws"
    __table_args__ = (UniqueConstraint("regulator_id", "period"),)

    regulator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"), index=True)
    """The regulator that drew."""
    region_code: Mapped[str] = mapped_column(String(6))
    """The region drawn from (the regulator's jurisdiction or a region below it)."""
    period: Mapped[str] = mapped_column(String(16))
    """The inspection period, e.g. ``2026-Q3``; one draw per regulator and period."""
    filters: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The candidate filters applied (region, ownership, filing status)."""
    algorithm: Mapped[str] = mapped_column(String(40))
    """``workforce/draw/v1``."""
    checkpoint_size: Mapped[int] = mapped_column(BigInteger)
    """Tree size of the ban-ledger checkpoint the seed is derived from."""
    checkpoint_root: Mapped[bytes] = mapped_column(LargeBinary(32))
    """Root hash of that checkpoint."""
    checkpoint_text: Mapped[str | None] = mapped_column(Text)
    """The signed checkpoint note (None for the unsigned empty-tree checkpoint)."""
    seed: Mapped[bytes] = mapped_column(LargeBinary(32))
    """The derived seed."""
    candidates: Mapped[list[str]] = mapped_column(JSON)
    """Institution ids eligible for the draw, sorted."""
    inspector_candidates: Mapped[list[str]] = mapped_column(JSON)
    """Inspector codes eligible for the draw, sorted."""
    sample_size: Mapped[int] = mapped_column(Integer)
    """How many institutions were drawn."""
    inspectors_per_institution: Mapped[int] = mapped_column(Integer)
    """How many inspectors were drawn for each institution."""
    selection: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    """The result: ``[{institution_id, inspectors: [code, …]}, …]`` in draw order."""


class InspectionResult(IdMixin, CreatedMixin, Base):
    """The outcome of inspecting one drawn institution (insert-only); linked to its event."""

    __tablename__ = "inspection_results"
    __table_args__ = (
        UniqueConstraint("draw_id", "institution_id"),
        CheckConstraint("result IN ('passed', 'failed')", name="result"),
    )

    draw_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inspection_draws.id"), index=True)
    """The draw."""
    institution_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"))
    """The inspected institution."""
    result: Mapped[str] = mapped_column(String(8))
    """``passed`` or ``failed``."""
    inspected_on: Mapped[date]
    """The date of the inspection."""
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("credit_events.id"), unique=True)
    """The ``passed_inspection`` / ``failed_inspection`` credit event recorded for it."""
