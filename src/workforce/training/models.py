"""Training tables: accreditations, courses, completions, running totals and roster imports.

Completions (``training_records``) are never deleted: a void is recorded on the row. Every
insert and void updates the running aggregates in the same transaction:

* ``training_totals`` — hours per practitioner × category × year × delivery mode, so one
  practitioner's compliance is one indexed read;
* ``training_region_hours`` — hours per region × category × year × mode, for the reports;
* ``training_rule_met`` — how many practitioners of a region meet each rule in each period,
  maintained for the rule set whose digest ``training_aggregate_state`` records.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from workforce.db import Base, CreatedMixin, IdMixin


class Accreditation(IdMixin, CreatedMixin, Base):
    """A regulator's accreditation of a training base (insert-only; the newest supersedes).

    A newer accreditation governs every date from its own ``valid_from`` on; earlier dates
    stay governed by the accreditation that was in force then.
    """

    __tablename__ = "training_accreditations"
    __table_args__ = (
        CheckConstraint("level IN ('province', 'city', 'county')", name="level"),
        CheckConstraint("valid_until >= valid_from", name="validity"),
    )

    base_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"), index=True)
    """The accredited training base."""
    accredited_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"))
    """The regulator that granted the accreditation."""
    level: Mapped[str] = mapped_column(String(10))
    """``province``, ``city`` or ``county``: the level of the accreditation."""
    valid_from: Mapped[date] = mapped_column(Date)
    """First day of validity (inclusive)."""
    valid_until: Mapped[date] = mapped_column(Date)
    """Last day of validity (inclusive)."""
    categories: Mapped[list[str]] = mapped_column(JSON)
    """Course categories the base may deliver (``skills``, ``ethics``…)."""
    certificate_types: Mapped[list[str]] = mapped_column(JSON)
    """Certificate type codes the base may issue."""


class Course(IdMixin, CreatedMixin, Base):
    """A course in an organisation's catalogue (a base's own, or a regulator's shared one)."""

    __tablename__ = "training_courses"
    __table_args__ = (
        UniqueConstraint("owner_org_id", "code"),
        CheckConstraint("delivery_mode IN ('in_person', 'online')", name="delivery_mode"),
        CheckConstraint("hours_tenths > 0", name="hours_positive"),
    )

    owner_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"))
    """The organisation whose catalogue holds the course."""
    owner_kind: Mapped[str] = mapped_column(String(20))
    """``training_base`` (its own catalogue) or ``regulator`` (usable by bases it covers)."""
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    """The owner's region code; for a regulator's course, the jurisdiction it serves."""
    code: Mapped[str] = mapped_column(String(40))
    """Course code, unique within the owner's catalogue."""
    title: Mapped[str] = mapped_column(String(200))
    """Course title (Chinese)."""
    category: Mapped[str] = mapped_column(String(32))
    """Category whose rules the hours count toward (``skills``, ``ethics``…)."""
    hours_tenths: Mapped[int] = mapped_column(Integer)
    """Class hours of the whole course, in tenths."""
    delivery_mode: Mapped[str] = mapped_column(String(10))
    """``in_person`` or ``online``."""


class TrainingRecord(IdMixin, CreatedMixin, Base):
    """One course completion logged by a training base (voided, never deleted)."""

    __tablename__ = "training_records"
    __table_args__ = (
        UniqueConstraint("base_org_id", "external_ref"),
        Index("ix_training_records_practitioner_day", "practitioner_id", "completed_on"),
        CheckConstraint("hours_tenths > 0", name="hours_positive"),
    )

    base_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"))
    """The base that delivered the course and logged the completion."""
    practitioner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("practitioners.id"))
    """Who completed the course."""
    course_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("training_courses.id"))
    """The course as resolved when the completion was logged."""
    course_code: Mapped[str] = mapped_column(String(40))
    """The course code the base sent."""
    category: Mapped[str] = mapped_column(String(32))
    """The course's category at logging time."""
    mode: Mapped[str] = mapped_column(String(10))
    """Delivery mode, ``in_person`` or ``online``."""
    hours_tenths: Mapped[int] = mapped_column(Integer)
    """Class hours earned, in tenths."""
    completed_on: Mapped[date] = mapped_column(Date)
    """Day the course was completed."""
    external_ref: Mapped[str] = mapped_column(String(100))
    """The base's own identifier of the completion; the idempotency key."""
    import_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("training_imports.id"))
    """The roster import that brought the record, if any."""
    voided_at: Mapped[datetime | None]
    """When the base voided the record (voided records count for nothing)."""
    void_reason: Mapped[str | None] = mapped_column(String(200))
    """Why it was voided."""
    voided_by: Mapped[str | None] = mapped_column(String(64))
    """API client that voided it."""


