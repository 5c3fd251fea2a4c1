"""``Idempotency-Key`` support: a retried write returns the first result and changes nothing.

The first response to a key is stored with a fingerprint of the request; a retry with the same
key and the same request replays it, a reuse of the key for a different request is a 409.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from litestar import Response
from sqlalchemy import ForeignKey, Integer, LargeBinary, String, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from workforce.db import Base, CreatedMixin, IdMixin, begin_write
from workforce.errors import IDEMPOTENCY_MISMATCH, BadRequest, Conflict
from workforce.security.principal import Principal

MAX_KEY_LENGTH = 100


class IdempotencyRecord(IdMixin, CreatedMixin, Base):
    """The stored first response to an ``Idempotency-Key``."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("org_id", "key"),)

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orgs.id"))
    """The organisation whose key it is (keys are per organisation)."""
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    """The client's ``Idempotency-Key``."""
    fingerprint: Mapped[bytes] = mapped_column(LargeBinary(32))
    """SHA-256 of the operation and the request body."""
    status_code: Mapped[int] = mapped_column(Integer)
    """Status of the first response."""
    body: Mapped[bytes] = mapped_column(LargeBinary)
    """JSON body of the first response."""


def fingerprint(operation: str, body: Any) -> bytes:
    """A digest of the operation and its (already decoded) request body."""
    return hashlib.sha256(operation.encode() + b"\x00" + msgspec.json.encode(body)).digest()


async def idempotent(
    session: AsyncSession,
    actor: Principal,
    key: str | None,
    digest: bytes,
    produce: Callable[[], Awaitable[tuple[int, Any]]],
) -> Response[Any]:
    """Run ``produce`` once per key; replay its stored response on a retry."""
    if key is None:
        status, body = await produce()
        return Response(body, status_code=status)
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not key.isprintable():
        raise BadRequest(
            "Idempotency-Key must be 1 to 100 printable characters", code="invalid_idempotency_key"
        )
    await begin_write(session)
    stored = await session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.org_id == actor.org_id, IdempotencyRecord.key == key
        )
    )
    if stored is not None:
        if stored.fingerprint != digest:
            raise Conflict(
                "this Idempotency-Key was used for a different request", code=IDEMPOTENCY_MISMATCH
            )
        return Response(
            stored.body,
            status_code=stored.status_code,
            media_type="application/json",
            headers={"Idempotent-Replayed": "true"},
        )
    status, body = await produce()
    encoded = msgspec.json.encode(body)
    try:
        async with session.begin_nested():
            session.add(
                IdempotencyRecord(
                    org_id=actor.org_id,
                    key=key,
                    fingerprint=digest,
                    status_code=status,
                    body=encoded,
                )
            )
    except IntegrityError:
        raise Conflict(
            "a request with this Idempotency-Key is being processed; retry",
            code="idempotency_in_progress",
        ) from None
    return Response(encoded, status_code=status, media_type="application/json")
