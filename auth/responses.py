"""Turning ``AccessDeniedError`` into an HTTP response: RFC 6750 headers, RFC 9457 body.

Every refusal has the same shape so clients can rely on it:

* status 400/401/403/429 from the exception class;
* ``WWW-Authenticate: Bearer realm="soteria"`` plus ``error``, ``error_description`` and,
  for insufficient scope, ``scope`` (RFC 6750 §3); 429 carries ``Retry-After`` instead;
* an ``application/problem+json`` body with ``type``, ``title``, ``status``, ``detail``
  and our stable machine ``code``.

The texts come from the exception, which only ever holds fixed sentences, so nothing from
the token or from a library reaches the client.
"""

from __future__ import annotations

from typing import Final

from starlette.authentication import AuthenticationError
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, Response

from auth.errors import (
    AccessDeniedError,
    InsufficientScopeError,
    InvalidTokenError,
    RateLimitedError,
    TokenFault,
)

REALM: Final = "soteria"
PROBLEM_TYPE_PREFIX: Final = "urn:soteria:problem:"
PROBLEM_MEDIA_TYPE: Final = "application/problem+json"


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE


def _quoted(value: str) -> str:
    """An RFC 7235 quoted-string; our texts never hold quotes, but be safe."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def www_authenticate(exc: AccessDeniedError) -> str | None:
    """The ``WWW-Authenticate`` value for ``exc``, or None (rate limiting)."""
    if isinstance(exc, RateLimitedError):
        return None
    params = [f"realm={_quoted(REALM)}"]
    if exc.bearer_error is not None:
        params.append(f"error={_quoted(exc.bearer_error)}")
        params.append(f"error_description={_quoted(exc.description)}")
    if isinstance(exc, InsufficientScopeError):
        params.append(f"scope={_quoted(exc.required_scope)}")
    return "Bearer " + ", ".join(params)


def problem_response(exc: AccessDeniedError) -> Response:
    """The full HTTP response for a refused request."""
    headers = {"Cache-Control": "no-store"}
    challenge = www_authenticate(exc)
    if challenge is not None:
        headers["WWW-Authenticate"] = challenge
    if isinstance(exc, RateLimitedError):
        headers["Retry-After"] = str(exc.retry_after)
    body = {
        "type": PROBLEM_TYPE_PREFIX + exc.code,
        "title": exc.title,
        "status": exc.status_code,
        "detail": exc.description,
        "code": exc.code,
    }
    return ProblemResponse(body, status_code=exc.status_code, headers=headers)


def on_auth_error(conn: HTTPConnection, exc: AuthenticationError) -> Response:
    """``on_error`` for Starlette's ``AuthenticationMiddleware``."""
    if isinstance(exc, AccessDeniedError):
        return problem_response(exc)
    # Some other backend raised; answer like an invalid token without echoing it.
    return problem_response(InvalidTokenError(TokenFault.BAD_CLAIMS))
