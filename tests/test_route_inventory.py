"""Every route that is not deliberately public has a role guard; the public set is exactly known."""

from __future__ import annotations

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler

# Routes anyone may call without a token (the contract's "(none)" role). Adding to this list is a
# decision to review: everything else needs a role guard.
PUBLIC = {
    ("POST", "/api/v1/auth/token"),
    ("GET", "/health"),
    ("GET", "/.well-known/jwks.json"),
    ("GET", "/api/v1/certificate-types"),
    ("GET", "/api/v1/positions"),
    ("GET", "/api/v1/rules"),
    ("POST", "/api/v1/certificates/verify"),
    ("GET", "/api/v1/certificates/{serial:str}"),
    ("GET", "/api/v1/certificates/{serial:str}/qr.svg"),
    ("GET", "/api/v1/certificates/{serial:str}/qr.png"),
    ("GET", "/api/v1/status-lists/{list_id:uuid}"),
    ("GET", "/api/v1/credit/event-types"),
    ("GET", "/api/v1/credit/grade-rules"),
    ("GET", "/api/v1/credit/institutions/{institution_id:uuid}"),
    ("GET", "/api/v1/inspections/draws/{draw_id:uuid}"),
    ("GET", "/ledger/checkpoint"),
    ("GET", "/ledger/checkpoints/{size:int}"),
    ("GET", "/ledger/vkey"),
    ("GET", "/ledger/entries"),
    ("GET", "/ledger/proof/inclusion"),
    ("GET", "/ledger/proof/consistency"),
    ("GET", "/verify/{serial:str}"),
}
SCHEMA_PREFIX = "/schema"


def _handlers(app: Litestar) -> list[tuple[str, str, HTTPRouteHandler]]:
    found = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if not isinstance(handler, HTTPRouteHandler) or "OPTIONS" in handler.http_methods:
                continue
            if route.path.startswith(SCHEMA_PREFIX):
                continue
            for method in handler.http_methods:
                if method != "HEAD":
                    found.append((method, route.path, handler))
    return found


def test_every_private_route_has_a_role_guard(app: Litestar) -> None:
    missing = []
    for method, path, handler in _handlers(app):
        if handler.opt.get("exclude_from_auth"):
            continue
        guards = [g for layer in handler.ownership_layers for g in (layer.guards or [])]
        if not any(getattr(g, "roles", None) for g in guards):
            missing.append(f"{method} {path}")
    assert missing == [], f"routes without a role guard: {missing}"


def test_public_routes_are_exactly_the_reviewed_ones(app: Litestar) -> None:
    public = {(m, p) for m, p, h in _handlers(app) if h.opt.get("exclude_from_auth")}
    assert public == PUBLIC


def test_guard_refuses_anonymous_and_wrong_role(app: Litestar) -> None:
    # The inventory is only meaningful if a guard really refuses: spot-check one.
    from litestar.testing import TestClient

    with TestClient(app=app) as client:
        assert client.get("/api/v1/alerts").status_code == 401
