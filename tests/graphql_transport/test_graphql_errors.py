"""What clients are told: authentication, authorisation, expected and unexpected errors."""

from __future__ import annotations

import logging

import orjson
import pytest

from tests.graphql_transport.conftest import Transport
from tests.graphql_transport.schema_fixture import BIG_TABLE, LEAKY_MESSAGE, SECRET

INTROSPECTION = "{ __schema { queryType { name } } }"


@pytest.mark.parametrize("query", ["{ hello }", INTROSPECTION, "{ __typename }", "{"])
def test_refuses_requests_without_a_token_before_anything(transport: Transport, query: str) -> None:
    documents = transport.endpoint.documents
    seen = documents.hits + documents.misses
    response = transport.post(query, token=False)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="soteria"'
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "missing_token"
    assert transport.calls.total() == 0
    assert documents.hits + documents.misses == seen  # not even parsed


def test_refuses_unauthenticated_get_introspection(transport: Transport) -> None:
    response = transport.get({"query": INTROSPECTION}, token=False)
    assert response.status_code == 401
    assert "__schema" not in response.text


def test_refuses_an_invalid_token_with_the_auth_layers_401(transport: Transport) -> None:
    response = transport.post("{ hello }", token="not-a-token")
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert transport.calls.total() == 0


def test_authenticated_introspection_works(transport: Transport) -> None:
    response = transport.post(INTROSPECTION)
    assert response.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


def test_forbidden_field_beside_data_is_200_with_partial_data(transport: Transport) -> None:
    response = transport.post("{ hello secret }")
    assert response.status_code == 200
    body = response.json()
    assert body["data"] == {"hello": "Hello, world!", "secret": None}
    assert body["errors"] == [
        {
            "message": "This action requires the scopes: indicators:exact indicators:read",
            "locations": [{"line": 1, "column": 9}],
            "path": ["secret"],
            "extensions": {"code": "FORBIDDEN", "reason": "insufficient_scope"},
        }
    ]
    assert SECRET not in response.text


def test_only_a_denial_and_nothing_disclosed_is_403(transport: Transport) -> None:
    response = transport.post("{ secret }")
    assert response.status_code == 403
    assert "data" not in response.json()
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert response.headers["www-authenticate"].startswith(
        'Bearer realm="soteria", error="insufficient_scope"'
    )


def test_the_right_scope_sees_the_protected_field(transport: Transport) -> None:
    response = transport.post("{ secret }", token=transport.exact)
    assert response.json() == {"data": {"secret": SECRET}}


def test_unexpected_errors_are_masked_with_the_request_id(
    transport: Transport, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="gateway.graphql.errors"):
        response = transport.post("{ hello boom }")
    assert response.status_code == 200
    request_id = response.headers["x-request-id"]
    body = response.json()
    assert body["data"] == {"hello": "Hello, world!", "boom": None}
    assert body["errors"] == [
        {
            "message": f"An internal error occurred. Quote request id {request_id} to support.",
            "locations": [{"line": 1, "column": 9}],
            "path": ["boom"],
            "extensions": {"code": "INTERNAL", "requestId": request_id},
        }
    ]
    for leak in ("SELECT", "records", "/srv", ".py", "Traceback", "RuntimeError"):
        assert leak not in response.text
    assert any(LEAKY_MESSAGE in record.getMessage() or record.exc_info for record in caplog.records)
    assert request_id in caplog.text


def test_bad_request_error_names_the_argument(transport: Transport) -> None:
    response = transport.post('{ period(value: "soon") }')
    assert response.status_code == 200
    assert response.json()["errors"][0] == {
        "message": "The period must look like 2024-Q1.",
        "locations": [{"line": 1, "column": 3}],
        "path": ["period"],
        "extensions": {"code": "BAD_REQUEST", "argument": "value"},
    }


def test_expected_foreign_errors_show_their_message(transport: Transport) -> None:
    response = transport.post('{ foreign(kind: "mapped") }')
    assert response.json()["errors"][0]["message"] == "There is no force 'atlantis'."
    assert response.json()["errors"][0]["extensions"] == {"code": "BAD_REQUEST"}


def test_other_value_errors_are_still_masked(transport: Transport) -> None:
    response = transport.post('{ foreign(kind: "plain") }')
    assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL"
    assert LEAKY_MESSAGE not in response.text


def test_reported_source_unavailable_keeps_the_data(transport: Transport) -> None:
    response = transport.post("{ partial }")
    assert response.status_code == 200
    assert response.json() == {
        "data": {"partial": ["avon-and-somerset", "bedfordshire"]},
        "errors": [
            {
                "message": "Data for force kent is unavailable: the source timed out.",
                "locations": [{"line": 1, "column": 3}],
                "path": ["partial"],
                "extensions": {
                    "code": "SOURCE_UNAVAILABLE",
                    "force": "kent",
                    "reason": "the source timed out",
                },
            }
        ],
    }


def test_errors_shaped_by_the_application_are_passed_on(transport: Transport) -> None:
    response = transport.post("{ shaped }")
    assert response.status_code == 200
    assert response.json() == {
        "data": {"shaped": ["avon-and-somerset"]},
        "errors": [
            {
                "message": "Data for force kent is unavailable: timed out.",
                "extensions": {"code": "SOURCE_UNAVAILABLE", "force": "kent"},
            }
        ],
    }


def test_prebuilt_json_payload_is_copied_into_the_response(transport: Transport) -> None:
    response = transport.post("{ table plainJson }")
    assert response.status_code == 200
    assert BIG_TABLE in response.content
    assert response.json()["data"]["table"] == orjson.loads(BIG_TABLE)
    assert response.json()["data"]["plainJson"] == {"a": [1, 2, {"b": None}]}


def test_json_payload_is_output_only(transport: Transport) -> None:
    response = transport.post("query ($x: JSONPayload) { hello }", variables={"x": {}})
    assert response.status_code == 400


def test_context_factory_denial_is_answered_with_its_status(transport: Transport) -> None:
    response = transport.post("{ hello }", extra={"X-Test-Context": "deny"})
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"] == {
        "code": "FORBIDDEN",
        "reason": "wrong_force",
    }
    assert transport.calls.total() == 0


def test_context_factory_bad_request_is_400(transport: Transport) -> None:
    response = transport.post("{ hello }", extra={"X-Test-Context": "bad"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "The Soteria-Purpose header is missing."


def test_context_factory_crash_is_a_masked_500(transport: Transport) -> None:
    response = transport.post("{ hello }", extra={"X-Test-Context": "crash"})
    assert response.status_code == 500
    assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL"
    assert LEAKY_MESSAGE not in response.text
