"""Route guards: each non-public handler declares the roles allowed to call it.

Guards are coroutine functions (Litestar runs a plain function guard in a worker thread, a
hand-off that costs more than the check itself); the route-inventory test fails for any handler
outside the public allow-list that has none.  Organisation and jurisdiction filters live in the
services.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from workforce.errors import Forbidden, Unauthorized
from workforce.security.principal import Principal, Role

Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]


def requires_role(*roles: Role) -> Guard:
    """A guard admitting principals whose role is one of ``roles``."""
    allowed = frozenset(roles)

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        user = connection.scope.get("user")
        if not isinstance(user, Principal):
            raise Unauthorized("a bearer access token is required")
        if user.role not in allowed:
            raise Forbidden(
                f"this operation is open to: {', '.join(sorted(allowed))}",
                code="role_not_allowed",
            )

    guard.roles = allowed  # type: ignore[attr-defined]
    guard.__name__ = f"requires_role({','.join(sorted(allowed))})"
    return guard


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The authenticated principal of a guarded request."""
    user = connection.scope.get("user")
    if not isinstance(user, Principal):
        raise Unauthorized("a bearer access token is required")
    return user
