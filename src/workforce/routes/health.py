"""``GET /health``: 200 once the database answers."""

from __future__ import annotations

from litestar import get
from litestar.di import NamedDependency
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from workforce.structs import Output


class Health(Output):
    """Service health."""

    status: str


@get("/health", operation_id="health", exclude_from_auth=True, tags=["public"])
async def health(db_session: NamedDependency[AsyncSession]) -> Health:
    """Liveness and database readiness."""
    await db_session.execute(text("SELECT 1"))
    return Health(status="ok")
