"""GraphQL and CSV audit events say what was disclosed: forces, periods, sizes, digests."""

from __future__ import annotations

import csv
import hashlib
import io
from typing import Any

import orjson
from sqlalchemy import Engine

from gateway.audit import EventFilter, StoredEvent, digest_operation, query_events
from tests.api.conftest import Api
from tests.api.test_graphql_api import seed

TABLE = """
query KentAndEssex($forces: [ID!]) {
  indicatorTable(indicators: ["recorded_offences"], forces: $forces,
                 granularity: MONTH, from: "2024-05-01", to: "2024-06-01") {
    cells { force group period { label } value suppressed }
    suppressedCells
    coverage { included }
  }
}
"""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _events(engine: Engine, action: str) -> list[StoredEvent]:
    with engine.connect() as conn:
        return list(query_events(conn, EventFilter(action=action)).events)


def test_a_graphql_query_records_what_it_disclosed(api: Api, engine: Engine) -> None:
    seed(api)
    analyst = api.client("indicators:read")
    variables: dict[str, Any] = {"forces": ["kent", "essex"]}
    response = api.http.post(
        "/graphql",
        json={"query": TABLE, "variables": variables, "operationName": "KentAndEssex"},
        headers={**analyst.headers, "Soteria-Purpose": "research; RQ-9"},
    )
    assert response.status_code == 200
    table = response.json()["data"]["indicatorTable"]

    [event] = _events(engine, "indicators:query")
    cells = table["cells"]
    assert (event.outcome, event.operation, event.client_id) == (
        "allowed",
        "KentAndEssex",
        analyst.client_id,
    )
    assert (event.purpose_code, event.purpose_text) == ("research", "RQ-9")
    assert event.forces == tuple(sorted(table["coverage"]["included"]))
    assert event.periods == ("2024-05", "2024-06")
    assert event.rows_returned == len(cells)
    assert event.cells_returned == sum(1 for c in cells if c["value"] is not None)
    assert event.cells_suppressed == table["suppressedCells"]
    assert (event.cells_suppressed or 0) > 0  # essex's 4 records are below the threshold
    assert event.response_sha256 == _sha256(response.content)
    assert event.query_sha256 == digest_operation(
        _sha256(TABLE.encode()), _sha256(orjson.dumps(variables, option=orjson.OPT_SORT_KEYS))
    )
    assert event.request_id == response.headers["x-request-id"]
    assert event.client_address == "testclient"


def test_a_read_without_a_purpose_is_recorded_with_the_reason(api: Api, engine: Engine) -> None:
    analyst = api.client("indicators:read")
    response = api.http.post(
        "/graphql", json={"query": TABLE}, headers={**analyst.headers, "Accept": "application/json"}
    )
    assert response.status_code == 400
    assert response.json() == {"errors": [response.json()["errors"][0]]}  # no data at all
    assert response.json()["errors"][0]["extensions"]["code"] == "PURPOSE_REQUIRED"

    [event] = _events(engine, "indicators:query")
    assert (event.outcome, event.reason, event.rows_returned, event.forces) == (
        "error",
        "purpose_missing",
        None,
        (),
    )


def test_a_csv_export_of_quarters_records_what_it_disclosed(api: Api, engine: Engine) -> None:
    seed(api)
    analyst = api.client("indicators:read")
    response = api.http.get(
        "/v1/indicators.csv",
        params={
            "granularity": "QUARTER",
            "from": "2024-04-01",
            "to": "2024-07-01",
            "indicators": "recorded_offences",
            "forces": "kent,surrey",
        },
        headers={**analyst.headers, "Soteria-Purpose": "performance-monitoring"},
    )
    assert response.status_code == 200
    exported = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))

    [event] = _events(engine, "indicators:export")
    assert event.outcome == "allowed"
    assert event.periods == ("2024/25_Q1", "2024/25_Q2")  # labels with spaces as "_"
    assert event.forces == ("kent", "surrey")
    assert event.rows_returned == len(exported)
    assert event.cells_returned == sum(1 for r in exported if r["value"])
    assert event.cells_suppressed == sum(1 for r in exported if r["suppressed"] == "true")
    assert event.response_sha256 == _sha256(response.content)


def test_a_graphql_push_records_the_change_in_its_transaction(api: Api, engine: Engine) -> None:
    pusher = api.pusher("kent")
    mutation = """
    mutation Push($records: [RecordInput!]!) {
      submitRecords(force: "kent", idempotencyKey: "g1", records: $records) {
        receipt { rows } errorCount
      }
    }
    """
    record = {"crimeRef": "G1", "offenceCode": "19C", "recordedDate": "2024-05-02"}
    response = api.http.post(
        "/graphql",
        json={"query": mutation, "variables": {"records": [record]}},
        headers=pusher.headers,
    )
    assert response.json()["data"]["submitRecords"]["receipt"]["rows"] == 1

    [change] = _events(engine, "submission:create")
    [request] = _events(engine, "graphql:mutation")
    assert (change.forces, change.rows_returned, change.request_id) == (
        ("kent",),
        1,
        request.request_id,
    )
    assert (request.outcome, request.forces, request.operation) == ("allowed", ("kent",), "Push")
    assert change.seq < request.seq
