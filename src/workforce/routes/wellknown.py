"""``GET /.well-known/jwks.json``: every public signing key, current and retired."""

from __future__ import annotations

from typing import Any

from litestar import Response, get
from litestar.di import NamedDependency

from workforce.context import AppContext


@get(
    "/.well-known/jwks.json",
    operation_id="getJwks",
    exclude_from_auth=True,
    tags=["public"],
    media_type="application/jwk-set+json",
)
async def jwks(ctx: NamedDependency[AppContext]) -> Response[dict[str, Any]]:
    """The JSON Web Key Set that verifies tokens, certificates, status lists and receipts."""
    return Response(
        ctx.keyring.jwks(),
        media_type="application/jwk-set+json",
        headers={"Cache-Control": "public, max-age=300"},
    )
