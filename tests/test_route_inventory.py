"""Every route that is not deliberately public has a role guard."""

from __future__ import annotations

from litestar import Litestar
from litestar.handlers import HTTPRouteHandler

# Routes anyone may call without a token (contract: "(none)" role). Anything else needs a guard.
PUBLIC = {
    "/health",
    "/.well-known/jwks.json",
    "/api/v1/auth/token",
    "/schema",
}
PUBLIC_PREFIXES = ("/schema",)


def _handlers(app: Litestar) -> list[tuple[str, HTTPRouteHandler]]:
    found = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if isinstance(handler, HTTPRouteHandler) and "OPTIONS" not in handler.http_methods:
                found.append((route.path, handler))
    return found


def test_every_private_route_is_guarded(app: Litestar) -> None:
    missing = []
    for path, handler in _handlers(app):
        if path.startswith(PUBLIC_PREFIXES):
            continue
        public = bool(handler.opt.get("exclude_from_auth"))
        if public:
            assert path in PUBLIC or handler.opt.get("public_reason"), (
                f"{path} is excluded from authentication but not in the public allow-list"
            )
            continue
        guards = [g for layer in handler.ownership_layers for g in (layer.guards or [])]
        if not any(getattr(g, "roles", None) for g in guards):
            missing.append(f"{sorted(handler.http_methods)} {path}")
    assert missing == [], f"routes without a role guard: {missing}"


def test_public_routes_are_the_expected_ones(app: Litestar) -> None:
    public = {
        path
        for path, handler in _handlers(app)
        if handler.opt.get("exclude_from_auth") and not path.startswith(PUBLIC_PREFIXES)
    }
    assert {"/health", "/.well-known/jwks.json", "/api/v1/auth/token"} <= public
