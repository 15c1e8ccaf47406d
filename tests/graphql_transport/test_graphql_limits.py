"""Limits are checked before execution: each refusal is a 400 and no resolver runs."""

from __future__ import annotations

import time
from typing import Any

import graphql
import pytest

from gateway.graphql import DEFAULT_LIST_CAPS, Limits
from schema import codelists
from schema.indicators.catalogue import CATALOGUE
from tests.graphql_transport.conftest import Transport

JSON = "application/json"


def refusal(transport: Transport, query: str, **kwargs: Any) -> dict[str, Any]:
    response = transport.post(query, **kwargs)
    assert response.status_code == 400, response.text
    body: dict[str, Any] = response.json()
    assert "data" not in body
    assert all(error["extensions"]["code"] == "BAD_REQUEST" for error in body["errors"])
    assert transport.calls.total() == 0, transport.calls
    return body


def nested(levels: int) -> str:
    return "{ nested " + "{ child " * (levels - 1) + "{ name }" + " }" * levels


def test_default_list_caps_match_the_reference_data() -> None:
    assert DEFAULT_LIST_CAPS["forces"] == len(codelists.forces()) == 43
    assert DEFAULT_LIST_CAPS["indicators"] == len(CATALOGUE)


def test_depth_within_the_limit_runs(transport: Transport) -> None:
    response = transport.post(nested(Limits().max_depth - 1))
    assert response.status_code == 200
    assert "errors" not in response.json()


def test_refuses_a_query_too_deep(transport: Transport) -> None:
    body = refusal(transport, nested(11))
    extensions = body["errors"][0]["extensions"]
    assert extensions == {"code": "BAD_REQUEST", "limit": "max_depth", "maximum": 10, "actual": 12}
    assert "12 levels deep; the limit is 10" in body["errors"][0]["message"]


def test_depth_counts_through_fragments(transport: Transport) -> None:
    query = (
        "query { nested { ...A } }"
        " fragment A on Node { child { child { child { ...B } } } }"
        " fragment B on Node { child { child { child { child { child { child { name } } } } } } }"
    )
    body = refusal(transport, query)
    assert body["errors"][0]["extensions"]["limit"] == "max_depth"


def test_undefined_fragment_is_a_validation_error(transport: Transport) -> None:
    body = refusal(transport, "{ nested { ...Missing } }")
    assert body["errors"][0]["message"] == "Unknown fragment 'Missing'."


def test_cyclic_fragments_are_the_standard_validation_error(transport: Transport) -> None:
    query = (
        "{ nested { ...A } }"
        " fragment A on Node { child { ...B } }"
        " fragment B on Node { child { ...A } }"
    )
    body = refusal(transport, query)
    messages = [error["message"] for error in body["errors"]]
    assert any(
        message.startswith("Cannot spread fragment 'A' within itself") for message in messages
    )


def test_self_referencing_fragment_is_refused(transport: Transport) -> None:
    body = refusal(transport, "{ nested { ...A } } fragment A on Node { name ...A }")
    assert "Cannot spread fragment 'A' within itself." in body["errors"][0]["message"]


def test_exponential_fragment_expansion_is_measured_quickly(transport: Transport) -> None:
    # Each fragment spreads the next twice: 2**30 aliased fields if expanded naively.
    fragments = " ".join(
        f"fragment F{i} on Query {{ a{i}: hello ...F{i + 1} ...F{i + 1} }}" for i in range(30)
    )
    query = f"{{ ...F0 }} {fragments} fragment F30 on Query {{ hello }}"
    started = time.perf_counter()
    body = refusal(transport, query)
    assert time.perf_counter() - started < 1.0
    assert body["errors"][0]["extensions"]["limit"] == "max_aliases"
    assert body["errors"][0]["extensions"]["actual"] == 2**30 - 1


def test_refuses_too_many_aliases(transport: Transport) -> None:
    query = "{ " + " ".join(f"h{i}: hello" for i in range(31)) + " }"
    body = refusal(transport, query)
    assert body["errors"][0]["extensions"]["limit"] == "max_aliases"


