"""The OAuth endpoints as Starlette routes: a thin adapter around authlib.

authlib has no Starlette server integration, so this module translates: it reads and
checks the form body asynchronously (size cap, urlencoded only, no repeated parameters,
nothing in the query string), builds an authlib ``OAuth2Request``, runs authlib (which is
synchronous and touches the database) in a worker thread inside one transaction, and turns
authlib's ``(status, body, headers)`` into a Starlette response.

Routes (the gateway mounts the list returned by ``routes``):

* ``POST /oauth/token``          client credentials grant (RFC 6749 §4.4)
* ``POST /oauth/revoke``         token revocation (RFC 7009)
* ``POST /oauth/introspect``     token introspection (RFC 7662)
* ``GET  /oauth/jwks``           our published public keys (RFC 7517)
* ``GET  /.well-known/oauth-authorization-server``   metadata (RFC 8414)

Every call to the first three yields one ``auth.token_events.TokenEvent`` for the
``on_token_event`` hook, given the endpoint's transaction just before it commits (see
that module): allowed, refused (whatever the reason, the rate limit and unreadable
bodies included) or failed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final
from urllib.parse import parse_qsl

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from auth.authlib_models import FormRequest
from auth.authorization_server import (
    CLIENT_AUTH_METHODS,
    Activity,
    OAuthContext,
    OAuthResult,
    SoteriaAuthorizationServer,
)
from auth.client_assertion import ASSERTION_ALGORITHMS
from auth.clock import Clock, utc_now
from auth.errors import RateLimitedError
from auth.ratelimit import RateLimiter
from auth.scopes import Scope
from auth.settings import AuthSettings
from auth.signing_keys import published_jwks
from auth.token_events import TokenEndpoint, TokenEvent, TokenEventHook, outcome_for

TOKEN_PATH: Final = "/oauth/token"  # noqa: S105 - a URL path, not a secret
REVOKE_PATH: Final = "/oauth/revoke"
INTROSPECT_PATH: Final = "/oauth/introspect"
JWKS_PATH: Final = "/oauth/jwks"
METADATA_PATH: Final = "/.well-known/oauth-authorization-server"
MAX_FORM_BYTES: Final = 16 * 1024
_NO_STORE: Final = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class _BadFormError(Exception):
    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


def metadata_document(settings: AuthSettings) -> dict[str, Any]:
    """The RFC 8414 document. ``response_types_supported`` is empty: there is no
    authorization endpoint, only the client credentials grant."""
    base = settings.base_url
    return {
        "issuer": settings.issuer,
        "token_endpoint": base + TOKEN_PATH,
        "jwks_uri": base + JWKS_PATH,
        "revocation_endpoint": base + REVOKE_PATH,
        "introspection_endpoint": base + INTROSPECT_PATH,
        "grant_types_supported": ["client_credentials"],
        "response_types_supported": [],
        "scopes_supported": sorted(scope.value for scope in Scope),
        "token_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGORITHMS,
        "revocation_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "revocation_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGORITHMS,
        "introspection_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "introspection_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGORITHMS,
    }


class OAuthEndpoints:
    """The handlers; ``routes`` wires them to paths."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        context: OAuthContext,
        on_token_event: TokenEventHook | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._context = context
        self._on_token_event = on_token_event

    async def token(self, request: Request) -> Response:
        return await self._authlib(
            request,
            TokenEndpoint.TOKEN,
            TOKEN_PATH,
            lambda server, req: server.create_token_response(req),
        )

    async def revoke(self, request: Request) -> Response:
        return await self._authlib(
            request,
            TokenEndpoint.REVOCATION,
            REVOKE_PATH,
            lambda server, req: server.create_endpoint_response("revocation", req),
        )

    async def introspect(self, request: Request) -> Response:
        return await self._authlib(
            request,
            TokenEndpoint.INTROSPECTION,
            INTROSPECT_PATH,
            lambda server, req: server.create_endpoint_response("introspection", req),
        )

    async def jwks(self, request: Request) -> Response:
        def load() -> list[dict[str, Any]]:
            with self._session_factory() as session:
                return published_jwks(session, now=self._context.clock())

        keys = await run_in_threadpool(load)
        max_age = min(self._context.settings.key_cache_ttl_seconds, 300)
        return JSONResponse({"keys": keys}, headers={"Cache-Control": f"public, max-age={max_age}"})

    async def metadata(self, request: Request) -> Response:
        return JSONResponse(
            metadata_document(self._context.settings),
            headers={"Cache-Control": "public, max-age=3600"},
        )

    async def _authlib(
        self,
        request: Request,
        endpoint: TokenEndpoint,
        path: str,
        call: Callable[[SoteriaAuthorizationServer, FormRequest], OAuthResult],
    ) -> Response:
        try:
            form = await _read_form(request)
        except _BadFormError as exc:
            refused = {"error": "invalid_request"}
            await self._report_alone(request, self._event(endpoint, {}, Activity(), 400, refused))
            return _oauth_error(400, "invalid_request", exc.description)
        uri = self._context.settings.base_url + path
        oauth_request = FormRequest(request.method, uri, request.headers, form)
        activity = Activity()

        def run() -> OAuthResult:
            nonlocal activity
            with self._session_factory() as session:
                server = SoteriaAuthorizationServer(session, self._context)
                activity = server.activity
                result = call(server, oauth_request)
                if self._on_token_event is not None:
                    event = self._event(endpoint, form, activity, result.status, result.body)
                    self._on_token_event(request, event, session.connection())
                # Commit error answers too: a used assertion jti must stay recorded.
                session.commit()
                return result

        try:
            result = await run_in_threadpool(run)
        except RateLimitedError as exc:
            limited = {"error": "rate_limited"}
            await self._report_alone(request, self._event(endpoint, form, activity, 429, limited))
            return _oauth_error(
                429, "rate_limited", exc.description, {"Retry-After": str(exc.retry_after)}
            )
        except Exception:
            # Rolled back; the event says so, then the app answers 500 as for any failure.
            failed = {"error": "server_error"}
            await self._report_alone(request, self._event(endpoint, form, activity, 500, failed))
            raise
        return JSONResponse(result.body, status_code=result.status, headers=dict(result.headers))

    async def _report_alone(self, request: Request, event: TokenEvent) -> None:
        """The event of a call whose transaction never started or was rolled back."""
        if self._on_token_event is not None:
            await run_in_threadpool(self._on_token_event, request, event, None)

    def _event(
        self,
        endpoint: TokenEndpoint,
        form: dict[str, str],
        activity: Activity,
        status: int,
        body: dict[str, Any],
    ) -> TokenEvent:
        client = activity.client
        error = body.get("error")
        return TokenEvent(
            endpoint=endpoint,
            outcome=outcome_for(status),
            status_code=status,
            client_id=client.client_id if client is not None else None,
            claimed_client_id=activity.claimed_client_id,
            issuer=self._context.settings.issuer if client is not None else None,
            force=client.row.force if client is not None else None,
            grant_type=form.get("grant_type") if endpoint is TokenEndpoint.TOKEN else None,
            scopes_requested=tuple(form.get("scope", "").split()),
            scopes_granted=tuple(sorted(scope.value for scope in activity.granted)),
            token_id=activity.token_id,
            reason=error if isinstance(error, str) else None,
        )


def routes(
    *,
    session_factory: sessionmaker[Session],
    settings: AuthSettings,
    kek: bytes,
    rate_limiter: RateLimiter | None,
    clock: Clock = utc_now,
    on_token_event: TokenEventHook | None = None,
) -> list[BaseRoute]:
    """The OAuth routes, ready to be mounted at the root of the gateway app."""
    endpoints = OAuthEndpoints(
        session_factory,
        OAuthContext(settings=settings, kek=kek, rate_limiter=rate_limiter, clock=clock),
        on_token_event,
    )
    return [
        Route(TOKEN_PATH, endpoints.token, methods=["POST"], name="oauth_token"),
        Route(REVOKE_PATH, endpoints.revoke, methods=["POST"], name="oauth_revoke"),
        Route(INTROSPECT_PATH, endpoints.introspect, methods=["POST"], name="oauth_introspect"),
        Route(JWKS_PATH, endpoints.jwks, methods=["GET"], name="oauth_jwks"),
        Route(METADATA_PATH, endpoints.metadata, methods=["GET"], name="oauth_metadata"),
    ]


async def _read_form(request: Request) -> dict[str, str]:
    if request.url.query:
        raise _BadFormError("Parameters must be sent in the request body, not the URL")
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        raise _BadFormError("The body must be application/x-www-form-urlencoded")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_FORM_BYTES:
            raise _BadFormError("The request body is too large")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=32)
    except ValueError as exc:  # UnicodeDecodeError included
        raise _BadFormError("The request body could not be parsed") from exc
    form = dict(pairs)
    if len(form) != len(pairs):
        raise _BadFormError("Parameters must not be repeated")
    return form


def _oauth_error(
    status: int, error: str, description: str, headers: dict[str, str] | None = None
) -> Response:
    body = {"error": error, "error_description": description}
    return JSONResponse(body, status_code=status, headers={**_NO_STORE, **(headers or {})})
