"""The HTTP layer: thin handlers, one module per resource.

``API_HANDLERS`` are mounted under ``/api/v1``; ``ROOT_HANDLERS`` at the root (health, JWKS,
public ledger endpoints, pages).  Each domain module exposes its handlers in a ``ROUTES`` list.
"""

from __future__ import annotations

from typing import Any

from workforce.routes import (
    auth,
    bans,
    catalog,
    certificates,
    credit,
    health,
    hiring,
    ledger,
    orgs,
    pages,
    practitioners,
    reports,
    training,
    wellknown,
)

API_HANDLERS: list[Any] = [
    auth.issue_token,
    orgs.OrgController,
    practitioners.PractitionerController,
    *catalog.ROUTES,
    *training.ROUTES,
    *reports.ROUTES,
    *bans.ROUTES,
    *certificates.ROUTES,
    *credit.ROUTES,
    *hiring.ROUTES,
]

ROOT_HANDLERS: list[Any] = [health.health, wellknown.jwks, *ledger.ROUTES, *pages.ROUTES]
