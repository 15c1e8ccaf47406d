"""Spans, trace headers and metrics of real requests: a push, a GraphQL table, refusals.

Through the HTTP API with real tokens and the real database (SQLite and PostgreSQL); the
spans are those an OTLP exporter would send, caught in memory.
"""

from __future__ import annotations

import json
import re

import httpx
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from sqlalchemy import Engine, text
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from gateway import telemetry
from gateway.audit import EventFilter, StoredEvent, query_events
from gateway.request_tracing import TracedStarlette
from schema.record import FIELD_NAMES
from tests.api.conftest import Api
from tests.api.test_push_path import csv_body, push
from tests.telemetry.conftest import (
    by_name,
    metric_points,
    one,
    parent_of,
    span_id,
    trace_id,
)

FORCE = "kent"
TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-0[0-3]")
# Values of the pushed cases: none of them may reach a span, an event or an attribute.
CRIME_REFS = [f"CRQX{i}7731" for i in range(12)]
SUSPECT_REFS = [f"SUSZW{i}0042" for i in range(12)]
CASE_DATES = ["2023-02-11", "2023-03-07", "2023-03-09", "2023-04-19", "2023-05-02T10:17:00"]
TABLE = """
query Table {
  indicatorTable(indicators: ["recorded_offences"], forces: ["kent"], granularity: MONTH,
                 from: "2023-01-01", to: "2023-06-01") {
    cells { force period { label } value suppressed }
  }
}
"""


def case_row(i: int, *, offence: str = "19C") -> str:
    values = dict.fromkeys(FIELD_NAMES, "")
    values.update(
        crime_ref=CRIME_REFS[i],
        offence_code=offence,
        offence_date=CASE_DATES[0],
        reported_date=CASE_DATES[1],
        recorded_date=CASE_DATES[2],
        suspect_ref=SUSPECT_REFS[i],
        suspect_identified_date=CASE_DATES[3],
        updated_at=CASE_DATES[4] + "+00:00",
    )
    return ",".join(values[name] for name in FIELD_NAMES)


def ids(response: httpx.Response) -> tuple[str, str]:
    """(trace id, span id) from ``traceparent``, checked against ``Server-Timing``."""
    match = TRACEPARENT.fullmatch(response.headers["traceparent"])
    assert match is not None, response.headers["traceparent"]
    assert response.headers["server-timing"] == (
        f'traceparent;desc="{response.headers["traceparent"]}"'
    )
    return match[1], match[2]


def audit_events(engine: Engine, action: str) -> list[StoredEvent]:
    with engine.connect() as conn:
        page = query_events(conn, EventFilter(), first=200)
    return [event for event in page.events if event.action == action]


def server_span(exported: tuple[ReadableSpan, ...], trace: str) -> ReadableSpan:
    found = [
        s
        for s in exported
        if s.kind is SpanKind.SERVER and f"{trace_id(s):032x}" == trace and s.parent is None
    ]
    assert len(found) == 1, [s.name for s in found]
    return found[0]


def graphql(api: Api, token: str, **headers: str) -> httpx.Response:
    response: httpx.Response = api.http.post(
        "/graphql",
        json={"query": TABLE},
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "Soteria-Purpose": "performance-monitoring",
            **headers,
        },
    )
    return response


def test_a_push_is_one_trace_of_stages_with_counts_and_its_audit_event_links_to_it(
    api: Api, engine: Engine, spans: InMemorySpanExporter
) -> None:
    pusher = api.pusher(FORCE)
    spans.clear()
    response = push(api, csv_body(*map(case_row, range(12))), key="p1", token=pusher.token)
    assert response.status_code == 201, response.text
    trace, request_span = ids(response)
    exported = spans.get_finished_spans()

    server = server_span(exported, trace)
    assert f"{span_id(server):016x}" == request_span
    assert server.name == "POST /v1/forces/{force}/submissions"
    assert server.attributes is not None
    assert server.attributes["http.route"] == "/v1/forces/{force}/submissions"
    assert server.attributes["http.response.status_code"] == 201
    ingest = one(exported, "ingest")
    assert parent_of(ingest) == span_id(server)
    assert ingest.attributes is not None
    assert {k: ingest.attributes[k] for k in ("soteria.force", "soteria.outcome")} == {
        "soteria.force": FORCE,
        "soteria.outcome": "accepted",
    }
    assert ingest.attributes["soteria.rows"] == 12
    assert ingest.attributes["soteria.rows.inserted"] == 12
    streamed = one(exported, "ingest.parse_validate_stage")
    assert parent_of(streamed) == span_id(ingest)
    assert streamed.attributes is not None
    assert streamed.attributes["soteria.rows"] == 12
    merges = by_name(exported, "ingest.merge")
    assert merges
    assert all(parent_of(m) in {span_id(ingest), span_id(streamed)} for m in merges)
    rollups = by_name(exported, "ingest.rollup")
    assert len(rollups) == 2 * len(merges)
    assert {parent_of(r) for r in rollups} == {span_id(m) for m in merges}
    commit = one(exported, "ingest.commit")
    assert parent_of(commit) == span_id(ingest)
    statements = [s for s in exported if s.kind is SpanKind.CLIENT]
    assert statements, "SQL statements are traced"
    assert {trace_id(s) for s in statements} == {trace_id(server)}
    under_commit = [s for s in statements if parent_of(s) == span_id(commit)]
    assert any("INSERT INTO audit" in _statement(s) for s in under_commit)

    [event] = audit_events(engine, "submission:create")
    assert (event.trace_id, event.span_id) == (trace, request_span)


