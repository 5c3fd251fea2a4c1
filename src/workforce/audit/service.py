"""Recording and listing the access log."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from workforce.audit.models import AccessLog
from workforce.pagination import Page, paginate
from workforce.security.principal import Principal


def access_values(
    actor: Principal,
    *,
    action: str,
    route: str,
    practitioner_id: uuid.UUID | None = None,
    outcome: str | None = None,
) -> dict[str, Any]:
    """The columns of one access-log row (``id`` and ``created_at`` take their defaults).

    For writers that insert rows in bulk (``insert(AccessLog.__table__)``) rather than through
    a session; :func:`record_access` builds its row from the same values.
    """
    return {
        "org_id": actor.org_id,
        "client_id": actor.client_id,
        "practitioner_id": practitioner_id,
        "action": action,
        "route": route,
        "outcome": outcome,
    }


def record_access(
    session: AsyncSession,
    actor: Principal,
    *,
    action: str,
    route: str,
    practitioner_id: uuid.UUID | None = None,
    outcome: str | None = None,
) -> None:
    """Add one access-log row to the caller's unit of work."""
    session.add(
        AccessLog(
            **access_values(
                actor, action=action, route=route, practitioner_id=practitioner_id, outcome=outcome
            )
        )
    )


async def list_access(
    session: AsyncSession, practitioner_id: uuid.UUID, limit: int, cursor: str | None
) -> Page[AccessLog]:
    """The access log of one practitioner, oldest first."""
    stmt = select(AccessLog).where(AccessLog.practitioner_id == practitioner_id)
    return await paginate(session, stmt, AccessLog.id, limit, cursor)
