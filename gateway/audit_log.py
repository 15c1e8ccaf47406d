"""Writing audit events for HTTP requests: who, what, when, why, and what they received.

Routes call these helpers; the event for a change is appended in the same transaction as
the change (``in_transaction``), refusals and reads on their own (``standalone``).
``token_event`` turns the auth package's ``TokenEvent`` (one per call to an OAuth
endpoint) into an audit event, ``operation_event`` the GraphQL transport's
``OperationRecord`` (one per GraphQL request).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from sqlalchemy import Connection
from starlette.requests import HTTPConnection

from auth.guard import current_principal
from auth.principal import Principal
from auth.token_events import TokenEndpoint, TokenEvent, TokenOutcome
from gateway.audit import (
    Actor,
    AuditEvent,
    AuditTrail,
    Disclosure,
    DisclosureTally,
    Outcome,
    Purpose,
    RequestContext,
    caller_value,
    caller_values,
    digest_operation,
    parse_purpose,
)
from gateway.graphql.records import OperationRecord
from gateway.request_tracing import request_trace_ids
from gateway.services import services_of


def actor_of(principal: Principal | None) -> Actor:
    if principal is None:
        return Actor()
    return Actor(principal.client_id, principal.subject, principal.issuer, principal.force)


def request_context(request: HTTPConnection) -> RequestContext:
    trace_id, span_id = request_trace_ids()
    return RequestContext(
        request_id=getattr(request.state, "request_id", None),
        trace_id=trace_id,
        span_id=span_id,
        client_address=request.client.host if request.client else None,
    )


def event(
    request: HTTPConnection,
    action: str,
    outcome: Outcome,
    *,
    forces: Sequence[str] = (),
    periods: Sequence[str] = (),
    purpose: Purpose | None = None,
    operation: str | None = None,
    query_sha256: str | None = None,
    disclosure: Disclosure | None = None,
    reason: str | None = None,
) -> AuditEvent:
    principal = current_principal(request)
    return AuditEvent(
        action=action,
        outcome=outcome,
        actor=actor_of(principal),
        scopes=tuple(sorted(principal.scopes)) if principal else (),
        purpose=purpose,
        forces=tuple(forces),
        periods=tuple(periods),
        operation=operation,
        query_sha256=query_sha256,
        disclosure=disclosure or Disclosure(),
        request=request_context(request),
        reason=reason,
    )


def trail_of(request: HTTPConnection) -> AuditTrail:
    trail: AuditTrail = services_of(request).extras["audit"]
    return trail


def standalone(request: HTTPConnection, audit_event: AuditEvent) -> None:
    trail_of(request).append_standalone(services_of(request).engine, audit_event)


def in_transaction(request: HTTPConnection, conn: Connection, audit_event: AuditEvent) -> None:
    trail_of(request).append(conn, audit_event)


TOKEN_ACTIONS: Final = {
    TokenEndpoint.TOKEN: "auth:token:issued",
    TokenEndpoint.REVOCATION: "auth:token:revoked",
    TokenEndpoint.INTROSPECTION: "auth:token:introspected",
}


def token_event(request: HTTPConnection, token: TokenEvent) -> AuditEvent:
    """The audit event of one call to the token, revocation or introspection endpoint.

    ``auth:token:issued`` (allowed) or ``auth:token:denied`` (denied or error) for the token
    endpoint; ``auth:token:revoked`` / ``auth:token:introspected`` with the call's outcome
    for the others. The actor is the authenticated client, or failing that the client id
    the caller presented (then ``subject`` and ``issuer`` are null: nobody was
    authenticated). ``scopes`` are those granted, or for a refusal those requested;
    ``operation`` is the grant type or endpoint and the affected token's ``jti``.
    """
    action = TOKEN_ACTIONS[token.endpoint]
    if token.endpoint is TokenEndpoint.TOKEN and token.outcome is not TokenOutcome.ALLOWED:
        action = "auth:token:denied"
    authenticated = token.client_id is not None
    client_id = token.client_id if authenticated else caller_value(token.claimed_client_id)
    scopes = token.scopes_granted or caller_values(token.scopes_requested)
    what = (
        caller_value(token.grant_type) or "no_grant_type"
        if token.endpoint is TokenEndpoint.TOKEN
        else str(token.endpoint)
    )
    return AuditEvent(
        action=action,
        outcome=Outcome(str(token.outcome)),
        actor=Actor(
            client_id=client_id,
            subject=token.client_id,  # our tokens' subject is the client itself
            issuer=token.issuer,
            force=token.force,
        ),
        scopes=scopes,
        forces=(token.force,) if token.force else (),
        operation=f"{what} jti={token.token_id}" if token.token_id else what,
        request=request_context(request),
        reason=_reason(token.reason),
    )


def _reason(value: str | None) -> str | None:
    if value is None:
        return None
    cleaned = value.lower()
    return cleaned if re.fullmatch(r"[a-z][a-z0-9_.:-]{0,63}", cleaned) else "other"


_GRAPHQL_NAME: Final = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,199}")


def operation_event(record: OperationRecord, purposes: tuple[str, ...]) -> AuditEvent:
    """The audit event of one GraphQL request, allowed, denied or failed.

    What it disclosed comes from the ``DisclosureTally`` the request context left on
    ``request.state``; the action from what the request asked for (the fields whose
    access check ran): ``audit:read`` if any touched the audit trail, ``graphql:mutation``
    for a mutation, ``indicators:query`` for indicator data, ``submission:read`` for
    submission receipts, else ``graphql:query`` (only the catalogue or ``me``, or refused
    before any field ran: an invalid document, variables or limits).
    """
    principal = record.principal
    request = record.request
    tally = getattr(request.state, "audit_disclosure", None) if request is not None else None
    if not isinstance(tally, DisclosureTally):
        tally = DisclosureTally()
    purpose = parse_purpose(record.purpose, purposes)
    name = record.operation_name
    return AuditEvent(
        action=_operation_action(record, tally),
        outcome=Outcome(record.outcome.value),
        actor=actor_of(principal),
        scopes=tuple(sorted(principal.scopes)) if principal else (),
        purpose=purpose if isinstance(purpose, Purpose) else None,
        forces=tuple(tally.forces),
        periods=tuple(tally.periods),
        operation=name if name is not None and _GRAPHQL_NAME.fullmatch(name) else None,
        query_sha256=digest_operation(record.query_sha256, record.variables_sha256),
        disclosure=tally.disclosure(record.response_sha256),
        request=(
            request_context(request)
            if request is not None
            else RequestContext(record.request_id, *request_trace_ids())
        ),
        reason=(
            getattr(request.state, "audit_denial_reason", None) if request is not None else None
        )
        or tally.reason
        or (record.error_codes[0].lower() if record.error_codes else None),
    )


def _operation_action(record: OperationRecord, tally: DisclosureTally) -> str:
    if "audit" in tally.reads:
        return "audit:read"
    if record.operation_type == "mutation":
        return "graphql:mutation"
    if "indicators" in tally.reads:
        return "indicators:query"
    if "submissions" in tally.reads:
        return "submission:read"
    return "graphql:query"
