"""Hiring tables: admission checks, employments, alerts, the webhook outbox, the re-check journal.

Insert-only tables (a database trigger refuses UPDATE and DELETE, see the ``0006`` revision):
``admission_checks``, ``webhook_attempts`` and ``recheck_runs``.  ``employments``, ``alerts`` and
``webhook_deliveries`` change state (an employment ends, an alert is acknowledged, a delivery is
attempted) but are never deleted by the service.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from workforce.db import Base, CreatedMixin, IdMixin

INSERT_ONLY_TABLES = ("admission_checks", "webhook_attempts", "recheck_runs")
"""Tables whose rows are never updated or deleted (enforced by triggers)."""


class AdmissionCheck(IdMixin, CreatedMixin, Base):
    """One admission check made by an institution (insert-only); ``id`` is the ``check_id``.

    ``created_at`` is the moment of the check (``checked_at``).
    """

    __tablename__ = "admission_checks"
    __table_args__ = (
        CheckConstraint("decision IN ('admitted', 'denied')", name="decision"),
        CheckConstraint("purpose IN ('check', 'hire')", name="purpose"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"), index=True)
    """The institution that made the check."""
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    """The institution's region (regulators read checks in their jurisdiction)."""
    client_id: Mapped[str] = mapped_column(String(64))
    """The API client that made the check."""
    practitioner_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("practitioners.id"), index=True
    )
    """The candidate, or null when the ID number is not in the registry."""
    subject_commitment: Mapped[bytes] = mapped_column(LargeBinary(32))
    """SHA-256 commitment to the candidate's ID number under a salt derived from the check id."""
    position: Mapped[str] = mapped_column(String(32))
    """Position code the candidate was checked for."""
    decision: Mapped[str] = mapped_column(String(10))
    """``admitted`` or ``denied``."""
    reasons: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    """``[{code, detail}]``; empty when admitted."""
    purpose: Mapped[str] = mapped_column(String(8), default="check")
    """``check`` (``POST /admission-checks``) or ``hire`` (run by ``POST /employments``)."""
    checkpoint_size: Mapped[int] = mapped_column(Integer)
    """Size of the ban-ledger checkpoint the check was made against."""
    checkpoint_root: Mapped[bytes] = mapped_column(LargeBinary(32))
    """Root hash of that checkpoint."""
    receipt: Mapped[str] = mapped_column(Text)
    """The signed receipt (compact JWS, ``typ`` ``admission-receipt+jwt``)."""


class Employment(IdMixin, CreatedMixin, Base):
    """A practitioner employed by an institution in one position."""

    __tablename__ = "employments"
    __table_args__ = (
        # One current employment of a person per institution.
        Index(
            "uq_employments_current",
            "org_id",
            "practitioner_id",
            unique=True,
            sqlite_where=text("ended_on IS NULL"),
            postgresql_where=text("ended_on IS NULL"),
        ),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"), index=True)
    """The employing institution."""
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    """The institution's region (the regulators' jurisdiction filter)."""
    practitioner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("practitioners.id"), index=True)
    """The employee."""
    position: Mapped[str] = mapped_column(String(32))
    """Position code (``caregiver``, ``director``…)."""
    started_on: Mapped[date]
    """First day of the employment."""
    ended_on: Mapped[date | None] = mapped_column(index=True)
    """Last day, once it ended; null while current."""
    end_reason: Mapped[str | None] = mapped_column(String(200))
    """Why it ended (free text from the institution, optional)."""
    ended_at: Mapped[datetime | None]
    """When the departure was recorded (UTC)."""
    admission_check_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("admission_checks.id"))
    """The admission check that admitted the hire (run in the same transaction)."""
    passes: Mapped[bool] = mapped_column(Boolean, default=True)
    """Whether the employee passed the last evaluation (hire, re-check or status change)."""
    failing_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Reason codes of the last evaluation (empty when it passed)."""
    evaluated_at: Mapped[datetime | None]
    """When the last evaluation ran."""


class Alert(IdMixin, CreatedMixin, Base):
    """A change in a current employee's standing, for the employing institution."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_org_unacked", "org_id", "acknowledged_at"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"), index=True)
    """The institution alerted (the current employer)."""
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    """The institution's region (the regulators' jurisdiction filter)."""
    employment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("employments.id"), index=True)
    """The employment concerned."""
    practitioner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("practitioners.id"), index=True)
    """The employee concerned."""
    kind: Mapped[str] = mapped_column(String(40))
    """Stable code: ``banned``, ``certificate_revoked``, ``certificate_suspended``,
    ``certificate_expired``, ``training_lapsed``, ``recheck_failed``."""
    message: Mapped[str] = mapped_column(Text)
    """Text for people, in Simplified Chinese (masked ID number and name only)."""
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Machine-readable facts: certificate serial, ledger seq, rule ids, reason codes…"""
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    """``<employment>|<cause>|<period>``: a re-run raises nothing twice."""
    acknowledged_at: Mapped[datetime | None]
    """When the institution acknowledged it."""
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    """The API client that acknowledged it."""


class WebhookSecret(IdMixin, CreatedMixin, Base):
    """An institution's webhook signing secret (the URL is ``orgs.webhook_url``)."""

    __tablename__ = "webhook_secrets"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"), unique=True)
    """The institution."""
    secret_cipher: Mapped[bytes] = mapped_column(LargeBinary(128))
    """AES-256-GCM ciphertext of the secret under a key derived from the webhook key."""
    updated_at: Mapped[datetime]
    """When the URL or the secret was last set."""


