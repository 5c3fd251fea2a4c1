"""The one place that wires the application: ``create_app(settings)``."""

from __future__ import annotations

import gc
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec
from advanced_alchemy.exceptions import IntegrityError as AlchemyIntegrityError
from advanced_alchemy.exceptions import NotFoundError as AlchemyNotFoundError
from advanced_alchemy.extensions.litestar import (
    AsyncSessionConfig,
    SQLAlchemyAsyncConfig,
    SQLAlchemyPlugin,
)
from litestar import Litestar, Request, Router
from litestar.config.response_cache import ResponseCacheConfig
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.plugins.problem_details import (
    ProblemDetailsConfig,
    ProblemDetailsException,
    ProblemDetailsPlugin,
)
from litestar.security.jwt import JWTAuth
from litestar.template.config import TemplateConfig
from sqlalchemy.exc import IntegrityError, OperationalError

from workforce import __version__
from workforce.context import AppContext
from workforce.db import make_engine
from workforce.errors import DomainError, Reason, UnsupportedMediaType
from workforce.hiring.gate import AdmissionGate
from workforce.hiring.scheduler import hiring_lifespan
from workforce.redact import install_log_redaction, redact
from workforce.routes import API_HANDLERS, ROOT_HANDLERS
from workforce.routes.deps import provide_ctx, provide_principal, provide_transaction
from workforce.security.principal import Principal
from workforce.security.tokens import KidToken, TokenMiddleware
from workforce.settings import Settings, load_settings

log = logging.getLogger("workforce")

