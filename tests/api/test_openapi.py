"""``GET /openapi.json``: public, valid OpenAPI 3.1, in step with the routes and the answers."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError
from sqlalchemy import Engine
from starlette.routing import Route

from gateway.app import create_app
from gateway.forces_config import ForcesConfig
from gateway.routes import openapi
from gateway.services import Services
from gateway.settings import Settings
from tests.api.conftest import Api, make_settings

FORCE = "kent"
CSV = (Path(__file__).resolve().parents[2] / "docs" / "examples" / "standard.csv").read_bytes()


def _response_schema(doc: dict[str, Any], path: str, method: str, status: str) -> Any:
    content = doc["paths"][path][method]["responses"][status]["content"]
    schema = next(iter(content.values()))["schema"]
    # OpenAPI 3.1 schemas are JSON Schema 2020-12: refs resolve against the components.
    return {"components": doc["components"], **schema}


def test_the_document_is_public_and_valid_openapi_3_1(api: Api) -> None:
    response = api.http.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    doc = response.json()
    assert doc["openapi"].startswith("3.1")
    validate(doc)  # raises on any violation of the OpenAPI 3.1 schema
    assert doc["servers"] == [{"url": "http://127.0.0.1:8000"}]
    push = doc["paths"]["/v1/forces/{force}/submissions"]["post"]
    assert {"text/csv", "application/json", "application/x-ndjson"} <= set(
        push["requestBody"]["content"]
    )
    assert {"201", "200", "400", "401", "403", "409", "413", "415", "422"} <= set(push["responses"])
    assert push["security"] == [{"oauth2": ["records:write"]}, {"bearerToken": ["records:write"]}]
    assert doc["paths"]["/healthz"]["get"]["security"] == []


def test_the_validator_rejects_a_broken_document(api: Api) -> None:
    doc = api.http.get("/openapi.json").json()
    doc["paths"]["/healthz"]["get"]["responses"] = "none"
    with pytest.raises(OpenAPIValidationError):
        validate(doc)


def _node_app(settings: Settings, engine: Engine) -> Any:
    node = dataclasses.replace(settings, node_force="cleveland")
    return create_app(node, services=Services(settings=node, engine=engine, forces=ForcesConfig()))


def test_every_route_has_an_operation_and_every_operation_a_route(
    api: Api, engine: Engine, tmp_path: Path
) -> None:
    gateway_routes = openapi.route_methods(api.http.app.routes)  # type: ignore[attr-defined]
    node_app = _node_app(make_settings("sqlite://", tmp_path), engine)
    node_routes = openapi.route_methods(node_app.routes)
    declared = {(op.method, op.path) for op in openapi.operations(Settings().purposes)}
    assert gateway_routes - declared == set()
    assert node_routes - declared == set()
    assert declared - (gateway_routes | node_routes) == set()
    served = api.http.get("/openapi.json").json()["paths"]
    assert {(m, p) for p, ops in served.items() for m in ops} == gateway_routes
    assert "/federation/v1/answer" not in served
    assert all(isinstance(r, Route) for r in node_app.routes)


def test_real_answers_match_the_documented_schemas(api: Api) -> None:
    doc = api.http.get("/openapi.json").json()
    pusher = api.pusher(FORCE)
    headers = {**pusher.headers, "Content-Type": "text/csv", "Idempotency-Key": "openapi-1"}
    path = "/v1/forces/{force}/submissions"
    created = api.http.post(f"/v1/forces/{FORCE}/submissions", content=CSV, headers=headers)
    assert created.status_code == 201, created.text
    jsonschema.validate(created.json(), _response_schema(doc, path, "post", "201"))
    refused = api.http.post(f"/v1/forces/{FORCE}/submissions", content=b"x", headers=headers)
    assert refused.status_code == 409
    jsonschema.validate(refused.json(), _response_schema(doc, path, "post", "409"))
    page = api.http.get(f"/v1/forces/{FORCE}/submissions", headers=pusher.headers)
    jsonschema.validate(page.json(), _response_schema(doc, path, "get", "200"))
    anonymous = api.http.get(f"/v1/forces/{FORCE}/submissions")
    assert anonymous.status_code == 401
    jsonschema.validate(anonymous.json(), _response_schema(doc, path, "get", "401"))
    token = api.http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(pusher.client_id, pusher.secret),
    )
    jsonschema.validate(token.json(), _response_schema(doc, "/oauth/token", "post", "200"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"items": []}, _response_schema(doc, path, "get", "200"))
