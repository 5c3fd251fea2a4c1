"""Report routes: the regional workforce report for regulators."""

from __future__ import annotations

from typing import Any

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from sqlalchemy.ext.asyncio import AsyncSession

from workforce.context import AppContext
from workforce.security.guards import requires_role
from workforce.security.idnumber import today_in_china
from workforce.security.principal import Principal
from workforce.training.reports import workforce_report
from workforce.training.schemas import WorkforceReport


@get(
    "/reports/workforce",
    operation_id="getWorkforceReport",
    guards=[requires_role("regulator")],
    tags=["reports"],
)
async def get_workforce_report(
    db_session: NamedDependency[AsyncSession],
    ctx: NamedDependency[AppContext],
    principal: NamedDependency[Principal],
    region: FromQuery[str | None] = None,
    year: FromQuery[int | None] = None,
) -> WorkforceReport:
    """Practitioners, compliant share per rule and hours per category, by sub-region.

    ``region`` defaults to your jurisdiction and must lie within it; ``year`` to this year.
    """
    wanted = year if year is not None else today_in_china().year
    return await workforce_report(db_session, ctx, principal, region, wanted)


ROUTES: list[Any] = [get_workforce_report]