def test_refuses_a_document_too_large(transport: Transport) -> None:
    query = "{ hello }" + " " * Limits().max_document_bytes
    body = refusal(transport, query)
    assert body["errors"][0]["extensions"]["limit"] == "max_document_bytes"


def test_refuses_too_many_tokens(transport: Transport) -> None:
    query = "{ " + "h " * 4001 + "}"
    body = refusal(transport, query)
    assert "more than 4000 tokens" in body["errors"][0]["message"]


def test_refuses_a_list_argument_over_its_cap(transport: Transport) -> None:
    codes = [f"f{i}" for i in range(44)]
    literal = "[" + ", ".join(f'"{code}"' for code in codes) + "]"
    body = refusal(transport, f"{{ forces(forces: {literal}) }}")
    assert body["errors"][0]["extensions"] == {
        "code": "BAD_REQUEST",
        "limit": "list_caps",
        "maximum": 43,
        "actual": 44,
    }
    query = "query F($c: [String!]) { forces(forces: $c) }"
    refusal(transport, query, variables={"c": codes})
    response = transport.post(query, variables={"c": codes[:43]})
    assert len(response.json()["data"]["forces"]) == 43


def test_refuses_a_page_argument_over_the_maximum(transport: Transport) -> None:
    body = refusal(transport, "{ items(first: 501) { a } }")
    assert body["errors"][0]["extensions"]["limit"] == "max_page_size"


def test_refuses_a_query_too_costly(transport: Transport) -> None:
    query = "{ " + " ".join(f"i{i}: items(first: 500) {{ a b }}" for i in range(14)) + " }"
    body = refusal(transport, query)
    error = body["errors"][0]
    assert error["extensions"]["limit"] == "max_cost"
    assert error["extensions"]["actual"] == 14 * 500 * 3


def test_cost_multiplies_by_variables(transport: Transport) -> None:
    query = "query P($n: Int) { a: items(first: $n) { a b } b: items(first: $n) { a b } }"
    assert transport.post(query, variables={"n": 500}).status_code == 200
    transport.calls.clear()
    many = "query P($n: Int) { " + " ".join(f"i{i}: items(first: $n) {{ a }}" for i in range(21))
    refusal(transport, many + " }", variables={"n": 500})


def test_variable_coercion_failure_is_a_request_error(transport: Transport) -> None:
    body = refusal(transport, "query Q($n: String!) { hello(name: $n) }", variables={"n": None})
    assert "Variable '$n'" in body["errors"][0]["message"]


def test_legacy_json_clients_get_200_for_request_errors(transport: Transport) -> None:
    response = transport.post(nested(12), accept=JSON)
    assert response.status_code == 200
    assert "data" not in response.json()
    assert response.json()["errors"][0]["extensions"]["limit"] == "max_depth"
    assert transport.calls.total() == 0


def test_introspection_query_of_graphiql_fits_the_limits(transport: Transport) -> None:
    from graphql import get_introspection_query

    response = transport.post(get_introspection_query(descriptions=True))
    assert response.status_code == 200
    assert response.json()["data"]["__schema"]["queryType"]["name"] == "Query"


def test_refuses_deeply_nested_introspection(transport: Transport) -> None:
    query = "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }"
    body = refusal(transport, query)
    assert body["errors"][0]["extensions"]["limit"] == "max_introspection_nesting"


def test_documents_are_parsed_once(transport: Transport, monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[str] = []

    def counting_parse(source: str, **kwargs: Any) -> Any:
        parsed.append(source)
        return graphql.parse(source, **kwargs)

    monkeypatch.setattr("gateway.graphql.documents.parse", counting_parse)
    query = "query Cached($n: String!) { hello(name: $n) }"
    hits = transport.endpoint.documents.hits
    for name in ("a", "b", "c"):
        assert transport.post(query, variables={"n": name}).json()["data"]["hello"] == (
            f"Hello, {name}!"
        )
    assert parsed == [query]
    assert transport.endpoint.documents.hits == hits + 2


def test_refused_documents_are_cached_too(transport: Transport) -> None:
    query = "{ nested { ...NotThere } }"
    refusal(transport, query)
    hits = transport.endpoint.documents.hits
    refusal(transport, query)
    assert transport.endpoint.documents.hits == hits + 1
