"""Completeness: every request that touches data or credentials leaves exactly one audit
event with the right action and outcome (issue 6), through HTTP with real tokens.

Each step makes one request and then reads every event appended since the previous
step: there must be exactly one, and it must say what happened.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from auth.clients import create_client
from gateway.audit import EventFilter, StoredEvent, query_events, verify
from gateway.audit.models import EVENTS
from tests.api.conftest import Api
from tests.api.test_push_path import csv_body, row

TABLE = """
query Kent($from: Date!) {
  indicatorTable(indicators: ["recorded_offences"], forces: ["kent"], granularity: MONTH,
                 from: $from, to: "2024-06-01") { suppressedCells cells { value } }
}
"""
PURPOSE = {"Soteria-Purpose": "performance-monitoring"}
CSV_QUERY = {"granularity": "MONTH", "from": "2024-05-01", "to": "2024-05-01"}


@dataclass(frozen=True)
class Step:
    name: str
    request: Callable[[], httpx.Response]
    status: int
    action: str
    outcome: str
    reason: str | None = None


def _register(engine: Engine, scopes: str, force: str | None = None) -> tuple[str, str]:
    with Session(engine) as session:
        new = create_client(session, name="completeness", scopes=scopes.split(), force=force)
        session.commit()
    assert new.client_secret is not None
    return new.client_id, new.client_secret


def _last_seq(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.coalesce(func.max(EVENTS.c.seq), 0))).scalar_one())


def _since(engine: Engine, seq: int) -> list[StoredEvent]:
    with engine.connect() as conn:
        return list(query_events(conn, EventFilter(), first=100, after=seq).events)


def test_a_request_mix_leaves_exactly_one_event_per_request(api: Api, engine: Engine) -> None:
    http = api.http
    pusher_id, pusher_secret = _register(engine, "records:write submissions:read", "kent")
    analyst_id, analyst_secret = _register(engine, "indicators:read")
    auditor_id, auditor_secret = _register(engine, "audit:read")
    tokens: dict[str, str] = {}

    def token(name: str, client_id: str, secret: str) -> Callable[[], httpx.Response]:
        def call() -> httpx.Response:
            response: httpx.Response = http.post(
                "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
            )
            tokens[name] = response.json().get("access_token", "")
            return response

        return call

    def bearer(name: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[name]}", **extra}

    def push(key: str, body: bytes, params: str = "") -> Callable[[], httpx.Response]:
        def call() -> httpx.Response:
            headers = bearer("pusher", **{"Idempotency-Key": key, "Content-Type": "text/csv"})
            sent: httpx.Response = http.post(
                f"/v1/forces/kent/submissions{params}", content=body, headers=headers
            )
            return sent

        return call

    def graphql(name: str, variables: dict[str, str], **headers: str) -> httpx.Response:
        sent: httpx.Response = http.post(
            "/graphql",
            json={"query": TABLE, "variables": variables},
            headers=bearer(name, Accept="application/json", **headers),
        )
        return sent

    good = csv_body(row("C1"), row("C2"), row("C3"))
    steps = [
        Step("token issued", token("pusher", pusher_id, pusher_secret), 200,
             "auth:token:issued", "allowed"),
        Step("token refused", token("nobody", analyst_id, "not the secret"), 401,
             "auth:token:denied", "denied", "invalid_client"),
        Step("more tokens", token("analyst", analyst_id, analyst_secret), 200,
             "auth:token:issued", "allowed"),
        Step("and another", token("auditor", auditor_id, auditor_secret), 200,
             "auth:token:issued", "allowed"),
        Step("push accepted", push("p1", good), 201, "submission:create", "allowed"),
        Step("push refused", push("p2", csv_body(row("bad ref"))), 422,
             "submission:refused", "denied", "invalid_rows"),
        Step("dry run", push("p3", good, "?dry_run=true"), 200, "submission:dry_run", "allowed"),
        Step("replay", push("p1", good), 200, "submission:replay", "allowed"),
        Step("push without a key", push("", good), 400,
             "submission:refused", "denied", "bad_request"),
        Step("receipts read",
             lambda: http.get("/v1/forces/kent/submissions", headers=bearer("pusher")), 200,
             "submission:read", "allowed"),
        Step("no token", lambda: http.get("/v1/forces/kent/submissions"), 401,
             "auth:access:denied", "denied", "missing_token"),
        Step("graphql allowed", lambda: graphql("analyst", {"from": "2024-05-01"}, **PURPOSE),
             200, "indicators:query", "allowed"),
        Step("graphql wrong scope", lambda: graphql("pusher", {"from": "2024-05-01"}, **PURPOSE),
             403, "indicators:query", "denied", "insufficient_scope"),
        Step("graphql without a token",
             lambda: http.post("/graphql", json={"query": TABLE}, headers=PURPOSE), 401,
             "graphql:query", "denied", "missing_token"),
        Step("graphql bad argument", lambda: graphql("analyst", {"from": "May"}, **PURPOSE),
             200, "graphql:query", "error", "bad_request"),
        Step("graphql missing purpose", lambda: graphql("analyst", {"from": "2024-05-01"}),
             400, "indicators:query", "error", "purpose_missing"),
        Step("csv export",
             lambda: http.get("/v1/indicators.csv", params=CSV_QUERY,
                              headers=bearer("analyst", **PURPOSE)),
             200, "indicators:export", "allowed"),
        Step("csv export missing purpose",
             lambda: http.get("/v1/indicators.csv", params=CSV_QUERY, headers=bearer("analyst")),
             400, "indicators:export", "error", "purpose_missing"),
        Step("audit read",
             lambda: http.post(
                 "/graphql",
                 json={"query": "{ auditEvents(first: 5) { items { seq } } }"},
                 headers=bearer("auditor", **{"Soteria-Purpose": "audit"}),
             ),
             200, "audit:read", "allowed"),
    ]  # fmt: skip

    for step in steps:
        before = _last_seq(engine)
        response = step.request()
        assert response.status_code == step.status, (step.name, response.text)
        events = _since(engine, before)
        assert len(events) == 1, (step.name, [e.action for e in events])
        [event] = events
        assert (event.action, event.outcome, event.reason) == (
            step.action,
            step.outcome,
            step.reason,
        ), step.name
        assert event.request_id == response.headers["x-request-id"], step.name

    assert verify(engine, {}).ok  # and the trail they made is one sound chain
