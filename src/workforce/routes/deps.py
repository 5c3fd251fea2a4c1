"""Dependency providers shared by the route modules."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Annotated, Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import HeaderParameter
from sqlalchemy.ext.asyncio import AsyncSession

from workforce.context import AppContext
from workforce.security.guards import principal_of
from workforce.security.principal import Principal

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        max_length=100,
        description="A retry with the same key and body returns the first result.",
    ),
]
"""The optional ``Idempotency-Key`` header of retryable writes (see ``workforce.idempotency``)."""


def provide_ctx(state: State) -> AppContext:
    """The application context built in ``create_app``."""
    ctx: AppContext = state["ctx"]
    return ctx


def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    """The authenticated principal of the request."""
    return principal_of(request)


def route_of(request: Request[Any, Any, Any]) -> str:
    """The path template of the request (never concrete values), for the access log."""
    template = request.scope.get("path_template")
    return f"{request.method} {template or request.url.path}"


async def provide_transaction(
    raw_db_session: NamedDependency[AsyncSession],
) -> AsyncGenerator[AsyncSession, None]:
    """Request-scoped unit of work: commit when the handler returns, roll back when it raises.

    The commit runs before the response is sent, so a failed commit is an error response,
    never a success the database did not keep.
    """
    try:
        yield raw_db_session
    except BaseException:
        await raw_db_session.rollback()
        raise
    else:
        await raw_db_session.commit()
