"""``POST /api/v1/auth/token``: OAuth 2.0 client credentials."""

from __future__ import annotations

from litestar import Response, post
from litestar.di import NamedDependency
from litestar.params import URLEncodedBody
from sqlalchemy.ext.asyncio import AsyncSession

from workforce.context import AppContext
from workforce.orgs import service
from workforce.orgs.schemas import TokenRequest, TokenResponse


@post(
    "/auth/token",
    operation_id="issueToken",
    exclude_from_auth=True,
    tags=["auth"],
    opt={"content_types": ("application/x-www-form-urlencoded",)},
    status_code=200,
)
async def issue_token(
    data: URLEncodedBody[TokenRequest],
    db_session: NamedDependency[AsyncSession],
    ctx: NamedDependency[AppContext],
) -> Response[TokenResponse]:
    """Exchange client credentials for a short-lived EdDSA access token."""
    token, ttl = await service.issue_token(
        db_session, ctx, data.grant_type, data.client_id, data.client_secret
    )
    return Response(
        TokenResponse(access_token=token, expires_in=ttl),
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )
