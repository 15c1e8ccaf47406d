"""authlib's ``AuthorizationServer``, configured for Soteria: one per request.

A server object is built for each request around that request's database session: authlib
calls ``query_client`` and the token generator without passing the request, so binding the
session at construction is the only thread-safe way to give them one.

What is ours here:

* the client credentials grant with ``client_secret_basic``, ``client_secret_post`` and
  ``private_key_jwt``; requested scopes must all be allowed for the client (else
  ``invalid_scope``); no scope requested means every allowed scope;
* the per-client rate limit, taken when the client is looked up (before any argon2 work),
  with unknown ids sharing one bucket;
* every ``invalid_client`` answered 401 with one generic description, so responses do not
  reveal whether a client id exists or is disabled;
* revocation (RFC 7009) and introspection (RFC 7662) of our own tokens only, by the client
  they were issued to; anyone else's token introspects as ``{"active": false}``;
* ``activity``: what the call did (client claimed and authenticated, scopes, the token
  issued, revoked or introspected), from which ``auth.server`` builds its ``TokenEvent``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from authlib.oauth2.rfc6749 import AuthorizationServer, InvalidClientError, InvalidScopeError
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from sqlalchemy.orm import Session

from auth.authlib_models import IssuedTokenView, OAuthClient
from auth.client_assertion import PRIVATE_KEY_JWT, PrivateKeyJWTAuthentication
from auth.clients import verify_client_secret
from auth.clock import Clock, to_epoch
from auth.errors import InvalidTokenError
from auth.models import Client
from auth.ratelimit import RateLimiter
from auth.responses import REALM
from auth.revocation import revoke_token
from auth.scopes import Scope, UnknownScopeError, parse_scopes
from auth.settings import AuthSettings
from auth.signing_keys import current_signing_key, ensure_signing_key, published_public_keys
from auth.tokens import mint_access_token
from auth.validation import local_principal, local_profile
from auth.verification import read_unverified, verify

CLIENT_AUTH_METHODS: Final = ["client_secret_basic", "client_secret_post", PRIVATE_KEY_JWT]
UNKNOWN_CLIENT_BUCKET: Final = "oauth:unknown-client"


@dataclass(frozen=True)
class OAuthContext:
    """What every OAuth endpoint needs besides the request's session."""

    settings: AuthSettings
    kek: bytes
    rate_limiter: RateLimiter | None
    clock: Clock


@dataclass(slots=True)
class Activity:
    """What one call did, filled in as authlib calls back into the server."""

    claimed_client_id: str | None = None
    client: OAuthClient | None = None
    granted: frozenset[Scope] = frozenset()
    token_id: str | None = None  # issued, revoked, or introspected while active


@dataclass(frozen=True, slots=True)
class OAuthResult:
    status: int
    body: dict[str, Any]
    headers: list[tuple[str, str]]


class _InvalidClientError(InvalidClientError):  # type: ignore[misc]
    status_code = 401
    description = "Client authentication failed"

    def get_headers(self) -> list[tuple[str, str]]:
        headers: list[tuple[str, str]] = [
            (name, value) for name, value in super().get_headers() if name != "WWW-Authenticate"
        ]
        challenge = f'Basic realm="{REALM}", error="invalid_client"'
        return [*headers, ("WWW-Authenticate", challenge)]


