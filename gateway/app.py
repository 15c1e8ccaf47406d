"""The application factory: ``create_app(settings)`` builds the whole service.

Nothing happens at import time: the engine, keys and caches are made in the lifespan, so
tests, the CLI and uvicorn workers each get their own, configured by the ``Settings``
they pass in.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from adapters.indicators.remote import RemoteIndicatorSource
from adapters.indicators.rollup import RollupHook
from adapters.store.engine import immediate_writes, make_engine
from auth.components import AuthComponents, build_auth
from auth.errors import AccessDeniedError, JWKSFetchError
from auth.ratelimit import InMemoryBucketStore
from auth.ratelimit_sql import SqlBucketStore
from auth.responses import problem_response
from auth.token_events import TokenEvent
from gateway import audit_log
from gateway.audit import (
    AuditSettings,
    Outcome,
    open_trail,
)
from gateway.auth_setup import auth_settings, load_kek
from gateway.forces_config import ForcesConfigError, load_forces_config
from gateway.graphql import ErrorCode, Limits, graphql_routes
from gateway.graphql.records import OperationRecord
from gateway.graphql_context import GatewayContext, PurposeRequiredError
from gateway.indicators.federation import FanOut
from gateway.indicators.service import IndicatorService, TableQueryError
from gateway.indicators.sources import CachedLocalSource, RemoteFactory, build_sources
from gateway.problems import problem
from gateway.request_tracing import TracedStarlette
from gateway.routes import exports, federation, meta, openapi, submissions
from gateway.services import Services
from gateway.settings import Settings
from gateway.telemetry import install as install_telemetry
from schema import codelists
from schema.errors import CatalogueError, PeriodError
from schema.graphql.build import build_schema
from schema.graphql.query import BadArgumentError

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "x-request-id"


class RequestIdMiddleware:
    """Gives every request an id (echoed in ``X-Request-Id``), for support and the audit."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: dict[str, object]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))  # type: ignore[call-overload]
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)  # type: ignore[arg-type]


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return problem(exc.status_code, code, str(exc.detail), headers=exc.headers)


async def _unexpected(request: Request, exc: Exception) -> Response:
    if isinstance(exc, OperationalError):  # raised outside the routes (token validation)
        return await _database_unavailable(request, exc)
    request_id = getattr(request.state, "request_id", "unknown")
    log.error("unexpected error (request %s)", request_id, exc_info=exc)
    return problem(
        500,
        "internal",
        f"An internal error occurred. Quote request id {request_id} to support.",
        request_id=request_id,
    )


async def _database_unavailable(request: Request, exc: Exception) -> Response:
    """The database dropped or refused the connection (a restart, a failover): retryable."""
    request_id = getattr(request.state, "request_id", "unknown")
    log.warning("database unavailable (request %s): %s", request_id, type(exc).__name__)
    return problem(
        503,
        "database_unavailable",
        "The database is not answering; nothing was changed by this request unless a "
        "receipt says so. Retry shortly (with the same Idempotency-Key for a push).",
        headers={"Retry-After": "2"},
        request_id=request_id,
    )


async def _access_denied(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AccessDeniedError)
    return problem_response(exc)