_STATUS_CODES: Mapping[int, tuple[str, str]] = {
    400: ("bad_request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Forbidden"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    413: ("payload_too_large", "Payload too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
    422: ("invalid", "Invalid input"),
    429: ("too_many_requests", "Too many requests"),
    500: ("internal_error", "Internal server error"),
    503: ("unavailable", "Service unavailable"),
}


def _problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    reasons: list[Reason],
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> ProblemDetailsException:
    body: dict[str, Any] = {
        "reasons": [{"code": r.code, "detail": redact(r.detail)} for r in reasons],
        **(extra or {}),
    }
    return ProblemDetailsException(
        status_code=status,
        type_=f"urn:workforce:{code}",
        title=title,
        detail=redact(detail),
        extra=body,
        headers=headers,
    )


def domain_to_problem(exc: DomainError) -> ProblemDetailsException:
    """A domain error as problem details."""
    extra = {"error": exc.code} if exc.code == "invalid_client" else None
    return _problem(exc.status, exc.code, exc.title, exc.detail, exc.reasons, exc.headers, extra)


def _validation_reasons(extra: Any) -> list[Reason]:
    reasons: list[Reason] = []
    for item in extra if isinstance(extra, list) else []:
        if not isinstance(item, Mapping):
            continue
        message = str(item.get("message", "invalid value"))
        key = item.get("key")
        code = "unknown_field" if "unknown field" in message else "invalid_field"
        if "malformed" in message.lower() or "decode" in message.lower():
            code = "malformed_body"
        reasons.append(Reason(code, f"{key}: {message}" if key else message))
    return reasons


def http_to_problem(exc: HTTPException) -> ProblemDetailsException:
    """A framework HTTP error (404, 405, validation, size limits…) as problem details."""
    if isinstance(exc, ProblemDetailsException):
        return exc
    status = exc.status_code
    code, title = _STATUS_CODES.get(status, ("http_error", "HTTP error"))
    detail = exc.detail or title
    reasons = _validation_reasons(exc.extra) if isinstance(exc, ValidationException) else []
    if isinstance(exc, ValidationException):
        code = (
            "malformed_body"
            if any(r.code == "malformed_body" for r in reasons)
            else "validation_failed"
        )
        title, detail = "Invalid request", "the request does not match the documented schema"
    if status == 401:
        detail = "a valid bearer access token is required"
    return _problem(status, code, title, detail, reasons or [Reason(code, detail)], exc.headers)


def integrity_to_problem(_: Exception) -> ProblemDetailsException:
    """A unique or foreign-key violation that a service did not anticipate."""
    detail = "the request conflicts with existing data"
    return _problem(409, "conflict", "Conflict", detail, [Reason("conflict", detail)])


def not_found_to_problem(_: Exception) -> ProblemDetailsException:
    """advanced-alchemy's NotFoundError."""
    return _problem(
        404, "not_found", "Not found", "no such resource", [Reason("not_found", "no such resource")]
    )


def busy_to_problem(exc: OperationalError) -> ProblemDetailsException:
    """A database that is locked or unreachable: a retryable 503, never a stack trace."""
    log.warning("database unavailable: %s", type(exc.orig).__name__ if exc.orig else "error")
    detail = "the database is busy; retry shortly"
    return _problem(
        503,
        "database_busy",
        "Service unavailable",
        detail,
        [Reason("database_busy", detail)],
        headers={"Retry-After": "1"},
    )


def unexpected_to_problem(exc: Exception) -> ProblemDetailsException:
    """Anything unforeseen: logged with its traceback (masked), answered without one."""
    log.error("unhandled %s", type(exc).__name__, exc_info=exc)
    detail = "an unexpected error occurred; it has been logged"
    return _problem(
        500, "internal_error", "Internal server error", detail, [Reason("internal_error", detail)]
    )


async def retrieve_principal(
    token: KidToken, _: ASGIConnection[Any, Any, Any, Any]
) -> Principal | None:
    """The principal named by a verified access token."""
    try:
        return msgspec.convert(
            {
                "client_id": token.sub,
                "org_id": token.extras.get("org"),
                "role": token.extras.get("role"),
                "region": token.extras.get("region"),
            },
            Principal,
        )
    except msgspec.ValidationError:
        return None


_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


async def check_content_type(request: Request[Any, Any, Any]) -> None:
    """Refuse a body of the wrong media type with 415 before the handler parses it."""
    if request.method not in _BODY_METHODS:
        return
    length = request.headers.get("content-length")
    if length == "0" or (length is None and "transfer-encoding" not in request.headers):
        return
    allowed = request.route_handler.opt.get("content_types", ("application/json",))
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in allowed:
        raise UnsupportedMediaType(f"send the body as {' or '.join(allowed)}")


def freeze_startup_objects() -> None:
    """Move everything built at start-up out of the garbage collector's sight (``gc.freeze``).

    The application, its routes, schemas, SQLAlchemy metadata and the modules loaded are several
    hundred thousand long-lived objects; without this, each full collection walks all of them
    while every request in flight waits (the tail latency of a busy server).  Only objects made
    after start-up are collected as before.
    """
    gc.collect()
    gc.freeze()


def create_app(settings: Settings | None = None, ctx: AppContext | None = None) -> Litestar:
    """Build the application for ``settings`` (default: from the environment)."""
    settings = settings or load_settings()
    if settings.is_embedded_database:
        settings.var_dir.mkdir(parents=True, exist_ok=True)
    ctx = ctx or AppContext.open(settings)
    KidToken.keyring = ctx.keyring
    install_log_redaction()

    engine = make_engine(settings.effective_database_url)
    gate = AdmissionGate.for_settings(settings, engine)

    async def dispose_engine() -> None:
        await gate.close()
        await engine.dispose()

    alchemy = SQLAlchemyAsyncConfig(
        engine_instance=engine,
        session_config=AsyncSessionConfig(expire_on_commit=False, autoflush=True),
        session_dependency_key="raw_db_session",
        set_default_exception_handler=False,
        create_all=False,
    )
    jwt_auth = JWTAuth[Principal, KidToken](
        retrieve_user_handler=retrieve_principal,
        token_secret="unused-see-KidToken",  # noqa: S106 - verification keys come from the keyring
        algorithm="EdDSA",
        token_cls=KidToken,
        authentication_middleware_class=TokenMiddleware,
        accepted_issuers=[settings.issuer],
        exclude=["^/schema"],
        description="EdDSA access token from POST /api/v1/auth/token (client credentials).",
    )
    problem_map: dict[type[Exception], Any] = {
        DomainError: domain_to_problem,
        HTTPException: http_to_problem,
        IntegrityError: integrity_to_problem,
        AlchemyIntegrityError: integrity_to_problem,
        AlchemyNotFoundError: not_found_to_problem,
        OperationalError: busy_to_problem,
        Exception: unexpected_to_problem,
    }
    return Litestar(
        route_handlers=[Router("/api/v1", route_handlers=API_HANDLERS), *ROOT_HANDLERS],
        dependencies={
            "db_session": Provide(provide_transaction),
            "ctx": Provide(provide_ctx, sync_to_thread=False),
            "principal": Provide(provide_principal, sync_to_thread=False),
        },
        plugins=[
            SQLAlchemyPlugin(config=alchemy),
            ProblemDetailsPlugin(
                ProblemDetailsConfig(
                    enable_for_all_http_exceptions=True,
                    exception_to_problem_detail_map=problem_map,
                )
            ),
        ],
        on_app_init=[jwt_auth.on_app_init],
        # A served process freezes its start-up objects once; a test suite builds many apps in
        # one process, and freezing each would keep every one of them alive.
        on_startup=[] if settings.environment == "test" else [freeze_startup_objects],
        on_shutdown=[dispose_engine],
        lifespan=[hiring_lifespan],
        before_request=check_content_type,
        state=State({"ctx": ctx, "settings": settings, "gate": gate}),
        openapi_config=OpenAPIConfig(
            title="托育从业人员培训、认证与信用登记系统 API",
            version=__version__,
            path="/schema",
            render_plugins=[JsonRenderPlugin()],
            components=Components(
                security_schemes={
                    "BearerToken": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")
                }
            ),
        ),
        template_config=TemplateConfig(
            directory=Path(__file__).parent / "templates", engine=JinjaTemplateEngine
        ),
        response_cache_config=ResponseCacheConfig(default_expiration=5),
        request_max_body_size=settings.max_body_bytes,
        debug=False,
    )
