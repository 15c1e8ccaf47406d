"""The reusable parts of the OpenAPI document: schemas, security schemes, small builders.

``gateway.routes.openapi`` declares the operations with these; the schemas describe the
JSON the routes really send (``tests/api/test_openapi.py`` validates real answers against
them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auth.client_assertion import ASSERTION_ALGORITHMS
from auth.scopes import SCOPE_DESCRIPTIONS
from gateway.problems import PROBLEM_JSON
from schema.jsonschema import record_json_schema


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def problem_answer(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": ref("Problem")}},
    }


def json_answer(description: str, schema: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": schema}},
        **extra,
    }


def oauth_error_answer(description: str) -> dict[str, Any]:
    return json_answer(description, ref("OAuthError"))


def query_param(
    name: str, description: str, schema: Mapping[str, Any], required: bool = False
) -> Any:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": dict(schema),
    }


def header_param(
    name: str, description: str, schema: Mapping[str, Any], required: bool = False
) -> Any:
    return {**query_param(name, description, schema, required), "in": "header"}


def form_body(schema: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "required": True,
        "content": {"application/x-www-form-urlencoded": {"schema": dict(schema)}},
    }


def schemas(base_url: str) -> dict[str, Any]:
    record = record_json_schema(base_url)
    record.pop("$schema", None)
    return {
        "Problem": {
            "type": "object",
            "description": "RFC 9457 problem details; `code` is stable, `detail` for people.",
            "required": ["type", "title", "status", "code", "detail"],
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer", "minimum": 400, "maximum": 599},
                "code": {"type": "string"},
                "detail": {"type": "string"},
                "errors": {"type": "array", "items": {"type": "object"}},
                "error_count": {"type": "integer"},
                "request_id": {"type": "string"},
            },
        },
        "Receipt": {
            "type": "object",
            "required": ["submission_id", "force", "status", "rows", "content_sha256"],
            "properties": {
                "submission_id": {"type": ["string", "null"]},
                "force": {"type": "string"},
                "status": {"enum": ["accepted", "dry_run"]},
                "received_at": {"type": "string", "format": "date-time"},
                "content_sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                "format": {"type": "string"},
                **{
                    name: {"type": "integer", "minimum": 0}
                    for name in ("rows", "inserted", "updated", "unchanged", "stale")
                },
                "warning_count": {"type": "integer", "minimum": 0},
                "warnings": {"type": "array", "items": {"type": "object"}},
            },
        },
        "ReceiptPage": {
            "type": "object",
            "required": ["items", "next"],
            "properties": {
                "items": {"type": "array", "items": ref("Receipt")},
                "next": {"type": ["string", "null"]},
            },
        },
        "Record": record,
        "Status": {
            "type": "object",
            "required": ["status"],
            "properties": {"status": {"type": "string"}, "revision": {"type": "string"}},
        },
        "GraphQLRequest": {
            "type": "object",
            "required": ["query"],
            "properties": {
                "query": {"type": "string"},
                "operationName": {"type": ["string", "null"]},
                "variables": {"type": ["object", "null"]},
                "extensions": {"type": ["object", "null"]},
            },
        },
        "GraphQLResponse": {
            "type": "object",
            "properties": {
                "data": {"type": ["object", "null"]},
                "errors": {"type": "array", "items": {"type": "object"}},
            },
        },
        "TokenResponse": {
            "type": "object",
            "required": ["access_token", "token_type", "expires_in"],
            "properties": {
                "access_token": {"type": "string"},
                "token_type": {"const": "Bearer"},
                "expires_in": {"type": "integer"},
                "scope": {"type": "string"},
            },
        },
        "Introspection": {
            "type": "object",
            "required": ["active"],
            "properties": {"active": {"type": "boolean"}},
        },
        "OAuthError": {
            "type": "object",
            "required": ["error"],
            "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
        },
        "JWKS": {
            "type": "object",
            "required": ["keys"],
            "properties": {"keys": {"type": "array", "items": {"type": "object"}}},
        },
    }


def security_schemes(base_url: str) -> dict[str, Any]:
    return {
        "oauth2": {
            "type": "oauth2",
            "description": "Client credentials; client_secret_basic, client_secret_post or "
            f"private_key_jwt ({', '.join(ASSERTION_ALGORITHMS)}).",
            "flows": {
                "clientCredentials": {
                    "tokenUrl": f"{base_url}/oauth/token",
                    "scopes": {s.value: text for s, text in SCOPE_DESCRIPTIONS.items()},
                }
            },
        },
        "bearerToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
        "clientSecretBasic": {"type": "http", "scheme": "basic"},
    }
