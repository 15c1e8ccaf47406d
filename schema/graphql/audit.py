"""Audit trail types for ``auditEvents``: one event as stored, and a page of them.

Every field is a column of the trail (``docs/audit.md`` is the reference); default
resolvers read the gateway's stored events by attribute. Sequence numbers and sizes are
``BigInt``: the trail's counters are 64-bit.
"""

from __future__ import annotations

import graphene

from schema.graphql.types import PageInfo


class AuditOutcome(graphene.Enum):
    """How a request or command ended."""

    ALLOWED = "allowed"
    DENIED = "denied"
    ERROR = "error"

    @property
    def description(self) -> str:
        return {
            "ALLOWED": "It was carried out (data served, change stored, token issued).",
            "DENIED": "Refused for the caller's credentials, scopes, force or rate.",
            "ERROR": "Failed: a bad argument, a missing purpose, or a server error.",
        }[self.name]


class AuditEvent(graphene.ObjectType):
    """One event of the hash-chained audit trail: who did what, when, why, and what they got.

    Never holds data values, queries or variables: only their sizes and SHA-256 digests.
    """

    seq = graphene.BigInt(required=True, description="Gap-free sequence number in the chain.")
    occurred_at = graphene.DateTime(required=True, description="When (UTC, microseconds).")
    action = graphene.String(
        required=True,
        description="What was done, namespaced: indicators:query, indicators:export, "
        "submission:create, auth:token:issued, audit:read...",
    )
    outcome = graphene.Field(AuditOutcome, required=True, description="How it ended.")
    reason = graphene.String(
        description="Machine code of a refusal or failure (missing_scope, purpose_missing...)."
    )
    client_id = graphene.String(
        description="The OAuth client that acted (for a failed token request: the one "
        "claimed); null for a local command."
    )
    subject = graphene.String(
        description="The token's subject, or cli:<login> for a command run on the host."
    )
    issuer = graphene.String(description="Who vouched for the subject: a token issuer.")
    actor_force = graphene.String(description="The force the acting client is bound to.")
    scopes = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="Scopes of the token used (token events: granted, or requested if refused).",
    )
    purpose_code = graphene.String(description="Declared purpose (Soteria-Purpose) code.")
    purpose_text = graphene.String(description="Declared purpose free text.")
    forces = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="Forces whose data was touched or disclosed.",
    )
    periods = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="Periods disclosed, by label with spaces as _ (2024/25_Q1).",
    )
    operation = graphene.String(
        description="GraphQL operation name, or the command and its target."
    )
    query_sha256 = graphene.String(description="SHA-256 of the GraphQL query and variables.")
    rows_returned = graphene.BigInt(description="Rows served (table rows, receipts, events).")
    cells_returned = graphene.BigInt(description="Table cells served with a value.")
    cells_suppressed = graphene.BigInt(description="Table cells withheld by disclosure control.")
    response_sha256 = graphene.String(description="SHA-256 of the response body sent.")
    request_id = graphene.String(description="The request's X-Request-Id.")
    trace_id = graphene.String(description="OpenTelemetry trace id of the request.")
    span_id = graphene.String(description="OpenTelemetry span id of the request.")
    client_address = graphene.String(description="The caller's network address.")
    prev_hash = graphene.String(required=True, description="event_hash of the previous event.")
    event_hash = graphene.String(
        required=True, description="SHA-256 of this event's canonical form: the chain link."
    )


class AuditEventPage(graphene.ObjectType):
    """Events oldest first; pass pageInfo.endCursor as after for the next page."""

    items = graphene.List(
        graphene.NonNull(AuditEvent), required=True, description="The events of this page."
    )
    page_info = graphene.Field(PageInfo, required=True, description="Where the page ends.")