def _statement(span: ReadableSpan) -> str:
    attributes = span.attributes or {}
    return str(attributes.get("db.statement") or attributes.get("db.query.text") or "")


def test_no_case_value_reaches_a_span_of_a_push_a_refusal_or_a_query(
    api: Api, spans: InMemorySpanExporter
) -> None:
    pusher = api.pusher(FORCE)
    spans.clear()
    assert push(api, csv_body(*map(case_row, range(10))), key="a", token=pusher.token).is_success
    # A refused push: its errors quote the rows, the refusal's spans must not.
    refused = push(
        api, csv_body(case_row(10, offence="NOPE"), case_row(11)), key="b", token=pusher.token
    )
    assert refused.status_code == 422
    assert "NOPE" in refused.text  # the error report itself quotes the value
    analyst = api.client("indicators:read indicators:exact")
    table = graphql(api, analyst.token)
    assert table.status_code == 200, table.text
    assert {c["value"] for c in table.json()["data"]["indicatorTable"]["cells"]} >= {10}

    exported = spans.get_finished_spans()
    blob = json.dumps([json.loads(span.to_json()) for span in exported])
    statements = [_statement(s) for s in exported if s.kind is SpanKind.CLIENT]
    inserts = [s for s in statements if s.startswith("INSERT") and " VALUES " in s]
    assert inserts
    assert all("?" in s or "%(" in s for s in inserts)  # placeholders, never the values
    for needle in (*CRIME_REFS, *SUSPECT_REFS, *CASE_DATES, "NOPE"):
        assert needle not in blob, needle
    assert '"soteria.force": "kent"' in blob  # the spans were exported, attributes and all


def test_graphql_parse_validate_execute_and_the_source_call_nest_under_the_request(
    api: Api, engine: Engine, spans: InMemorySpanExporter
) -> None:
    assert push(api, csv_body(*map(case_row, range(3))), key="g", force=FORCE).is_success
    analyst = api.client("indicators:read")
    spans.clear()
    incoming_trace, incoming_span = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    response = graphql(api, analyst.token, traceparent=f"00-{incoming_trace}-{incoming_span}-01")
    assert response.status_code == 200, response.text
    trace, request_span = ids(response)
    assert trace == incoming_trace  # the caller's trace goes on
    exported = spans.get_finished_spans()

    server = [s for s in exported if s.kind is SpanKind.SERVER]
    assert [s.name for s in server] == ["POST /graphql"]
    assert server[0].parent is not None
    assert server[0].parent.is_remote
    assert f"{server[0].parent.span_id:016x}" == incoming_span
    assert f"{span_id(server[0]):016x}" == request_span
    parse, validate, execute = (
        one(exported, f"graphql.{n}") for n in ("parse", "validate", "execute")
    )
    assert {parent_of(parse), parent_of(validate), parent_of(execute)} == {span_id(server[0])}
    assert execute.attributes == {
        "graphql.operation.type": "query",
        "graphql.operation.name": "Table",
        "soteria.error_count": 0,
    }
    call = one(exported, "source.call")
    assert parent_of(call) == span_id(execute)
    assert call.attributes is not None
    assert call.attributes["soteria.source"] == "local"
    assert call.attributes["soteria.forces"] == (FORCE,)
    assert call.attributes["soteria.outcome"] == "ok"
    assert call.attributes["soteria.cache.misses"] == 1
    assert any(parent_of(s) == span_id(call) for s in exported if s.kind is SpanKind.CLIENT)

    [event] = audit_events(engine, "indicators:query")
    assert (event.trace_id, event.span_id) == (incoming_trace, request_span)

    spans.clear()
    again = graphql(api, analyst.token)
    assert ids(again)[0] != incoming_trace  # a new trace without a traceparent
    exported = spans.get_finished_spans()
    assert not by_name(exported, "graphql.parse")  # the document came from the cache
    assert one(exported, "source.call").attributes["soteria.cache.hits"] == 1  # type: ignore[index]


