"""The one Starlette ``AuthenticationBackend`` of the resource server.

It reads ``Authorization: Bearer <token>``, validates the token (ours or an external
issuer's) in a worker thread, applies the per-client API rate limit, and yields the
``Principal`` both as ``request.user`` (a ``PrincipalUser``) and ``request.auth`` (a
``BearerCredentials``). Routes then call ``auth.guard.require``.

What it refuses, with the middleware's ``on_error`` set to ``auth.responses.on_auth_error``:

* a token in the query string (``access_token=``): 400 ``invalid_request`` (RFC 6750 §2.3
  allows it, but URLs end up in logs and Referer headers, so we never accept it);
* a repeated or empty ``Authorization: Bearer`` header: 400 ``invalid_request``;
* any token that fails validation: 401 ``invalid_token``;
* a client over its rate: 429 with ``Retry-After``.

A request with no Authorization header, or another scheme (Basic at the token endpoint),
passes through unauthenticated; routes that need a principal refuse it in ``require``.
"""

from __future__ import annotations

from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    BaseUser,
    UnauthenticatedUser,
)
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from auth.denials import DenialCounter, DenialHook, DenialRecorder
from auth.errors import AccessDeniedError, InvalidRequestError, TokenFault
from auth.principal import Principal
from auth.ratelimit import RateLimiter
from auth.validation import TokenValidator


class PrincipalUser(BaseUser):
    """``request.user`` for an authenticated caller."""

    def __init__(self, principal: Principal) -> None:
        self.principal = principal

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.principal.client_id

    @property
    def identity(self) -> str:
        return self.principal.subject


class BearerCredentials(AuthCredentials):
    """``request.auth``: the principal (None if anonymous) and where denials are recorded."""

    def __init__(self, principal: Principal | None, recorder: DenialRecorder) -> None:
        super().__init__(sorted(scope.value for scope in principal.scopes) if principal else [])
        self.principal = principal
        self.recorder = recorder


class BearerTokenBackend(AuthenticationBackend):
    """Validates bearer tokens; see the module docstring for what it refuses."""

    def __init__(
        self,
        validator: TokenValidator,
        *,
        rate_limiter: RateLimiter | None = None,
        denials: DenialCounter | None = None,
        on_denied: DenialHook | None = None,
    ) -> None:
        self._validator = validator
        self._rate_limiter = rate_limiter
        self.denials = denials if denials is not None else DenialCounter()
        self.recorder = DenialRecorder(self.denials, on_denied)

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        try:
            token = _bearer_token(conn)
            if token is None:
                return BearerCredentials(None, self.recorder), UnauthenticatedUser()
            # A token seen before usually needs no I/O at all: then no worker thread.
            principal = self._validate_now(token)
            if principal is None:
                principal = await run_in_threadpool(self._validate, token)
        except AccessDeniedError as exc:
            self.recorder.record(conn, exc.code)
            raise
        return BearerCredentials(principal, self.recorder), PrincipalUser(principal)

    def _validate_now(self, token: str) -> Principal | None:
        """``_validate`` from memory alone, on the event loop; None when it needs I/O."""
        principal = self._validator.validate_now(token)
        if principal is None:
            return None
        if self._rate_limiter is not None and not self._rate_limiter.check_now(
            api_rate_key(principal)
        ):
            return None
        return principal

    def _validate(self, token: str) -> Principal:
        principal = self._validator.validate(token)
        if self._rate_limiter is not None:
            self._rate_limiter.check(api_rate_key(principal))
        return principal


def api_rate_key(principal: Principal) -> str:
    """One bucket per client per issuer (client ids of two issuers may collide)."""
    return f"api:{principal.client_id}@{principal.issuer}"


def _bearer_token(conn: HTTPConnection) -> str | None:
    if "access_token" in conn.query_params:
        raise InvalidRequestError(TokenFault.IN_QUERY)
    headers = conn.headers.getlist("authorization")
    bearer = [value for value in headers if value[:7].lower() == "bearer "]
    if not bearer:
        if any(value.strip().lower() == "bearer" for value in headers):
            raise InvalidRequestError(TokenFault.BAD_HEADER)
        return None
    if len(headers) != 1:
        raise InvalidRequestError(TokenFault.BAD_HEADER)
    token = bearer[0][7:].strip()
    if not token or " " in token:
        raise InvalidRequestError(TokenFault.BAD_HEADER)
    return token
