"""Organisation and API-client tables."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from workforce.db import Base, CreatedMixin, IdMixin


class Org(IdMixin, CreatedMixin, Base):
    """An organisation that uses the registry."""

    __tablename__ = "orgs"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('regulator', 'training_base', 'institution', 'admin')", name="kind"
        ),
    )

    kind: Mapped[str] = mapped_column(String(20), index=True)
    """``regulator``, ``training_base``, ``institution`` or ``admin`` (the JWT role)."""
    name: Mapped[str] = mapped_column(String(200))
    """Official name, in Chinese."""
    region_code: Mapped[str | None] = mapped_column(String(6), index=True)
    """GB/T 2260 code of its seat; for a regulator, its jurisdiction."""
    level: Mapped[str | None] = mapped_column(String(10))
    """``national``, ``province``, ``city`` or ``county`` (derived from the region code)."""
    uscc: Mapped[str | None] = mapped_column(String(18), unique=True)
    """Unified social credit code (GB 32100), validated by its check character."""
    ownership: Mapped[str | None] = mapped_column(String(12))
    """Institutions: ``nonprofit`` or ``for_profit``."""
    filing_status: Mapped[str | None] = mapped_column(String(12))
    """Institutions: filing (备案) status, ``filed`` or ``not_filed``."""
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    """Institutions: where alerts are also delivered (HMAC-signed)."""
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orgs.id"))
    """The organisation that created it (null for the CLI)."""


class ApiClient(IdMixin, CreatedMixin, Base):
    """OAuth 2.0 client credentials of an organisation; the secret is kept only as a slow hash."""

    __tablename__ = "api_clients"

    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    """Public client identifier."""
    secret_hash: Mapped[str] = mapped_column(String(200))
    """scrypt hash of the client secret."""
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"), index=True)
    """The organisation the client acts for."""
    disabled_at: Mapped[datetime | None]
    """When the client was disabled; tokens are no longer issued after it."""
