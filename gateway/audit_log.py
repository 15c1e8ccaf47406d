"""Writing audit events for HTTP requests: who, what, when, why, and what they received.

Routes call these helpers; the event for a change is appended in the same transaction as
the change (``in_transaction``), refusals and reads on their own (``standalone``).
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry import trace
from sqlalchemy import Connection
from starlette.requests import HTTPConnection

from auth.guard import current_principal
from auth.principal import Principal
from gateway.audit import (
    Actor,
    AuditEvent,
    AuditTrail,
    Disclosure,
    Outcome,
    Purpose,
    RequestContext,
)
from gateway.services import services_of


def actor_of(principal: Principal | None) -> Actor:
    if principal is None:
        return Actor()
    return Actor(principal.client_id, principal.subject, principal.issuer, principal.force)


def request_context(request: HTTPConnection) -> RequestContext:
    span = trace.get_current_span().get_span_context()
    return RequestContext(
        request_id=getattr(request.state, "request_id", None),
        trace_id=f"{span.trace_id:032x}" if span.is_valid else None,
        span_id=f"{span.span_id:016x}" if span.is_valid else None,
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
