"""A small Starlette app with the real auth middleware and tokens, serving a test schema.

The schema has one field per behaviour the transport must handle (a protected field, a
slow one, one raising an unexpected error, one reporting a non-fatal error, a mutation,
a recursive type for depth, a list argument, a page argument, a JSON payload). Every
resolver counts its calls, so a refusal can assert that nothing ran. Tokens are real:
clients are registered in the migrated test database and get their tokens from the
token endpoint.
"""

from __future__ import annotations

import secrets
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.exceptions import StarletteDeprecationWarning
from starlette.middleware import Middleware
from starlette.requests import Request

from adapters.store.engine import immediate_writes
from auth.clients import create_client
from auth.components import build_auth
from auth.errors import WrongForceError
from auth.settings import AuthSettings, RateLimit
from gateway.app import RequestIdMiddleware
from gateway.graphql import (
    BadRequestError,
    ErrorCode,
    GraphQLEndpoint,
    Limits,
    OperationRecord,
)
from tests.conftest import empty_tables
from tests.graphql_transport.schema_fixture import (
    LEAKY_MESSAGE,
    ForeignArgumentError,
    RequestContext,
    build_schema,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

PUBLIC_URL = "http://127.0.0.1:8000"
GRAPHQL_RESPONSE = "application/graphql-response+json"


@dataclass
class Transport:
    """The app under test, its tokens and what its resolvers and hook saw."""

    http: TestClient
    endpoint: GraphQLEndpoint
    calls: Counter[str]
    records: list[OperationRecord]
    reader: str  # indicators:read
    exact: str  # indicators:read indicators:exact
    hook_failures: list[bool] = field(default_factory=list)

    def headers(self, token: str | None, accept: str | None) -> dict[str, str]:
        headers = {"Soteria-Purpose": "performance-monitoring"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if accept is not None:
            headers["Accept"] = accept
        return headers

    def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        operation_name: str | None = None,
        token: str | bool | None = True,
        accept: str | None = GRAPHQL_RESPONSE,
        extra: dict[str, str] | None = None,
    ) -> httpx.Response:
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        if operation_name is not None:
            body["operationName"] = operation_name
        headers = {**self.headers(self._token(token), accept), **(extra or {})}
        response: httpx.Response = self.http.post("/graphql", json=body, headers=headers)
        return response

    def get(
        self,
        params: dict[str, str],
        *,
        token: str | bool | None = True,
        accept: str | None = GRAPHQL_RESPONSE,
    ) -> httpx.Response:
        headers = self.headers(self._token(token), accept)
        response: httpx.Response = self.http.get("/graphql", params=params, headers=headers)
        return response

    def _token(self, token: str | bool | None) -> str | None:
        if token is True:
            return self.reader
        if token is False:
            return None
        return token


def make_context(request: Request) -> RequestContext:
    """The context factory; ``X-Test-Context`` makes it fail, to test how that is answered."""
    failure = request.headers.get("x-test-context")
    if failure == "deny":
        raise WrongForceError()
    if failure == "bad":
        raise BadRequestError("The Soteria-Purpose header is missing.")
    if failure == "crash":
        raise RuntimeError(LEAKY_MESSAGE)
    return RequestContext(request=request)


def _token(http: TestClient, engine: Engine, scopes: list[str]) -> str:
    with Session(engine) as session:
        client = create_client(session, name="graphql transport test", scopes=scopes, force=None)
        session.commit()
    assert client.client_secret is not None
    response = http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client.client_id, client.client_secret),
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def build_transport(engine: Engine, limits: Limits | None = None) -> Iterator[Transport]:
    empty_tables(engine)  # signing keys other tests left behind were sealed with other KEKs
    settings = AuthSettings(
        issuer=PUBLIC_URL,
        audience=f"{PUBLIC_URL}/api",
        token_rate_limit=RateLimit(rate=1000.0, burst=1000),
        api_rate_limit=RateLimit(rate=1000.0, burst=1000),
    )
    auth = build_auth(
        settings,
        session_factory=sessionmaker(immediate_writes(engine)),
        kek=secrets.token_bytes(32),
    )
    calls: Counter[str] = Counter()
    records: list[OperationRecord] = []
    failures: list[bool] = []

    def on_operation(record: OperationRecord) -> None:
        records.append(record)
        if failures and failures[-1]:
            raise RuntimeError("audit store down")

    endpoint = GraphQLEndpoint(
        build_schema(calls),
        make_context,
        limits=limits or Limits(),
        on_operation=on_operation,
        expected_errors={ForeignArgumentError: ErrorCode.BAD_REQUEST},
    )
    app = Starlette(
        routes=[*auth.routes, *endpoint.routes()],
        middleware=[Middleware(RequestIdMiddleware), auth.middleware],
    )
    with TestClient(app, base_url=PUBLIC_URL, raise_server_exceptions=False) as http:
        reader = _token(http, engine, ["indicators:read"])
        exact = _token(http, engine, ["indicators:read", "indicators:exact"])
        yield Transport(http, endpoint, calls, records, reader, exact, failures)


@pytest.fixture(scope="module")
def module_transport(migrated_engine: Engine) -> Iterator[Transport]:
    yield from build_transport(migrated_engine)


@pytest.fixture
def transport(module_transport: Transport) -> Transport:
    module_transport.calls.clear()
    module_transport.records.clear()
    module_transport.hook_failures.clear()
    return module_transport
