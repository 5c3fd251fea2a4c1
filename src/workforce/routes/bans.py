"""Ban routes: record a ban, correct one, check a person (``/api/v1/bans``).

ID numbers travel only in request bodies; responses carry masks, commitments and proofs.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from workforce.context import AppContext
from workforce.idempotency import fingerprint, idempotent
from workforce.ledger import service
from workforce.ledger.schemas import (
    BanCheckRequest,
    BanCheckResult,
    BanCorrected,
    BanCorrectionCreate,
    BanCreate,
    BanRecorded,
)
from workforce.routes.deps import IdempotencyKey, route_of
from workforce.security.guards import requires_role
from workforce.security.principal import Principal

NO_STORE = {"Cache-Control": "no-store"}


@post(
    "/bans",
    operation_id="recordBan",
    tags=["bans"],
    guards=[requires_role("regulator")],
    status_code=201,
)
async def record_ban(
    data: JSONBody[BanCreate],
    db_session: NamedDependency[AsyncSession],
    ctx: NamedDependency[AppContext],
    principal: NamedDependency[Principal],
    idempotency_key: IdempotencyKey = None,
) -> Response[BanRecorded]:
    """Record a ban (and the managers' bans of the same case) on the ban ledger.

    Returns the entries' sequence numbers, leaf hashes and inclusion proofs, and the signed
    checkpoint that covers them.
    """

    async def produce() -> tuple[int, BanRecorded]:
        return 201, await service.record_bans(db_session, ctx, principal, data)

    digest = fingerprint("recordBan", service.ban_fingerprint_body(ctx, data))
    return await idempotent(db_session, principal, idempotency_key, digest, produce)


@post(
    "/bans/{entry:int}/correction",
    operation_id="correctBan",
    tags=["bans"],
    guards=[requires_role("regulator")],
    status_code=201,
)
async def correct_ban(
    entry: FromPath[int],
    data: JSONBody[BanCorrectionCreate],
    db_session: NamedDependency[AsyncSession],
    ctx: NamedDependency[AppContext],
    principal: NamedDependency[Principal],
    idempotency_key: IdempotencyKey = None,
) -> Response[BanCorrected]:
    """Quash or amend a ban by appending a correction entry (never an edit)."""

    async def produce() -> tuple[int, BanCorrected]:
        return 201, await service.correct_ban(db_session, ctx, principal, entry, data)

    digest = fingerprint("correctBan", {"entry": entry, "body": data})
    return await idempotent(db_session, principal, idempotency_key, digest, produce)


@post(
    "/bans/check",
    operation_id="checkBan",
    tags=["bans"],
    guards=[requires_role("institution", "regulator")],
    status_code=200,
)
async def check_ban(
    data: JSONBody[BanCheckRequest],
    db_session: NamedDependency[AsyncSession],
    ctx: NamedDependency[AppContext],
    principal: NamedDependency[Principal],
    request: Request[Any, Any, Any],
) -> Response[BanCheckResult]:
    """Whether a person is banned now, with a receipt verifiable offline (access-logged)."""
    result = await service.check_ban(db_session, ctx, principal, data.id_number, route_of(request))
    return Response(result, headers=NO_STORE)


ROUTES: list[Any] = [record_ban, correct_ban, check_ban]
