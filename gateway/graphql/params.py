"""Reading a GraphQL-over-HTTP request: ``query``, ``operationName``, ``variables``, ``extensions``.

* ``GET``: URL query parameters; ``variables`` and ``extensions`` are JSON texts.
* ``POST``: a JSON object body with ``Content-Type: application/json`` (``charset``, if
  given, must be utf-8). Other content types are refused with 415: only JSON, which a
  browser cannot send cross-site without a CORS preflight, is accepted.

A request that is not well formed raises ``MalformedRequestError`` with its HTTP status (400,
413, 415): it is refused whatever the response media type. Unknown body keys are ignored,
and ``extensions`` is accepted and ignored (no persisted queries here).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request

from gateway.graphql.errors import MalformedRequestError


@dataclass(frozen=True, slots=True)
class GraphQLParams:
    query: str
    operation_name: str | None = None
    variables: dict[str, Any] | None = None
    extensions: dict[str, Any] | None = None

    @property
    def query_sha256(self) -> str:
        return hashlib.sha256(self.query.encode("utf-8", "surrogatepass")).hexdigest()

    @property
    def variables_sha256(self) -> str | None:
        """SHA-256 of the variables as canonical JSON (sorted keys), None without any."""
        if not self.variables:
            return None
        canonical = orjson.dumps(self.variables, option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(canonical).hexdigest()


async def read_params(request: Request, max_body_bytes: int) -> GraphQLParams:
    if request.method in ("GET", "HEAD"):
        return _from_query_string(request)
    _check_content_type(request.headers.get("content-type"))
    body = await _read_body(request, max_body_bytes)
    if not body.strip():
        raise MalformedRequestError(400, "The request body is empty; send a JSON object.")
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise MalformedRequestError(400, "The request body is not valid JSON.") from None
    if not isinstance(payload, dict):
        raise MalformedRequestError(400, "The request body must be a JSON object.")
    return _params(payload)


def _from_query_string(request: Request) -> GraphQLParams:
    values: dict[str, Any] = {}
    for name in ("query", "operationName", "variables", "extensions"):
        given = request.query_params.getlist(name)
        if len(given) > 1:
            raise MalformedRequestError(400, f"The {name!r} parameter appears more than once.")
        if given:
            values[name] = given[0]
    for name in ("variables", "extensions"):
        if name in values:
            try:
                values[name] = orjson.loads(values[name]) if values[name] else None
            except orjson.JSONDecodeError:
                message = f"The {name!r} parameter is not valid JSON."
                raise MalformedRequestError(400, message) from None
    if values.get("operationName") == "":
        values["operationName"] = None
    return _params(values)


def _params(payload: dict[str, Any]) -> GraphQLParams:
    query = payload.get("query")
    if query is None:
        raise MalformedRequestError(400, "The 'query' parameter is required.")
    if not isinstance(query, str):
        raise MalformedRequestError(400, "The 'query' parameter must be a string.")
    operation_name = payload.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise MalformedRequestError(400, "The 'operationName' parameter must be a string or null.")
    variables = payload.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise MalformedRequestError(400, "The 'variables' parameter must be a JSON object or null.")
    extensions = payload.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        message = "The 'extensions' parameter must be a JSON object or null."
        raise MalformedRequestError(400, message)
    return GraphQLParams(query, operation_name, variables, extensions)


def _check_content_type(value: str | None) -> None:
    if value is None:
        raise MalformedRequestError(415, "Send the request as Content-Type: application/json.")
    media, *parameters = (part.strip() for part in value.split(";"))
    if media.lower() != "application/json":
        raise MalformedRequestError(
            415, f"Unsupported Content-Type {media!r}; send application/json."
        )
    for parameter in parameters:
        name, _, charset = parameter.partition("=")
        if name.strip().lower() == "charset" and charset.strip().strip('"').lower() not in (
            "utf-8",
            "utf8",
        ):
            raise MalformedRequestError(415, "The request body must be encoded in UTF-8.")


async def _read_body(request: Request, max_body_bytes: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_body_bytes:
        raise MalformedRequestError(413, f"The request body exceeds {max_body_bytes} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_body_bytes:
            raise MalformedRequestError(413, f"The request body exceeds {max_body_bytes} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)
