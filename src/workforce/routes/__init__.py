"""The HTTP layer: thin handlers, one module per resource.

``API_HANDLERS`` are mounted under ``/api/v1``; ``ROOT_HANDLERS`` at the root (health, JWKS,
public ledger endpoints, pages).  Each domain module exposes its handlers in a ``ROUTES`` list.
"""

from __future__ import annotations

from typing import Any

from workforce.routes import auth, health, orgs, practitioners, wellknown

API_HANDLERS: list[Any] = [
    auth.issue_token,
    orgs.OrgController,
    practitioners.PractitionerController,
]

ROOT_HANDLERS: list[Any] = [health.health, wellknown.jwks]
