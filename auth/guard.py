"""``require``: the one call a route or resolver makes before touching data.

    principal = require(request, Action.READ_SUBMISSION, force=force_code)

It returns the caller's ``Principal`` or raises an ``AccessDeniedError`` subclass that
``auth.responses.problem_response`` turns into the right 401/403 (the GraphQL layer maps
the same exceptions to ``UNAUTHENTICATED`` / ``FORBIDDEN``). Each denial is counted and
reported through the ``on_denied`` hook the backend was built with.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection

from auth.backend import BearerCredentials
from auth.errors import (
    AccessDeniedError,
    InsufficientScopeError,
    MissingTokenError,
    WrongForceError,
)
from auth.policy import POLICY, Action, DenyReason, authorize
from auth.principal import Principal
from auth.scopes import format_scopes


def current_principal(request: HTTPConnection) -> Principal | None:
    """The authenticated principal, or None (anonymous, or no backend installed)."""
    credentials = request.scope.get("auth")
    if isinstance(credentials, BearerCredentials):
        return credentials.principal
    return None


def require(request: HTTPConnection, action: Action, force: str | None = None) -> Principal:
    """The principal, if it may perform ``action`` on ``force``'s data; else raise."""
    principal = current_principal(request)
    try:
        if principal is None:
            raise MissingTokenError()
        decision = authorize(principal, action, force)
        if decision.reason is DenyReason.INSUFFICIENT_SCOPE:
            # RFC 6750 §3: the scope needed for the resource, not only what is missing,
            # so a client can ask for exactly this and succeed.
            raise InsufficientScopeError(format_scopes(POLICY[action].scopes))
        if decision.reason is DenyReason.WRONG_FORCE:
            raise WrongForceError()
    except AccessDeniedError as exc:
        _record(request, exc.code)
        raise
    return principal


def _record(request: HTTPConnection, reason: str) -> None:
    credentials = request.scope.get("auth")
    if isinstance(credentials, BearerCredentials):
        credentials.recorder.record(request, reason)
