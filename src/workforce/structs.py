"""Base classes of the wire schema (msgspec Structs)."""

from __future__ import annotations

import msgspec


class Input(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A request body: unknown fields are refused, all fields by keyword."""


class Output(msgspec.Struct, kw_only=True):
    """A response body."""