class _ClientCredentialsGrant(ClientCredentialsGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def validate_requested_scope(self) -> None:
        client: OAuthClient = self.request.client
        try:
            requested = parse_scopes(self.request.payload.scope, strict=True)
        except UnknownScopeError as exc:
            raise InvalidScopeError(description="An unknown scope was requested") from exc
        if not requested <= client.allowed_scopes:
            raise InvalidScopeError(description="The client may not request that scope")


class _RevocationEndpoint(RevocationEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        return self.server.inspect_token(token_string)

    def revoke_token(self, token: IssuedTokenView, request: Any) -> None:
        self.server.revoke(token)
        self.server.activity.token_id = token.principal.token_id


class _IntrospectionEndpoint(IntrospectionEndpoint):  # type: ignore[misc]
    CLIENT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        return self.server.inspect_token(token_string)

    def check_permission(self, token: IssuedTokenView, client: OAuthClient, request: Any) -> bool:
        return token.check_client(client)

    def introspect_token(self, token: IssuedTokenView) -> dict[str, Any]:
        self.server.activity.token_id = token.principal.token_id
        return token.introspection()


class SoteriaAuthorizationServer(AuthorizationServer):  # type: ignore[misc]
    """An authlib server bound to one request's ``session``."""

    def __init__(self, session: Session, context: OAuthContext) -> None:
        super().__init__(scopes_supported=sorted(scope.value for scope in Scope))
        self.session = session
        self.context = context
        self.activity = Activity()
        settings = context.settings
        self.register_grant(_ClientCredentialsGrant)
        self.register_client_auth_method(
            PRIVATE_KEY_JWT,
            PrivateKeyJWTAuthentication(
                session,
                audiences=[settings.issuer, settings.token_endpoint],
                clock=context.clock,
                leeway=settings.leeway_seconds,
            ),
        )
        self.register_endpoint(_RevocationEndpoint)
        self.register_endpoint(_IntrospectionEndpoint)
        self.register_token_generator("default", self._generate_token)

    # --- authlib hooks -------------------------------------------------------------

    def query_client(self, client_id: object) -> OAuthClient | None:
        if _plausible_id(client_id):
            self.activity.claimed_client_id = str(client_id)
        row = self.session.get(Client, client_id) if _plausible_id(client_id) else None
        known = row is not None and row.enabled
        if self.context.rate_limiter is not None:
            bucket = f"oauth:{client_id}" if known else UNKNOWN_CLIENT_BUCKET
            self.context.rate_limiter.check(bucket)
        if row is None or not known:
            verify_client_secret(None, "")  # same cost as a wrong secret
            return None
        return OAuthClient(row)

    def authenticate_client(self, request: Any, methods: Any, endpoint: str = "token") -> Any:
        client = super().authenticate_client(request, methods, endpoint)
        self.activity.client = client
        return client

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        """Nothing to store: access tokens are self-contained JWTs."""

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """authlib's signal system is unused; auditing is the gateway's job."""

    def create_oauth2_request(self, request: Any) -> Any:
        return request  # already a FormRequest, built by auth.server

    def handle_response(
        self, status: int, body: Any, headers: list[tuple[str, str]]
    ) -> OAuthResult:
        return OAuthResult(status=status, body=dict(body), headers=list(headers))

    def handle_error_response(self, request: Any, error: Any) -> OAuthResult:
        if isinstance(error, InvalidClientError):
            error = _InvalidClientError()
        result: OAuthResult = super().handle_error_response(request, error)
        return result

    # --- ours ----------------------------------------------------------------------

    def _generate_token(
        self,
        *,
        grant_type: str,
        client: OAuthClient,
        user: Any = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = False,
    ) -> dict[str, Any]:
        settings = self.context.settings
        now = self.context.clock()
        granted = parse_scopes(scope, strict=True) or client.allowed_scopes
        ensure_signing_key(self.session, self.context.kek, now=now)
        token = mint_access_token(
            current_signing_key(self.session, self.context.kek),
            issuer=settings.issuer,
            audience=settings.audience,
            client_id=client.client_id,
            scopes=granted,
            force=client.row.force,
            lifetime_seconds=settings.token_lifetime_seconds,
            now=now,
        )
        self.activity.granted = granted
        self.activity.token_id = token.token_id
        return token.as_response()

    def inspect_token(self, token: object) -> IssuedTokenView | None:
        """Our own, currently valid token as a view; None for anything else."""
        settings = self.context.settings
        if not isinstance(token, str):
            return None
        now = self.context.clock()
        try:
            unverified = read_unverified(token, max_bytes=settings.max_token_bytes)
            if unverified.issuer != settings.issuer:
                return None
            keys = published_public_keys(self.session, now=now)
            claims = verify(
                unverified,
                local_profile(settings),
                keys.get,
                now=to_epoch(now),
                leeway=settings.leeway_seconds,
            )
            return IssuedTokenView(self.session, local_principal(claims), claims)
        except InvalidTokenError:
            return None

    def revoke(self, token: IssuedTokenView) -> None:
        principal = token.principal
        revoke_token(
            self.session,
            jti=principal.token_id,
            client_id=principal.client_id,
            expires_at=principal.expires_at,
            now=self.context.clock(),
        )


def _plausible_id(client_id: object) -> bool:
    return isinstance(client_id, str) and 0 < len(client_id) <= 64
