"""``GET /openapi.json``: the OpenAPI 3.1 description of the REST routes, for integrators.

Every operation the service has is declared here, once, in ``OPERATIONS``: method, path,
who may call it (the scopes come from ``auth.policy``, the one place that decides), its
parameters, body and answers. The served document holds the operations whose route the
running app actually has (a force node has the push path and federation, the gateway the
rest), so it never describes a route that is not there; ``tests/api/test_openapi.py``
checks the other direction: every route of both kinds of app has an operation here.

Public: no token needed, like ``/healthz``. The GraphQL schema itself is not repeated here:
``/graphql`` is described as a transport, and its types are in ``schema.graphql``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from auth.policy import POLICY, Action
from gateway.problems import PROBLEM_JSON, json_response
from gateway.routes.openapi_components import (
    form_body,
    header_param,
    json_answer,
    oauth_error_answer,
    problem_answer,
    query_param,
    ref,
    schemas,
    security_schemes,
)
from gateway.services import services_of

OPENAPI_VERSION: Final = "3.1.0"
API_VERSION: Final = "1"
GRAPHQL_RESPONSE: Final = "application/graphql-response+json"

Auth = Literal["public", "bearer", "client"]


@dataclass(frozen=True)
class Operation:
    """One method on one path, as OpenAPI describes it."""

    method: str
    path: str
    operation_id: str
    summary: str
    tag: str
    auth: Auth = "public"
    action: Action | None = None  # the policy action whose scopes a bearer token needs
    description: str = ""
    parameters: tuple[Mapping[str, Any], ...] = ()
    request_body: Mapping[str, Any] | None = None
    responses: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def as_openapi(self) -> dict[str, Any]:
        responses = dict(self.responses)
        if self.auth == "bearer":
            for status, why in _BEARER_REFUSALS.items():
                responses.setdefault(status, problem_answer(why))
        if self.auth != "public":
            responses.setdefault("503", _DATABASE_DOWN)
        op: dict[str, Any] = {
            "operationId": self.operation_id,
            "summary": self.summary,
            "tags": [self.tag],
            "responses": dict(sorted(responses.items())),
        }
        if self.description:
            op["description"] = self.description
        if self.parameters:
            op["parameters"] = [dict(p) for p in self.parameters]
        if self.request_body is not None:
            op["requestBody"] = dict(self.request_body)
        op["security"] = self._security()
        return op

    def _security(self) -> list[dict[str, list[str]]]:
        if self.auth == "public":
            return []
        if self.auth == "client":
            # client_secret_basic, or credentials / a private_key_jwt assertion in the form.
            return [{"clientSecretBasic": []}, {}]
        scopes = sorted(s.value for s in POLICY[self.action].scopes) if self.action else []
        return [{"oauth2": scopes}, {"bearerToken": scopes}]


_BEARER_REFUSALS: Final = {
    "401": "No token, or the token is not valid (`WWW-Authenticate: Bearer`).",
    "403": "The token lacks the scope, or is bound to another force.",
    "429": "Over the client's request rate; retry after `Retry-After` seconds.",
}
_DATABASE_DOWN: Final = problem_answer(
    "`database_unavailable`: the database is not answering (a restart, a failover); "
    "nothing was changed unless a receipt says so. Retry after `Retry-After` seconds."
)
_RATE_LIMITED: Final = oauth_error_answer("Over the client's token rate (`Retry-After`).")
_FORCE: Final = {
    "name": "force",
    "in": "path",
    "required": True,
    "description": "Force code from the code list, e.g. `west-yorkshire`.",
    "schema": {"type": "string", "pattern": "^[a-z-]{2,40}$"},
}
_UNKNOWN_FORCE: Final = problem_answer("No such force, or this deployment does not hold it.")
_REMOTE_FORCE: Final = problem_answer(
    "The force keeps its records on its own node (`force_is_remote`)."
)
_PURPOSE: Final = "Soteria-Purpose"

_CSV_COLUMNS_DOC: Final = (
    "indicator, force, force_name, group, period, period_start, period_end, breakdown, "
    "value, numerator, denominator, suppressed, exact, note"
)


def _indicator_parameters(purposes: tuple[str, ...]) -> tuple[Mapping[str, Any], ...]:
    listed = "Comma-separated; omitted: all."
    return (
        query_param(
            "granularity",
            "Period length.",
            {"enum": ["MONTH", "QUARTER", "FINANCIAL_YEAR", "ROLLING_YEAR"]},
            required=True,
        ),
        query_param("from", "First day (YYYY-MM-DD).", {"type": "string", "format": "date"}, True),
        query_param("to", "Last day (YYYY-MM-DD).", {"type": "string", "format": "date"}, True),
        query_param("indicators", f"Indicator ids. {listed}", {"type": "string"}),
        query_param("forces", f"Force codes. {listed}", {"type": "string"}),
        query_param(
            "scope",
            "Which offence codes count (default ALL_RASSO).",
            {"enum": ["ALL_RASSO", "ALL_RAPE", "ADULT_RAPE", "CHILD_RAPE", "OTHER_SEXUAL"]},
        ),
        query_param(
            "breakdown",
            "One breakdown dimension.",
            {"enum": ["OFFENCE_GROUP", "VICTIM_AGE_BAND", "VICTIM_SEX", "RELATIONSHIP"]},
        ),
        query_param(
            "groups",
            "Totals beside the forces: NATIONAL, REGION, COUNTRY, GROUP (comma-separated).",
            {"type": "string"},
        ),
        query_param(
            "asAt",
            "Figures as they stood at this moment (ISO 8601).",
            {"type": "string", "format": "date-time"},
        ),
        header_param(
            _PURPOSE,
            "Why the data is read: one of the configured purposes, optionally followed by "
            "`; ` and free text.",
            {"type": "string", "pattern": f"^({'|'.join(purposes)})(; [ -~]{{0,200}})?$"},
            required=True,
        ),
    )


def _operations(purposes: tuple[str, ...]) -> tuple[Operation, ...]:
    receipt = ref("Receipt")
    return (
        Operation(
            "get",
            "/healthz",
            "healthz",
            "Liveness: the process answers",
            "operations",
            responses={"200": json_answer("Alive.", ref("Status"))},
        ),
        Operation(
            "get",
            "/readyz",
            "readyz",
            "Readiness: the database answers and is migrated",
            "operations",
            responses={
                "200": json_answer("Ready.", ref("Status")),
                "503": problem_answer("`database_unavailable` or `database_not_migrated`."),
            },
        ),
        Operation(
            "get",
            "/openapi.json",
            "openapi",
            "This document",
            "operations",
            responses={"200": json_answer("The OpenAPI 3.1 document.", {"type": "object"})},
        ),
        Operation(
            "get",
            "/v1/schema/record.json",
            "recordSchema",
            "JSON Schema of one record (RASSO Record Standard v1)",
            "submissions",
            responses={"200": json_answer("JSON Schema draft 2020-12.", {"type": "object"})},
        ),
        Operation(
            "post",
            "/v1/forces/{force}/submissions",
            "createSubmission",
            "Push a file of records for a force",
            "submissions",
            "bearer",
            Action.PUSH_SUBMISSION,
            description=(
                "The whole file is validated before anything is stored: one error anywhere "
                "refuses the file (422, every error listed) and stores nothing. Retries of "
                "the same file reuse its `Idempotency-Key` and get the original receipt back; "
                "the same key with other content is a 409. `text/csv` means the force's "
                "configured CSV format (standard, or its mapping)."
            ),
            parameters=(
                _FORCE,
                header_param(
                    "Idempotency-Key",
                    "Unique per distinct submission; retries reuse it.",
                    {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[ -~]+$"},
                    required=True,
                ),
                query_param(
                    "dry_run",
                    "Validate and report only; store nothing.",
                    {"enum": ["true", "false", "1", "0"], "default": "false"},
                ),
                query_param(
                    "format",
                    "Override the format the Content-Type implies.",
                    {"enum": ["standard-csv", "standard-json", "standard-ndjson", "mapped-csv"]},
                ),
            ),
            request_body={
                "required": True,
                "content": {
                    "text/csv": {
                        "schema": {"type": "string"},
                        "example": "crime_ref,offence_code,recorded_date,...\n",
                    },
                    "application/json": {
                        "schema": {"type": "array", "minItems": 1, "items": ref("Record")}
                    },
                    "application/x-ndjson": {
                        "schema": {"type": "string", "description": "One record object a line."}
                    },
                },
            },
            responses={
                "201": json_answer("Stored: the receipt.", receipt),
                "200": json_answer(
                    "A dry run's report, or the original receipt of a replayed key "
                    "(`Idempotent-Replayed: true`).",
                    receipt,
                    headers={"Idempotent-Replayed": {"schema": {"const": "true"}}},
                ),
                "400": problem_answer(
                    "Missing or invalid Idempotency-Key or parameter; unreadable body."
                ),
                "404": _UNKNOWN_FORCE,
                "409": problem_answer("`idempotency_conflict`, or `force_is_remote`."),
                "413": problem_answer("The body is larger than the configured limit."),
                "415": problem_answer("Content-Type (or `format`) not usable for this force."),
                "422": problem_answer("Invalid rows: nothing stored; `errors` lists them."),
            },
        ),
        Operation(
            "get",
            "/v1/forces/{force}/submissions",
            "listSubmissions",
            "A force's receipts, newest first",
            "submissions",
            "bearer",
            Action.READ_SUBMISSION,
            parameters=(
                _FORCE,
                query_param(
                    "limit", "Page size.", {"type": "integer", "minimum": 1, "maximum": 100}
                ),
                query_param("after", "The `next` cursor of the previous page.", {"type": "string"}),
            ),
            responses={
                "200": json_answer("A page of receipts.", ref("ReceiptPage")),
                "400": problem_answer("Bad `limit` or cursor."),
                "404": _UNKNOWN_FORCE,
                "409": _REMOTE_FORCE,
            },
        ),
        Operation(
            "get",
            "/v1/forces/{force}/submissions/{submission_id}",
            "getSubmission",
            "One receipt",
            "submissions",
            "bearer",
            Action.READ_SUBMISSION,
            parameters=(
                _FORCE,
                {
                    "name": "submission_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                },
            ),
            responses={
                "200": json_answer("The receipt.", receipt),
                "404": problem_answer("No such force, or no such submission for it."),
                "409": _REMOTE_FORCE,
            },
        ),
        Operation(
            "get",
            "/v1/indicators.csv",
            "indicatorsCsv",
            "The indicator table as CSV (Excel, Power BI)",
            "indicators",
            "bearer",
            Action.READ_INDICATORS,
            description=(
                "The arguments of GraphQL `indicatorTable`, as query parameters, under the "
                f"same disclosure control. Columns: {_CSV_COLUMNS_DOC}. UTF-8 with a BOM."
            ),
            parameters=_indicator_parameters(purposes),
            responses={
                "200": {
                    "description": "One row per cell.",
                    "headers": {
                        "Soteria-Coverage-Missing": {
                            "description": "`force=reason` pairs of forces left out.",
                            "schema": {"type": "string"},
                        }
                    },
                    "content": {"text/csv": {"schema": {"type": "string"}}},
                },
                "400": problem_answer("Invalid arguments, or no declared purpose."),
            },
        ),
        *_graphql_operations(),
        Operation(
            "get",
            "/graphiql/{name}",
            "graphiqlAsset",
            "GraphiQL's static files",
            "graphql",
            parameters=(
                {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}},
            ),
            responses={
                "200": {
                    "description": "The file.",
                    "content": {
                        "text/javascript": {"schema": {"type": "string"}},
                        "text/css": {"schema": {"type": "string"}},
                    },
                },
                "304": {"description": "Not modified (`If-None-Match`)."},
                "404": {
                    "description": "No such file.",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                },
            },
        ),
        Operation(
            "post",
            "/federation/v1/answer",
            "federationAnswer",
            "A force node's mergeable partials (force nodes only)",
            "federation",
            "bearer",
            Action.READ_FEDERATION_PARTIALS,
            request_body={
                "required": True,
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            responses={
                "200": json_answer("Partials and data versions.", {"type": "object"}),
                "400": problem_answer("Not a federation question, or another force."),
                "413": problem_answer("Larger than 64 KiB."),
            },
        ),
        *_oauth_operations(),
    )


def _graphql_operations() -> tuple[Operation, ...]:
    answers: dict[str, dict[str, Any]] = {
        "200": {
            "description": "Executed (data, and errors for fields that failed).",
            "content": {
                GRAPHQL_RESPONSE: {"schema": ref("GraphQLResponse")},
                "application/json": {"schema": ref("GraphQLResponse")},
            },
        },
        "400": {
            "description": "Request error: syntax, validation, limits, variables; a malformed "
            "request (bad JSON, no `query`) is answered as `application/json`.",
            "content": {
                GRAPHQL_RESPONSE: {"schema": ref("GraphQLResponse")},
                "application/json": {"schema": ref("GraphQLResponse")},
            },
        },
        "406": problem_answer("`Accept` admits no JSON type."),
        "503": {
            "description": "The database is not answering: `SERVICE_UNAVAILABLE` (or "
            "`database_unavailable` from token validation); retry after `Retry-After`.",
            "content": {
                GRAPHQL_RESPONSE: {"schema": ref("GraphQLResponse")},
                "application/json": {"schema": ref("GraphQLResponse")},
                PROBLEM_JSON: {"schema": ref("Problem")},
            },
        },
        "413": problem_answer("Body larger than the configured limit."),
    }
    doc = "GraphQL over HTTP; the schema is `schema.graphql` (see docs/graphql.md)."
    return (
        Operation(
            "get",
            "/graphql",
            "graphqlGet",
            "GraphQL query over GET (or GraphiQL)",
            "graphql",
            "bearer",
            Action.READ_INDICATORS,
            description=doc,
            parameters=(
                query_param("query", "The GraphQL document.", {"type": "string"}),
                query_param("operationName", "Operation to run.", {"type": "string"}),
                query_param("variables", "Variables as a JSON text.", {"type": "string"}),
            ),
            responses={
                **answers,
                "200": {
                    "description": "Executed; a browser asking for HTML gets GraphiQL.",
                    "content": {
                        **answers["200"]["content"],
                        "text/html": {"schema": {"type": "string"}},
                    },
                },
                "405": problem_answer("A mutation over GET (`Allow: POST`)."),
            },
        ),
        Operation(
            "post",
            "/graphql",
            "graphqlPost",
            "GraphQL request",
            "graphql",
            "bearer",
            Action.READ_INDICATORS,
            description=doc,
            request_body={
                "required": True,
                "content": {"application/json": {"schema": ref("GraphQLRequest")}},
            },
            responses={**answers, "415": problem_answer("Not `application/json`.")},
        ),
    )


def _oauth_operations() -> tuple[Operation, ...]:
    client_fields = {
        "client_id": {"type": "string"},
        "client_secret": {"type": "string"},
        "client_assertion_type": {
            "const": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        },
        "client_assertion": {"type": "string", "description": "private_key_jwt assertion."},
    }
    token_form = {
        "type": "object",
        "required": ["grant_type"],
        "properties": {
            "grant_type": {"const": "client_credentials"},
            "scope": {"type": "string", "description": "Space-separated; default: all granted."},
            **client_fields,
        },
    }
    token_ref_form = {
        "type": "object",
        "required": ["token"],
        "properties": {
            "token": {"type": "string"},
            "token_type_hint": {"enum": ["access_token", "refresh_token"]},
            **client_fields,
        },
    }
    oauth_refusals = {
        "400": oauth_error_answer("`invalid_request`, `unsupported_grant_type`, `invalid_scope`."),
        "401": oauth_error_answer("`invalid_client`: unknown client or wrong credentials."),
        "429": _RATE_LIMITED,
    }
    return (
        Operation(
            "post",
            "/oauth/token",
            "oauthToken",
            "Client credentials grant (RFC 6749 §4.4)",
            "oauth",
            "client",
            request_body=form_body(token_form),
            responses={
                "200": json_answer("An access token.", ref("TokenResponse")),
                **oauth_refusals,
            },
        ),
        Operation(
            "post",
            "/oauth/revoke",
            "oauthRevoke",
            "Revoke a token (RFC 7009)",
            "oauth",
            "client",
            request_body=form_body(token_ref_form),
            responses={"200": {"description": "Revoked (or was not ours)."}, **oauth_refusals},
        ),
        Operation(
            "post",
            "/oauth/introspect",
            "oauthIntrospect",
            "Introspect a token (RFC 7662)",
            "oauth",
            "client",
            request_body=form_body(token_ref_form),
            responses={
                "200": json_answer(
                    "`active` and, if active, the token's claims.", ref("Introspection")
                ),
                **oauth_refusals,
            },
        ),
        Operation(
            "get",
            "/oauth/jwks",
            "oauthJwks",
            "Public signing keys (RFC 7517)",
            "oauth",
            responses={"200": json_answer("A JWK set.", ref("JWKS"))},
        ),
        Operation(
            "get",
            "/.well-known/oauth-authorization-server",
            "oauthMetadata",
            "Authorization server metadata (RFC 8414)",
            "oauth",
            responses={"200": json_answer("The metadata document.", {"type": "object"})},
        ),
    )


def route_methods(routes: Iterable[BaseRoute]) -> set[tuple[str, str]]:
    """``(method, path)`` of every HTTP route (HEAD, which Starlette adds to GET, left out)."""
    found: set[tuple[str, str]] = set()
    for route in routes:
        if isinstance(route, Route):
            found |= {(m.lower(), route.path) for m in route.methods or () if m != "HEAD"}
    return found


def operations(purposes: tuple[str, ...]) -> tuple[Operation, ...]:
    return _operations(purposes)


def document(
    routes: Iterable[BaseRoute], *, base_url: str, purposes: tuple[str, ...]
) -> dict[str, Any]:
    """The OpenAPI document for an app with these routes."""
    present = route_methods(routes)
    paths: dict[str, dict[str, Any]] = {}
    for op in operations(purposes):
        if (op.method, op.path) in present:
            paths.setdefault(op.path, {})[op.method] = op.as_openapi()
    base = base_url.rstrip("/")
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Soteria Exchange",
            "version": API_VERSION,
            "summary": "Federated RASSO indicators for the Operation Soteria Joint Unit.",
            "description": "Push pseudonymised case records, read receipts and indicators. "
            "Errors are RFC 9457 `application/problem+json` with a stable `code`; the OAuth "
            "endpoints answer with RFC 6749 error objects. See docs/api.md.",
        },
        "servers": [{"url": base}],
        "tags": [
            {"name": name}
            for name in (
                "submissions",
                "indicators",
                "graphql",
                "oauth",
                "federation",
                "operations",
            )
        ],
        "paths": paths,
        "components": {"schemas": schemas(base), "securitySchemes": security_schemes(base)},
    }


async def openapi_json(request: Request) -> Response:
    cached = getattr(request.app.state, "openapi_document", None)
    if cached is None:
        settings = services_of(request).settings
        cached = document(
            request.app.routes, base_url=settings.public_url, purposes=settings.purposes
        )
        request.app.state.openapi_document = cached
    return json_response(cached, headers={"Cache-Control": "public, max-age=3600"})


routes = [Route("/openapi.json", openapi_json, methods=["GET"])]
