"""Certificate tables: certificates, their insert-only status history, and the status lists.

A certificate's status is derived, never stored as one column: ``revoked_at`` (final) and
``suspended_at`` (lifted by a reinstatement) are the facts, expiry is computed from
``valid_until`` against the day of the check. The status-list bits are derived from the same
facts when a list is signed, so the published lists and the database cannot drift apart.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from workforce.db import Base, CreatedMixin, IdMixin


class StatusList(IdMixin, CreatedMixin, Base):
    """One W3C Bitstring Status List of one issuer, for one purpose.

    Its ``credentialStatus`` URL is ``<public_base_url>/api/v1/status-lists/<id>``. A new list is
    opened when the issuer's current list of that purpose has no free entry left.
    """

    __tablename__ = "status_lists"
    __table_args__ = (
        CheckConstraint("purpose IN ('revocation', 'suspension')", name="purpose"),
        CheckConstraint("allocated >= 0 AND allocated <= size", name="allocated"),
    )

    issuer_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"), index=True)
    """The organisation whose certificates the list covers (the list's ``issuer``)."""
    purpose: Mapped[str] = mapped_column(String(12))
    """``revocation`` or ``suspension`` (the ``statusPurpose``)."""
    size: Mapped[int] = mapped_column(Integer)
    """Number of entries (bits); at least 131,072."""
    allocated: Mapped[int] = mapped_column(Integer, default=0)
    """Entries assigned to certificates so far; the list is full at ``size``."""
    version: Mapped[int] = mapped_column(Integer, default=0)
    """Bumped whenever a bit of the list changes (a re-signature is then due)."""
    signed_version: Mapped[int | None] = mapped_column(Integer)
    """The ``version`` the cached signed token reflects (``None``: never signed)."""
    signed_token: Mapped[str | None] = mapped_column(Text)
    """The cached ``BitstringStatusListCredential`` as a ``vc+jwt``."""
    signed_kid: Mapped[str | None] = mapped_column(String(64))
    """Key that signed the cached token (a key rotation triggers a re-signature)."""
    signed_at: Mapped[datetime | None]
    """When the cached token was signed (its ``validFrom``)."""
    signed_until: Mapped[datetime | None]
    """The cached token's ``validUntil``; it is re-signed well before."""


class Certificate(IdMixin, CreatedMixin, Base):
    """A certificate issued to a practitioner, secured as a W3C VC 2.0 ``vc+jwt``."""

    __tablename__ = "certificates"
    __table_args__ = (
        UniqueConstraint("revocation_list_id", "revocation_index"),
        UniqueConstraint("suspension_list_id", "suspension_index"),
        CheckConstraint("issuer_role IN ('training_base', 'regulator')", name="issuer_role"),
        CheckConstraint("hours_tenths >= 0", name="hours"),
    )

    serial: Mapped[str] = mapped_column(String(32), unique=True)
    """Unguessable public serial, ``TY-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX`` (120 random bits)."""
    practitioner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("practitioners.id"), index=True)
    """The holder."""
    issuer_org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"), index=True)
    """The issuing organisation (a training base within its scope, or a regulator)."""
    issuer_role: Mapped[str] = mapped_column(String(20))
    """``training_base`` or ``regulator``: the issuer kind, checked against the type's data."""
    issuer_name: Mapped[str] = mapped_column(String(200))
    """The issuer's name as signed into the credential."""
    cert_type: Mapped[str] = mapped_column(String(40), index=True)
    """Certificate type code from the catalog (``baoyushi``, ``caregiver_post``…)."""
    type_name: Mapped[str] = mapped_column(String(100))
    """The type's Chinese name, as signed into the credential."""
    level: Mapped[str | None] = mapped_column(String(20))
    """Level code, for types with levels."""
    level_name: Mapped[str | None] = mapped_column(String(50))
    """The level's Chinese name, as signed into the credential."""
    catalog_version: Mapped[str] = mapped_column(String(60))
    """Version of the certificate-type catalog the prerequisites were checked against."""
    hours_tenths: Mapped[int] = mapped_column(Integer)
    """Class hours (tenths) counted toward the certificate, as signed into it."""
    holder_name: Mapped[str] = mapped_column(String(50))
    """Holder's name at issue, as signed into the credential."""
    holder_id_masked: Mapped[str] = mapped_column(String(18))
    """Holder's masked ID number at issue (never the plain number)."""
    issued_at: Mapped[datetime]
    """Moment of issue (the credential's ``validFrom``)."""
    valid_from: Mapped[date]
    """Day of issue, China Standard Time."""
    valid_until: Mapped[date | None] = mapped_column(index=True)
    """Last day of validity, inclusive (``None``: no fixed term)."""
    assessment_ref: Mapped[str | None] = mapped_column(String(100))
    """The passed assessment the issuer named, if the type requires one."""
    kid: Mapped[str] = mapped_column(String(64))
    """ID of the key that signed the credential."""
    token: Mapped[str] = mapped_column(Text)
    """The signed credential (``vc+jwt``)."""
    revocation_list_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("status_lists.id"))
    """The revocation list holding the certificate's revocation bit."""
    revocation_index: Mapped[int] = mapped_column(Integer)
    """Position of the revocation bit (random, unique in its list)."""
    suspension_list_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("status_lists.id"))
    """The suspension list holding the certificate's suspension bit."""
    suspension_index: Mapped[int] = mapped_column(Integer)
    """Position of the suspension bit (random, unique in its list)."""
    revoked_at: Mapped[datetime | None]
    """When it was revoked; revocation is final."""
    suspended_at: Mapped[datetime | None]
    """When the current suspension began (``None``: not suspended)."""
    expiry_recorded_on: Mapped[date | None]
    """Day the expiry was recorded in the history (and announced) by :func:`expire_due`."""


class CertificateEvent(IdMixin, CreatedMixin, Base):
    """One change of a certificate's status; insert-only (a trigger refuses UPDATE/DELETE)."""

    __tablename__ = "certificate_events"
    __table_args__ = (
        CheckConstraint(
            "action IN ('issue', 'revoke', 'suspend', 'reinstate', 'expire')", name="action"
        ),
    )

    certificate_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("certificates.id"), index=True)
    """The certificate."""
    action: Mapped[str] = mapped_column(String(12))
    """``issue``, ``revoke``, ``suspend``, ``reinstate`` or ``expire``."""
    status: Mapped[str] = mapped_column(String(12))
    """The status after the change: ``valid``, ``revoked``, ``suspended`` or ``expired``."""
    reason: Mapped[str | None] = mapped_column(String(200))
    """The reason given (``banned`` for a revocation caused by a ban)."""
    actor_org_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orgs.id"))
    """The organisation that made the change (``None``: the system, e.g. a ban or expiry)."""
    actor_client_id: Mapped[str | None] = mapped_column(String(64))
    """The API client that made the change, if any."""
