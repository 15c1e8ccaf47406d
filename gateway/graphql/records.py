"""``OperationRecord``: what one GraphQL request did, handed to the ``on_operation`` hook.

The endpoint calls the hook exactly once for every request it answers as GraphQL (not
for the GraphiQL page or its static files), in a worker thread, after the response body
is built and before it is sent. If the hook raises, the client gets a masked 500 instead
of the body: an audit trail that cannot be written must not let the data out.

The record holds digests, never the query, the variables or the data themselves:

* ``query_sha256``: SHA-256 of the query text (UTF-8), None if the request had none;
* ``variables_sha256``: SHA-256 of the variables as canonical JSON (keys sorted, orjson),
  None without variables;
* ``response_sha256``: SHA-256 of the exact response body bytes sent.

``request``: the HTTP request itself, for the hook to read what the application's context
left on ``request.state`` (the gateway's disclosure tally) and the client's address.

``outcome``: ``denied`` if the request was refused for authentication or authorisation
(401 before execution, or any ``UNAUTHENTICATED``/``FORBIDDEN`` error even beside partial
data); else ``error`` if the status is not 200 or any error is ``BAD_REQUEST`` or
``INTERNAL``; else ``allowed`` (``SOURCE_UNAVAILABLE`` alone still counts as allowed:
the other forces' data was disclosed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from starlette.requests import Request

from auth.principal import Principal
from gateway.graphql.errors import DENIAL_CODES, ErrorCode


class Outcome(StrEnum):
    ALLOWED = "allowed"
    DENIED = "denied"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class OperationRecord:
    request_id: str
    principal: Principal | None
    method: str
    operation_name: str | None
    operation_type: str | None  # "query", "mutation", "subscription"; None if not known
    query_sha256: str | None
    variables_sha256: str | None
    outcome: Outcome
    status_code: int
    error_codes: tuple[str, ...]
    response_sha256: str
    duration_seconds: float
    purpose: str | None  # the raw Soteria-Purpose header, for the hook to parse
    request: Request | None = field(default=None, repr=False, compare=False)


def outcome_of(status: int, codes: tuple[str, ...]) -> Outcome:
    if status in (401, 403) or any(code in DENIAL_CODES for code in codes):
        return Outcome.DENIED
    if status != 200 or ErrorCode.BAD_REQUEST in codes or ErrorCode.INTERNAL in codes:
        return Outcome.ERROR
    return Outcome.ALLOWED
