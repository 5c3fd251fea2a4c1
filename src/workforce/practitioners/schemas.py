"""Wire schema of the practitioner routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from workforce.structs import Input, Output

IdNumberField = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=32,
        description="Citizen ID number (GB 11643, 18 characters); accepted only in bodies.",
    ),
]
PositionCode = Annotated[str, msgspec.Meta(pattern=r"^[a-z_]{2,32}$", max_length=32)]
RegionCode = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{6}$")]


class PractitionerCreate(Input):
    """Register a practitioner (idempotent on the ID number)."""

    id_number: IdNumberField
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
    positions: Annotated[list[PositionCode], msgspec.Meta(max_length=10)] = []  # noqa: RUF012 - msgspec copies defaults
    region_code: RegionCode | None = None


class PractitionerLookup(Input):
    """Find a practitioner by ID number."""

    id_number: IdNumberField


class RevealRequest(Input):
    """A regulator's explicit request to see the full ID number, with its purpose."""

    reason: Annotated[str, msgspec.Meta(min_length=2, max_length=200)]


class Practitioner(Output):
    """A practitioner as an organisation that may see it sees it."""

    practitioner_id: uuid.UUID
    name: str
    id_number_masked: str
    region_code: str
    positions: list[str]
    created_at: datetime


class LookupResult(Output):
    """The practitioner an ID number belongs to."""

    practitioner_id: uuid.UUID


class Revealed(Output):
    """The full ID number (regulators only, access-logged)."""

    practitioner_id: uuid.UUID
    id_number: str


class AccessEntry(Output):
    """Who read or looked up a practitioner."""

    at: datetime
    org_id: uuid.UUID
    client_id: str
    action: str
    route: str
    outcome: str | None