def test_every_response_carries_the_trace_even_unrouted_and_refused_ones(
    api: Api, engine: Engine, spans: InMemorySpanExporter
) -> None:
    spans.clear()
    missing = api.http.get("/no/such/CRQX07731")
    assert missing.status_code == 404
    trace, _ = ids(missing)
    server = server_span(spans.get_finished_spans(), trace)
    assert server.name == "GET"  # no route, and never the path a client sent
    assert "CRQX07731" not in server.to_json()

    denied = api.http.post("/graphql", json={"query": "{ forces { code } }"})
    assert denied.status_code == 401
    trace, span = ids(denied)
    with engine.connect() as conn:
        page = query_events(conn, EventFilter(), first=200)
    [event] = [e for e in page.events if e.trace_id == trace]  # the refusal's one event
    assert (event.outcome, event.span_id) == ("denied", span)


def test_request_and_submission_metrics(api: Api, spans: InMemorySpanExporter) -> None:
    route = frozenset(
        {
            ("http.request.method", "POST"),
            ("http.route", "/v1/forces/{force}/submissions"),
            ("http.response.status_code", 201),
        }
    )
    accepted = frozenset({("soteria.force", "essex"), ("soteria.outcome", "accepted")})
    refused = frozenset({("soteria.force", "essex"), ("soteria.outcome", "refused")})
    before = {
        name: metric_points(name)
        for name in (
            "http.server.request.duration",
            "soteria.submissions",
            "soteria.submission.rows",
        )
    }
    pusher = api.pusher("essex")
    assert (
        push(
            api, csv_body(*map(case_row, range(5))), key="m1", force="essex", token=pusher.token
        ).status_code
        == 201
    )
    bad = csv_body(case_row(5, offence="NOPE"), case_row(6), case_row(7))
    assert push(api, bad, key="m2", force="essex", token=pusher.token).status_code == 422

    def delta(name: str, key: frozenset[tuple[str, object]]) -> float:
        return metric_points(name).get(key, 0) - before[name].get(key, 0)

    assert delta("http.server.request.duration", route) == 1
    assert delta("soteria.submissions", accepted) == 1
    assert delta("soteria.submissions", refused) == 1
    assert delta("soteria.submission.rows", accepted) == 5
    assert delta("soteria.submission.rows", refused) == 3


def test_a_failed_statement_keeps_its_error_class_not_the_database_message(
    engine: Engine, spans: InMemorySpanExporter
) -> None:
    installed = telemetry.installed()
    assert installed is not None
    installed.instrument_engine(engine)
    spans.clear()
    failed = False
    with engine.connect() as conn:
        try:  # PostgreSQL quotes the value it cannot cast in its message
            conn.execute(
                text("SELECT CAST(:v AS INTEGER) + json_array_length(:v)"), {"v": "CRQX07731"}
            )
        except Exception:  # noqa: BLE001 - either database refuses it, in its own words
            failed = True
    assert failed
    [statement] = [s for s in spans.get_finished_spans() if "CAST" in _statement(s)]
    assert statement.status.status_code is StatusCode.ERROR
    assert statement.status.description is None
    assert statement.attributes is not None
    assert statement.attributes["error.type"]
    assert "CRQX07731" not in statement.to_json()


def test_an_unexpected_error_still_answers_with_the_trace_and_marks_the_span(
    spans: InMemorySpanExporter,
) -> None:
    """The tracing middleware wraps Starlette's error middleware: a 500 carries the ids too."""

    async def boom(request: Request) -> Response:
        raise RuntimeError("crime_ref CRQX07731 broke it")  # a message that quotes a value

    async def masked(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("internal error", status_code=500)

    installed = telemetry.installed()
    assert installed is not None
    app = TracedStarlette(
        installed, routes=[Route("/boom/{id}", boom)], exception_handlers={Exception: masked}
    )
    spans.clear()
    with TestClient(app, raise_server_exceptions=False) as http:
        response = http.get("/boom/1")
    assert response.status_code == 500
    trace, span = ids(response)
    server = server_span(spans.get_finished_spans(), trace)
    assert f"{span_id(server):016x}" == span
    assert server.name == "GET /boom/{id}"
    assert server.status.status_code is StatusCode.ERROR
    assert server.attributes is not None
    assert server.attributes["error.type"] == "RuntimeError"
    assert "CRQX07731" not in server.to_json()