class TrainingTotal(Base):
    """Running total of a practitioner's hours per category, year and delivery mode."""

    __tablename__ = "training_totals"

    practitioner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("practitioners.id"), primary_key=True
    )
    """The practitioner."""
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    """Course category."""
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    """Calendar year of completion."""
    mode: Mapped[str] = mapped_column(String(10), primary_key=True)
    """Delivery mode."""
    hours_tenths: Mapped[int] = mapped_column(Integer)
    """Sum of the non-voided records' hours, in tenths."""


class RegionHours(Base):
    """Running total of the hours delivered to the practitioners of one region."""

    __tablename__ = "training_region_hours"

    region_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    """The practitioners' region code (where they work)."""
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    """Course category."""
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    """Calendar year of completion."""
    mode: Mapped[str] = mapped_column(String(10), primary_key=True)
    """Delivery mode."""
    hours_tenths: Mapped[int] = mapped_column(Integer)
    """Sum of the non-voided records' hours, in tenths."""
    records: Mapped[int] = mapped_column(Integer)
    """Number of non-voided records."""


class RuleMetCount(Base):
    """How many practitioners of a region meet a rule for a period (running count)."""

    __tablename__ = "training_rule_met"

    region_code: Mapped[str] = mapped_column(String(6), primary_key=True)
    """The practitioners' region code."""
    rule_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    """The rule (its id in the rule set named by ``training_aggregate_state``)."""
    period_label: Mapped[str] = mapped_column(String(20), primary_key=True)
    """The rule's period: a year (``2026``) or a cycle (``2026–2030``)."""
    met: Mapped[int] = mapped_column(Integer)
    """Practitioners to whom the rule applied and who met it, at their last change."""


class AggregateState(Base):
    """Key-value facts about the running aggregates (e.g. the rule-set digest they follow)."""

    __tablename__ = "training_aggregate_state"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    """Name of the fact (``ruleset_digest``)."""
    value: Mapped[str] = mapped_column(String(200))
    """Its value."""


class RosterImport(IdMixin, CreatedMixin, Base):
    """A roster file uploaded by a base and processed in the background."""

    __tablename__ = "training_imports"
    __table_args__ = (
        CheckConstraint("status IN ('running', 'done', 'failed')", name="status"),
        Index("ix_training_imports_status", "status"),
    )

    base_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"), index=True)
    """The uploading base."""
    client_id: Mapped[str] = mapped_column(String(64))
    """The API client (or ``cli``) that started the import."""
    filename: Mapped[str] = mapped_column(String(200))
    """Original file name, ID-number-like text masked."""
    file_format: Mapped[str] = mapped_column(String(10))
    """``csv`` or ``xlsx``."""
    encoding: Mapped[str | None] = mapped_column(String(20))
    """Detected text encoding of a CSV (``utf-8``, ``utf-8-sig``, ``gb18030``)."""
    size_bytes: Mapped[int] = mapped_column(Integer)
    """Size of the uploaded file."""
    sha256: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the file (hex): tells a re-upload of the same file apart."""
    status: Mapped[str] = mapped_column(String(10))
    """``running``, ``done`` or ``failed``."""
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    """Data rows read (the header and blank lines excluded)."""
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    """Rows recorded by this import."""
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    """Rows refused (see ``training_import_errors``)."""
    already_recorded: Mapped[int] = mapped_column(Integer, default=0)
    """Rows whose ``external_ref`` was already recorded with the same content (no change)."""
    registered: Mapped[int] = mapped_column(Integer, default=0)
    """Practitioners registered from the roster."""
    failure_code: Mapped[str | None] = mapped_column(String(40))
    """Why a failed import failed (``worker_lost``, ``internal_error``…)."""
    failure_detail: Mapped[str | None] = mapped_column(Text)
    """Human-readable failure detail (no ID numbers)."""
    heartbeat_at: Mapped[datetime]
    """Last sign of life of the worker (see ``imports.reap_stale``)."""
    finished_at: Mapped[datetime | None]
    """When the import finished (done or failed)."""


class RosterImportError(Base):
    """One refused row of a roster import (never contains the ID number)."""

    __tablename__ = "training_import_errors"

    import_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("training_imports.id"), primary_key=True
    )
    """The import."""
    line: Mapped[int] = mapped_column(Integer, primary_key=True)
    """Line (CSV) or row (XLSX) number in the file; 1 is the header."""
    code: Mapped[str] = mapped_column(String(40))
    """Stable reason code (``invalid_id_number``, ``unknown_course``…)."""
    detail: Mapped[str] = mapped_column(String(300))
    """Human-readable detail."""
