"""What each call to the token, revocation and introspection endpoints did, for auditing.

Every call to ``/oauth/token``, ``/oauth/revoke`` and ``/oauth/introspect`` yields exactly
one ``TokenEvent``, handed to the ``on_token_event(request, event, connection)`` hook that
``auth.components.build_auth`` takes. The gateway turns it into an audit event; this
package does not know how audit events are stored.

``connection`` is the endpoint's own database transaction whenever there is one: the hook
runs just before it commits, so an event written on it commits exactly with what the
endpoint stored (a used assertion ``jti``, a revocation, a first signing key), and if the
hook raises, nothing commits and the client gets a 500 instead of a token. It is None
when the endpoint stored nothing because the call never reached the database (a body
that could not be read) or was rolled back (the client's rate limit): then the hook must
write on its own.

Nothing secret is carried: no client secret, assertion or token, only the token's
``jti``. ``claimed_client_id`` is the client id the caller *presented* (Basic user name,
``client_id`` field, or an assertion's issuer), set even when authentication failed, so
auditors can see attempts against a client; ``client_id`` is set only once the client is
authenticated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Connection
from starlette.requests import HTTPConnection


class TokenEndpoint(StrEnum):
    TOKEN = "token"  # noqa: S105 - an endpoint name, not a secret
    REVOCATION = "revocation"
    INTROSPECTION = "introspection"


class TokenOutcome(StrEnum):
    ALLOWED = "allowed"  # the call succeeded (a token issued, revoked or described)
    DENIED = "denied"  # an OAuth error answer (4xx): bad client, scope, request, rate
    ERROR = "error"  # the server failed (5xx)


@dataclass(frozen=True, slots=True)
class TokenEvent:
    """One call to an OAuth endpoint.

    ``reason``: the OAuth ``error`` code of a refusal (``invalid_client``,
    ``invalid_scope``, ``invalid_request``, ``unsupported_grant_type``,
    ``rate_limited``...), ``server_error`` for a failure, or None.
    ``token_id``: the ``jti`` of the token issued, revoked, or found active by
    introspection; None otherwise (revoking or introspecting an unknown, expired or
    foreign token changes and reveals nothing, and is still an allowed call).
    """

    endpoint: TokenEndpoint
    outcome: TokenOutcome
    status_code: int
    client_id: str | None = None
    claimed_client_id: str | None = None
    issuer: str | None = None
    force: str | None = None
    grant_type: str | None = None
    scopes_requested: tuple[str, ...] = ()
    scopes_granted: tuple[str, ...] = ()
    token_id: str | None = None
    reason: str | None = None


TokenEventHook = Callable[[HTTPConnection, TokenEvent, Connection | None], None]


def outcome_for(status_code: int) -> TokenOutcome:
    if status_code >= 500:
        return TokenOutcome.ERROR
    if status_code >= 400:
        return TokenOutcome.DENIED
    return TokenOutcome.ALLOWED
