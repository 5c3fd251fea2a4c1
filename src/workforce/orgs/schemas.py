"""Wire schema of the organisation and token routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from workforce.structs import Input, Output

OrgKind = Literal["regulator", "training_base", "institution", "admin"]


class OrgCreate(Input):
    """Create an organisation and its first API client."""

    kind: OrgKind
    name: Annotated[str, msgspec.Meta(min_length=2, max_length=200)]
    region_code: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{6}$")] | None = None
    uscc: Annotated[str, msgspec.Meta(min_length=1, max_length=32)] | None = None
    ownership: Literal["nonprofit", "for_profit"] | None = None
    filing_status: Literal["filed", "not_filed"] | None = None


class Org(Output):
    """An organisation."""

    org_id: uuid.UUID
    kind: str
    name: str
    region_code: str | None
    level: str | None
    uscc: str | None
    ownership: str | None
    filing_status: str | None
    created_at: datetime


class ClientCredentials(Output):
    """A new API client; the secret is shown this once and stored only as a hash."""

    client_id: str
    client_secret: str


class OrgCreated(Org):
    """The organisation created, with its first client's credentials."""

    client: ClientCredentials


class TokenRequest(msgspec.Struct, kw_only=True):
    """OAuth 2.0 client-credentials grant (form-encoded)."""

    grant_type: str = ""
    client_id: str = ""
    client_secret: str = ""
    scope: str | None = None


class TokenResponse(Output):
    """An access token (RFC 6749 §5.1)."""

    access_token: str
    expires_in: int
    token_type: str = "Bearer"  # noqa: S105 - the RFC 6749 token type, not a secret
