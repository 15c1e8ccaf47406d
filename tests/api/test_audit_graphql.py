"""``auditEvents``: auditors read the trail through GraphQL, and every read is recorded."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from sqlalchemy import Engine

from gateway.audit import EventFilter, StoredEvent, query_events
from tests.api.conftest import Api, ApiClient

EVENTS = """
query Trail($actor: String, $force: ID, $action: String, $outcome: AuditOutcome,
            $purpose: String, $from: DateTime, $to: DateTime, $first: Int, $after: String) {
  auditEvents(actor: $actor, force: $force, action: $action, outcome: $outcome,
              purpose: $purpose, from: $from, to: $to, first: $first, after: $after) {
    items { seq occurredAt action outcome reason clientId actorForce scopes purposeCode
            forces eventHash prevHash }
    pageInfo { endCursor hasNextPage }
  }
}
"""


def read(
    api: Api, client: ApiClient, purpose: str | None = "audit; DPO review", **variables: Any
) -> dict[str, Any]:
    headers = {**client.headers, "Accept": "application/json"}
    if purpose is not None:
        headers["Soteria-Purpose"] = purpose
    response = api.http.post(
        "/graphql", json={"query": EVENTS, "variables": variables}, headers=headers
    )
    body: dict[str, Any] = response.json()
    return body


def _trail(engine: Engine, action: str | None = None) -> list[StoredEvent]:
    with engine.connect() as conn:
        return list(query_events(conn, EventFilter(action=action), first=1000).events)


def test_auditor_filters_and_pages_through_the_trail(api: Api, engine: Engine) -> None:
    auditor = api.client("audit:read", name="dpo")
    kent = api.pusher("kent")
    api.client("indicators:read")  # a third token event
    bad = api.http.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=("x", "y"))
    assert bad.status_code == 401

    tokens = read(api, auditor, action="auth:token:*", first=2)["data"]["auditEvents"]
    assert [e["action"] for e in tokens["items"]] == ["auth:token:issued"] * 2
    assert tokens["pageInfo"]["hasNextPage"] is True
    rest = read(api, auditor, action="auth:token:*", after=tokens["pageInfo"]["endCursor"])
    page = rest["data"]["auditEvents"]
    assert [(e["action"], e["outcome"]) for e in page["items"]] == [
        ("auth:token:issued", "ALLOWED"),
        ("auth:token:denied", "DENIED"),
    ]
    assert page["pageInfo"] == {"endCursor": str(page["items"][-1]["seq"]), "hasNextPage": False}
    chained = tokens["items"] + page["items"]
    assert all(b["prevHash"] == a["eventHash"] for a, b in itertools.pairwise(chained))

    mine = read(api, auditor, actor=kent.client_id)["data"]["auditEvents"]["items"]
    assert [(e["clientId"], e["actorForce"]) for e in mine] == [(kent.client_id, "kent")]
    by_force = read(api, auditor, force="kent")["data"]["auditEvents"]["items"]
    assert [e["seq"] for e in by_force] == [e["seq"] for e in mine]
    denied = read(api, auditor, outcome="DENIED")["data"]["auditEvents"]["items"]
    assert [e["reason"] for e in denied] == ["invalid_client"]
    first_read = _trail(engine, "audit:read")[0]
    since = first_read.occurred_at.isoformat()
    reads = read(api, auditor, purpose="audit", action="audit:read", **{"from": since})
    items = reads["data"]["auditEvents"]["items"]
    assert [e["purposeCode"] for e in items] == ["audit"] * 5  # the five reads above
    assert read(api, auditor, **{"to": since})["data"]["auditEvents"]["items"][-1]["seq"] < (
        first_read.seq
    )


def test_every_read_of_the_trail_is_itself_audited(api: Api, engine: Engine) -> None:
    auditor = api.client("audit:read")
    body = read(api, auditor, action="auth:*")
    returned = len(body["data"]["auditEvents"]["items"])

    [event] = _trail(engine, "audit:read")
    assert (event.outcome, event.client_id, event.rows_returned) == (
        "allowed",
        auditor.client_id,
        returned,
    )
    assert (event.purpose_code, event.purpose_text) == ("audit", "DPO review")
    assert event.scopes == ("audit:read",)


@pytest.mark.parametrize(
    ("scopes", "force", "purpose", "variables", "code", "reason"),
    [
        ("indicators:read", None, "audit", {}, "FORBIDDEN", "insufficient_scope"),
        ("audit:read", None, None, {}, "PURPOSE_REQUIRED", "purpose_missing"),
        ("audit:read", None, "curiosity", {}, "PURPOSE_REQUIRED", "purpose_unknown_purpose"),
        ("audit:read submissions:read", "kent", "audit", {}, "FORBIDDEN", "wrong_force"),
        ("audit:read", "kent", "audit", {"force": "essex"}, "FORBIDDEN", "wrong_force"),
        ("audit:read", None, "audit", {"after": "x"}, "BAD_REQUEST", "bad_request"),
        ("audit:read", None, "audit", {"action": "DROP"}, "BAD_REQUEST", "bad_request"),
    ],
)
def test_refused_reads_disclose_nothing_and_are_audited(
    api: Api,
    engine: Engine,
    scopes: str,
    force: str | None,
    purpose: str | None,
    variables: dict[str, Any],
    code: str,
    reason: str,
) -> None:
    caller = api.client(scopes, force=force)

    body = read(api, caller, purpose=purpose, **variables)

    assert body.get("data") is None
    assert body["errors"][0]["extensions"]["code"] == code
    [event] = _trail(engine, "audit:read")
    expected = "denied" if code == "FORBIDDEN" else "error"
    assert (event.outcome, event.reason, event.rows_returned) == (expected, reason, None)


def test_a_request_refused_before_any_field_ran_is_still_audited(api: Api, engine: Engine) -> None:
    auditor = api.client("audit:read")

    body = read(api, auditor, first=101)  # over the transport's page-size limit

    assert "data" not in body
    [event] = _trail(engine, "graphql:query")
    assert (event.outcome, event.reason, event.operation) == ("error", "bad_request", "Trail")


def test_a_force_bound_auditor_reads_its_own_force(api: Api, engine: Engine) -> None:
    kent_auditor = api.client("audit:read", force="kent")
    api.pusher("kent")
    api.pusher("essex")

    items = read(api, kent_auditor, force="kent")["data"]["auditEvents"]["items"]

    assert {e["actorForce"] for e in items} == {"kent"}
    assert len(items) == 2  # the auditor's own token, and the Kent pusher's