class WebhookDelivery(IdMixin, CreatedMixin, Base):
    """One webhook message waiting in, or done with, the outbox."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'delivered', 'failed', 'cancelled')", name="status"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"), index=True)
    """The receiving institution."""
    alert_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("alerts.id"), index=True)
    """The alert it carries."""
    event: Mapped[str] = mapped_column(String(40))
    """Event name, e.g. ``alert.created``."""
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    """The exact JSON body that is POSTed (and signed)."""
    status: Mapped[str] = mapped_column(String(10), default="pending")
    """``pending``, ``delivered``, ``failed`` (gave up) or ``cancelled`` (no webhook any more)."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    """Attempts made so far."""
    next_attempt_at: Mapped[datetime]
    """Not before this time (exponential backoff)."""
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    """The dispatcher that claimed it."""
    lease_until: Mapped[datetime | None]
    """The claim lapses at this time (a dispatcher that died releases it this way)."""
    delivered_at: Mapped[datetime | None]
    """When a 2xx answer was received."""
    last_error: Mapped[str | None] = mapped_column(String(200))
    """Outcome of the last failed attempt."""


class WebhookAttempt(IdMixin, CreatedMixin, Base):
    """One delivery attempt (insert-only)."""

    __tablename__ = "webhook_attempts"

    delivery_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    """The delivery attempted."""
    attempt: Mapped[int] = mapped_column(Integer)
    """1 for the first attempt."""
    url: Mapped[str] = mapped_column(String(500))
    """The URL posted to."""
    status_code: Mapped[int | None] = mapped_column(Integer)
    """HTTP status received, null when none (timeout, refused…)."""
    error: Mapped[str | None] = mapped_column(String(200))
    """Why it failed (``http_503``, ``timeout``, ``connect_error``…), null on success."""
    duration_ms: Mapped[int] = mapped_column(Integer)
    """Wall time of the attempt in milliseconds."""


class RecheckRun(IdMixin, CreatedMixin, Base):
    """One completed re-check run (insert-only journal)."""

    __tablename__ = "recheck_runs"

    run_on: Mapped[date] = mapped_column(index=True)
    """The day the run evaluated (``today``)."""
    lapse_year: Mapped[int | None] = mapped_column(Integer, index=True)
    """The year whose yearly training rules were checked, when the year-end pass ran."""
    expired: Mapped[int] = mapped_column(Integer)
    """Certificates expired by the run."""
    checked: Mapped[int] = mapped_column(Integer)
    """Current employments re-checked."""
    failing: Mapped[int] = mapped_column(Integer)
    """Of those, how many did not pass."""
    alerts: Mapped[int] = mapped_column(Integer)
    """Alerts raised by the run (re-check and training lapses)."""
    lapsed: Mapped[int] = mapped_column(Integer)
    """Practitioners found to have missed a yearly training rule."""


class JobLease(Base):
    """A lease that lets one of several server processes run a periodic job."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    """The job (``recheck``)."""
    holder: Mapped[str] = mapped_column(String(64))
    """The process holding it."""
    lease_until: Mapped[datetime]
    """It lapses at this time."""
