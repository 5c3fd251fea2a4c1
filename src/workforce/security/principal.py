"""Who is calling: the authenticated principal carried by an access token."""

from __future__ import annotations

import uuid
from typing import Literal

import msgspec

Role = Literal["regulator", "training_base", "institution", "admin"]
ROLES: tuple[Role, ...] = ("regulator", "training_base", "institution", "admin")


class Principal(msgspec.Struct, frozen=True):
    """An API client acting for one organisation."""

    client_id: str
    """The OAuth client that obtained the token (``sub``)."""
    org_id: uuid.UUID
    """The organisation it acts for (``org``)."""
    role: Role
    """The organisation's kind (``role``)."""
    region: str | None
    """The organisation's GB/T 2260 region code; a regulator's jurisdiction."""