def create_app(settings: Settings, *, services: Services | None = None) -> Starlette:
    """The ASGI app; ``services`` lets tests inject a clock or an engine they already hold.

    The engine object is made here (it opens no connection until first used) because the
    authentication middleware and the token routes are bound to it when the app is built;
    connections, keys and external JWKS are first touched in the lifespan.
    """
    built = services or Services(
        settings=settings,
        engine=make_engine(settings.database_url, pool_size=settings.database_pool_size),
        forces=load_forces_config(settings.forces_config),
    )
    if not built.ingest_hooks:
        # Rollups commit with the records they summarise: a query right after a receipt
        # sees the new figures.
        built.ingest_hooks = (RollupHook(),)
    auth = _build_auth(built)
    built.extras["auth"] = auth
    indicators = _build_indicators(built)
    telemetry = install_telemetry()  # once per process: the OTEL_* variables
    for engine in (built.engine, *indicators.sources.engines):
        telemetry.instrument_engine(engine)
    built.extras["indicators"] = indicators
    if "audit" not in built.extras:
        built.extras["audit"] = open_trail(AuditSettings.from_settings(settings))
    graphql = graphql_routes(
        build_schema(),
        lambda request: GatewayContext(request=request, services=built),
        limits=Limits(max_page_size=100, list_sizes={"IndicatorTable.cells": 817}),
        on_operation=lambda record: _audit_operation(built, record),
        expected_errors={
            # first: a missing purpose is also a bad argument, but refuses the whole request
            PurposeRequiredError: ErrorCode.PURPOSE_REQUIRED,
            BadArgumentError: ErrorCode.BAD_REQUEST,
            PeriodError: ErrorCode.BAD_REQUEST,
            CatalogueError: ErrorCode.BAD_REQUEST,
            TableQueryError: ErrorCode.BAD_REQUEST,
        },
    )
    if settings.node_force is not None:
        # A force node: that force's push path and the federation endpoint, nothing else.
        built.extras["node_source"] = CachedLocalSource(built.engine)
        routes = [
            *meta.routes,
            *openapi.routes,
            *auth.routes,
            *submissions.routes,
            *federation.routes,
        ]
    else:
        routes = [
            *meta.routes,
            *openapi.routes,
            *auth.routes,
            *submissions.routes,
            *exports.routes,
            *graphql,
        ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.services = built
        try:
            await run_in_threadpool(auth.prime)
        except JWKSFetchError as exc:  # one unreachable identity provider must not stop us
            log.warning("external issuer keys not loaded at start: %s", exc)
        try:
            yield
        finally:
            indicators.fanout.close()
            indicators.sources.close()
            if services is None:
                built.engine.dispose()

    handlers: dict[object, Callable[[Request, Exception], Awaitable[Response]]] = {
        HTTPException: _http_exception,
        AccessDeniedError: _access_denied,
        OperationalError: _database_unavailable,
        Exception: _unexpected,
    }
    return TracedStarlette(
        telemetry,
        routes=routes,
        middleware=[Middleware(RequestIdMiddleware), auth.middleware],
        exception_handlers=handlers,
        lifespan=lifespan,
    )


def _build_auth(services: Services) -> AuthComponents:
    settings = services.settings
    return build_auth(
        auth_settings(settings),
        session_factory=sessionmaker(immediate_writes(services.engine)),
        kek=load_kek(settings),
        clock=services.clock,
        force_exists=lambda code: codelists.force(code) is not None,
        on_denied=_audit_denial,
        on_token_event=_audit_token_event,
        # Rate limits must hold across replicas, so on PostgreSQL the buckets live in the
        # database. The embedded SQLite default is one process: buckets in memory, so
        # API requests never queue behind a long ingestion's write lock.
        bucket_store=(
            SqlBucketStore(services.engine)
            if services.engine.dialect.name == "postgresql"
            else InMemoryBucketStore()
        ),
    )


def _build_indicators(services: Services) -> IndicatorService:
    settings = services.settings
    return IndicatorService(
        build_sources(
            services.engine,
            services.forces,
            remote_factory(services),
            local_timeout=settings.local_source_timeout_seconds,
        ),
        FanOut(timeout=settings.source_timeout_seconds),
        k=settings.disclosure_k,
        custom_groups=services.forces.groups,
        clock=services.clock,
    )


def remote_factory(services: Services) -> RemoteFactory:
    """Remote sources for forces on nodes, with the gateway's credentials at each node."""

    def make(force: str) -> RemoteIndicatorSource:
        config = services.forces.get(force)
        if not (config.url and config.client_id and config.client_secret_file):
            raise ForcesConfigError(
                f"[forces.{force}] a remote source needs url, client_id and client_secret_file."
            )
        secret = config.client_secret_file.read_text(encoding="utf-8").strip()
        return RemoteIndicatorSource(
            config.url,
            config.client_id,
            secret,
            timeout=services.settings.source_timeout_seconds,
            # Tests route node traffic to an in-process node app through this transport.
            transport=services.extras.get("remote_transport"),
        )

    return make


def _audit_denial(request: HTTPConnection, reason: str) -> None:
    """Every refused request is audited (who tried, what, from where), not only counted.

    A GraphQL request gets one event for the whole operation: its denial reason goes
    into that event instead of an event of its own."""
    if getattr(request.state, "operation_reported", False):
        request.state.audit_denial_reason = reason
        return
    audit_log.standalone(
        request, audit_log.event(request, "auth:access:denied", Outcome.DENIED, reason=reason)
    )


def _audit_token_event(request: HTTPConnection, token: TokenEvent, conn: Connection | None) -> None:
    """Every call to the OAuth endpoints, in the endpoint's own transaction when it has one
    (an issued token commits with its event, or neither does)."""
    audit_event = audit_log.token_event(request, token)
    if conn is None:
        audit_log.standalone(request, audit_event)
    else:
        audit_log.in_transaction(request, conn, audit_event)


def _audit_operation(services: Services, record: OperationRecord) -> None:
    """One audit event per GraphQL request, allowed, denied or failed (written before the
    response leaves: if it cannot be written, the client gets an error, not the data)."""
    audit_event = audit_log.operation_event(record, services.settings.purposes)
    services.extras["audit"].append_standalone(services.engine, audit_event)
