"""Keyset (cursor) pagination over UUIDv7 keys, which sort in creation order."""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any, Generic, TypeVar

import msgspec
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from workforce.errors import BadRequest

T = TypeVar("T")

MAX_LIMIT = 500
DEFAULT_LIMIT = 50


class Page(msgspec.Struct, Generic[T]):
    """One page of rows and the cursor of the next one (None at the end)."""

    items: list[T]
    next_cursor: str | None


def encode_cursor(key: uuid.UUID) -> str:
    """An opaque cursor for the row with this key."""
    return base64.urlsafe_b64encode(key.bytes).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> uuid.UUID:
    """The key inside a cursor; 400 ``invalid_cursor`` for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return uuid.UUID(bytes=raw)
    except (binascii.Error, ValueError) as exc:
        raise BadRequest(
            "the cursor is not one this service issued", code="invalid_cursor"
        ) from exc


def check_limit(limit: int) -> int:
    """Validate ``?limit=``: 1 to 500."""
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}", code="invalid_limit")
    return limit


async def paginate(
    session: AsyncSession,
    stmt: Select[Any],
    key: InstrumentedAttribute[uuid.UUID],
    limit: int,
    cursor: str | None,
    *,
    descending: bool = False,
) -> Page[Any]:
    """Run ``stmt`` for one page ordered by ``key`` (ascending unless ``descending``)."""
    check_limit(limit)
    if cursor:
        after = decode_cursor(cursor)
        stmt = stmt.where(key < after if descending else key > after)
    stmt = stmt.order_by(key.desc() if descending else key.asc()).limit(limit + 1)
    rows = list((await session.scalars(stmt)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(getattr(rows[-1], key.key)) if more and rows else None
    return Page(items=rows, next_cursor=next_cursor)
