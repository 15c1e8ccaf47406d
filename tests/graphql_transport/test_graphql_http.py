"""GraphQL over HTTP: methods, media types and malformed requests."""

from __future__ import annotations

import time
from collections import Counter

import anyio
import httpx
import pytest
from starlette.routing import Route

from gateway.graphql import graphql_routes
from tests.graphql_transport.conftest import GRAPHQL_RESPONSE, Transport
from tests.graphql_transport.schema_fixture import RequestContext, build_schema

JSON = "application/json"


def test_post_answers_with_graphql_response_media_type(transport: Transport) -> None:
    response = transport.post("{ hello }")
    assert response.status_code == 200
    assert response.headers["content-type"] == f"{GRAPHQL_RESPONSE}; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {"data": {"hello": "Hello, world!"}}


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        (JSON, JSON),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE}, {JSON};q=0.9", GRAPHQL_RESPONSE),
        (f"{JSON}, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE};q=0.5, {JSON}", JSON),
        ("text/html, */*;q=0.8", JSON),
    ],
)
def test_honours_accept(transport: Transport, accept: str | None, expected: str) -> None:
    response = transport.post("{ hello }", accept=accept)
    assert response.status_code == 200
    assert response.headers["content-type"] == f"{expected}; charset=utf-8"


def test_refuses_an_accept_without_json_with_406(transport: Transport) -> None:
    response = transport.post("{ hello }", accept="text/plain, application/xml")
    assert response.status_code == 406
    assert response.json()["code"] == "not_acceptable"
    assert transport.calls.total() == 0


def test_get_runs_a_query_with_json_variables(transport: Transport) -> None:
    params = {"query": "query Hi($n: String!) { hello(name: $n) }", "variables": '{"n": "Kent"}'}
    response = transport.get(params)
    assert response.status_code == 200
    assert response.json() == {"data": {"hello": "Hello, Kent!"}}


def test_get_mutation_is_405_with_allow_post_and_nothing_runs(transport: Transport) -> None:
    for accept in (GRAPHQL_RESPONSE, JSON):
        response = transport.get({"query": "mutation { touch }"}, accept=accept)
        assert response.status_code == 405
        assert response.headers["allow"] == "POST"
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    named = {"query": "query A { hello } mutation B { touch }", "operationName": "B"}
    assert transport.get(named).status_code == 405
    assert transport.calls.total() == 0


def test_post_runs_a_mutation(transport: Transport) -> None:
    response = transport.post("mutation { touch }")
    assert response.json() == {"data": {"touch": 1}}


def test_other_methods_are_405(transport: Transport) -> None:
    response = transport.http.put("/graphql", headers=transport.headers(transport.reader, None))
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        (None, 415),
        ("text/plain", 415),
        ("application/graphql", 415),
        ("application/x-www-form-urlencoded", 415),
        ("application/json; charset=latin-1", 415),
        ("application/json; charset=utf-8", 200),
        ("Application/JSON", 200),
    ],
)
def test_post_content_types(transport: Transport, content_type: str | None, status: int) -> None:
    headers = transport.headers(transport.reader, GRAPHQL_RESPONSE)
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = transport.http.post("/graphql", content=b'{"query": "{ hello }"}', headers=headers)
    assert response.status_code == status


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b'{ "not a JSON',
        b'["query"]',
        b'{"notquery": "{ hello }"}',
        b'{"query": 1}',
        b'{"query": "{ hello }", "operationName": 0}',
        b'{"query": "{ hello }", "variables": "x"}',
        b'{"query": "{ hello }", "variables": ["x"]}',
        b'{"query": "{ hello }", "extensions": false}',
    ],
)
def test_malformed_requests_are_400_whatever_the_media_type(
    transport: Transport, body: bytes
) -> None:
    for accept in (GRAPHQL_RESPONSE, JSON):
        headers = {**transport.headers(transport.reader, accept), "Content-Type": JSON}
        response = transport.http.post("/graphql", content=body, headers=headers)
        assert response.status_code == 400, body
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
        assert "data" not in response.json()
    assert transport.calls.total() == 0


def test_body_over_the_limit_is_413(transport: Transport) -> None:
    big = b'{"query": "{ hello }", "variables": {"x": "' + b"a" * 300_000 + b'"}}'
    headers = {**transport.headers(transport.reader, GRAPHQL_RESPONSE), "Content-Type": JSON}
    response = transport.http.post("/graphql", content=big, headers=headers)
    assert response.status_code == 413
    assert transport.calls.total() == 0


def test_null_parameters_and_unknown_extensions_are_accepted(transport: Transport) -> None:
    body = {"query": "{ hello }", "variables": None, "operationName": None, "extensions": {"a": 1}}
    headers = transport.headers(transport.reader, GRAPHQL_RESPONSE)
    response = transport.http.post("/graphql", json=body, headers=headers)
    assert response.json() == {"data": {"hello": "Hello, world!"}}


def test_resolvers_run_in_a_worker_thread(transport: Transport) -> None:
    response = transport.post("{ thread }")
    assert response.json()["data"]["thread"] != "MainThread"
    assert "AnyIO worker thread" in response.json()["data"]["thread"]


def test_a_slow_query_does_not_block_the_event_loop(transport: Transport) -> None:
    app = transport.http.app
    headers = {**transport.headers(transport.reader, GRAPHQL_RESPONSE)}
    finished: dict[str, float] = {}

    async def call(name: str, query: str) -> None:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000"
        ) as client:
            response = await client.post("/graphql", json={"query": query}, headers=headers)
            assert response.status_code == 200
        finished[name] = time.perf_counter()

    async def both() -> None:
        async with anyio.create_task_group() as group:
            group.start_soon(call, "slow", "{ slow(seconds: 0.5) }")
            await anyio.sleep(0.05)
            group.start_soon(call, "fast", "{ hello }")

    anyio.run(both)
    assert finished["fast"] < finished["slow"]


def test_graphql_routes_gives_the_endpoint_and_the_asset_route() -> None:
    routes = graphql_routes(build_schema(Counter()), RequestContext)
    assert [(r.path, r.name) for r in routes if isinstance(r, Route)] == [
        ("/graphql", "graphql"),
        ("/graphiql/{name}", "graphiql-asset"),
    ]
