"""The ``on_operation`` hook: one record per GraphQL request, digests not contents."""

from __future__ import annotations

import hashlib

import orjson

from gateway.graphql import Outcome
from tests.graphql_transport.conftest import Transport


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_records_an_allowed_query(transport: Transport) -> None:
    query = "query Greet($n: String!) { hello(name: $n) }"
    response = transport.post(query, variables={"n": "Kent"})
    [record] = transport.records
    assert record.outcome is Outcome.ALLOWED
    assert record.operation_name == "Greet"
    assert record.operation_type == "query"
    assert record.method == "POST"
    assert record.status_code == 200
    assert record.error_codes == ()
    assert record.query_sha256 == sha256(query.encode())
    assert record.variables_sha256 == sha256(orjson.dumps({"n": "Kent"}))
    assert record.response_sha256 == sha256(response.content)
    assert record.request_id == response.headers["x-request-id"]
    assert record.principal is not None
    assert record.purpose == "performance-monitoring"
    assert 0 < record.duration_seconds < 5


def test_the_response_digest_of_pre_serialised_values_is_the_bodys(
    transport: Transport,
) -> None:
    """Values the context lists as embedded are hashed once and their state reused; the
    digest is still the SHA-256 of the exact body, whatever surrounds them."""
    queries = ["{ a: table b: table }", "{ a: table b: table }", '{ hello(name: "x") t: table }']
    hits = transport.endpoint.digests.hits
    for query in queries:
        response = transport.post(query)
        assert response.status_code == 200
        assert transport.records[-1].response_sha256 == sha256(response.content)
    assert transport.endpoint.digests.hits == hits + 1  # the second body: same bytes before


def test_variables_digest_ignores_key_order(transport: Transport) -> None:
    query = "query Q($a: String, $b: String) { x: hello(name: $a) y: hello(name: $b) }"
    transport.post(query, variables={"a": "1", "b": "2"})
    transport.post(query, variables={"b": "2", "a": "1"})
    first, second = transport.records
    assert first.variables_sha256 == second.variables_sha256


def test_records_a_refusal_without_a_token_as_denied(transport: Transport) -> None:
    response = transport.post("{ hello }", token=False)
    [record] = transport.records
    assert record.outcome is Outcome.DENIED
    assert record.status_code == 401
    assert record.error_codes == ("UNAUTHENTICATED",)
    assert record.principal is None
    assert record.query_sha256 is None
    assert record.response_sha256 == sha256(response.content)


def test_records_a_forbidden_field_as_denied(transport: Transport) -> None:
    transport.post("{ hello secret }")
    [record] = transport.records
    assert record.outcome is Outcome.DENIED
    assert record.error_codes == ("FORBIDDEN",)


def test_records_limits_and_malformed_requests_as_errors(transport: Transport) -> None:
    transport.post("{ " + " ".join(f"h{i}: hello" for i in range(31)) + " }")
    transport.http.post(
        "/graphql",
        content=b"{",
        headers={**transport.headers(transport.reader, None), "Content-Type": "application/json"},
    )
    limit, malformed = transport.records
    assert (limit.outcome, limit.status_code, limit.error_codes) == (
        Outcome.ERROR,
        400,
        ("BAD_REQUEST",),
    )
    assert (malformed.outcome, malformed.status_code) == (Outcome.ERROR, 400)


def test_records_an_internal_error(transport: Transport) -> None:
    transport.post("{ boom }")
    [record] = transport.records
    assert record.outcome is Outcome.ERROR
    assert record.error_codes == ("INTERNAL",)


def test_source_unavailable_alone_still_counts_as_allowed(transport: Transport) -> None:
    transport.post("{ partial }")
    [record] = transport.records
    assert record.outcome is Outcome.ALLOWED
    assert record.error_codes == ("SOURCE_UNAVAILABLE",)


def test_no_record_for_the_graphiql_page(transport: Transport) -> None:
    transport.http.get("/graphql", headers={"Accept": "text/html"})
    assert transport.records == []


def test_a_failing_hook_withholds_the_data(transport: Transport) -> None:
    transport.hook_failures.append(True)
    response = transport.post("{ hello }")
    assert response.status_code == 500
    assert "Hello" not in response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL"
    assert len(transport.records) == 1
