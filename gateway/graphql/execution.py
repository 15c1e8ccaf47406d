"""One GraphQL request from parameters to a reply, run synchronously in a worker thread.

In order; each refusal stops the request before any resolver runs:

1. the document, from the cache (size, parse, depth/aliases, validation);
2. the operation named by ``operationName``; a mutation over GET is refused with 405
   ``Allow: POST`` (even if the document is otherwise invalid), a subscription with 400;
3. the variables, coerced against the operation's definitions;
4. list and page caps and the cost (``gateway.graphql.cost``);
5. the context, from the application's ``context_factory(request)``: an
   ``AccessDeniedError`` it raises is answered 401/403 with ``WWW-Authenticate``, a
   ``GraphQLClientError`` 400;
6. execution (graphene's resolvers are synchronous), then the errors the resolvers
   raised and those they reported in ``context.errors`` (``errors.report_error``).

Request errors from steps 1-4 are HTTP 400 with ``application/graphql-response+json``
and 200 with legacy ``application/json``; the body has ``errors`` and no ``data``.
After execution the status is 200 (partial data and errors together), except when the
only errors are access denials and no root field produced a value: then nothing was
disclosed, and the reply is the denial's own 401/403 without ``data``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    execute_sync,
    get_operation_ast,
)
from graphql.execution.values import get_variable_values
from opentelemetry import trace
from starlette.requests import Request

from auth.errors import AccessDeniedError, RateLimitedError
from auth.responses import www_authenticate
from gateway.graphql.cost import operation_limit_errors
from gateway.graphql.documents import DocumentCache
from gateway.graphql.errors import (
    ExpectedErrors,
    GraphQLClientError,
    error_codes,
    execution_error,
    message_error,
    reported_error,
    request_error,
)
from gateway.graphql.limits import Limits
from gateway.graphql.media import MediaType
from gateway.graphql.params import GraphQLParams
from gateway.graphql.plain_fields import PlainFieldsExecutionContext

tracer = trace.get_tracer(__name__)


@dataclass(frozen=True, slots=True)
class Reply:
    """The HTTP status, GraphQL response body and headers of one request."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    operation_type: str | None = None
    operation_name: str | None = None
    # Pre-serialised values the body holds, in order (``context.embedded``): the audit's
    # response digest hashes each once (``gateway.graphql.body_digest``).
    embedded: tuple[bytes, ...] = ()

    @property
    def codes(self) -> tuple[str, ...]:
        return error_codes(self.body.get("errors", ()))


def request_id_of(request: Request) -> str:
    """The id ``gateway.app.RequestIdMiddleware`` gave the request (a fresh one without)."""
    request_id = getattr(request.state, "request_id", None)
    if not isinstance(request_id, str):
        request_id = uuid.uuid4().hex
        request.state.request_id = request_id
    return request_id


def refusal(errors: list[dict[str, Any]], media: MediaType, **details: Any) -> Reply:
    """A request error: nothing executed, so no ``data``; the status depends on ``media``."""
    status = 400 if media is MediaType.GRAPHQL_RESPONSE else 200
    return Reply(status, {"errors": errors}, **details)


class Executor:
    def __init__(
        self,
        schema: GraphQLSchema,
        limits: Limits,
        context_factory: Callable[[Request], Any],
        expected_errors: ExpectedErrors | None = None,
    ) -> None:
        self.schema = schema
        self.limits = limits
        self.documents = DocumentCache(schema, limits)
        self.context_factory = context_factory
        self.expected_errors = dict(expected_errors or {})

    def run(self, request: Request, params: GraphQLParams, media: MediaType) -> Reply:
        prepared = self.documents.get(params.query)
        document = prepared.document
        operation = get_operation_ast(document, params.operation_name) if document else None
        details = _describe(operation, params)
        if _is_get(request) and operation and operation.operation is not OperationType.QUERY:
            message = "Only queries may be sent with GET; send mutations with POST."
            return Reply(405, {"errors": [message_error(message)]}, {"Allow": "POST"}, **details)
        if not prepared.valid or document is None:
            return refusal([request_error(e) for e in prepared.errors], media, **details)
        if operation is None:
            return refusal([message_error(_no_operation(params))], media, **details)
        if operation.operation is OperationType.SUBSCRIPTION:
            message = "Subscriptions are not supported over HTTP."
            return refusal([message_error(message)], media, **details)
        coerced = get_variable_values(
            self.schema, operation.variable_definitions or (), params.variables or {}, max_errors=20
        )
        if isinstance(coerced, list):
            return refusal([request_error(e) for e in coerced], media, **details)
        refused = operation_limit_errors(self.schema, document, operation, coerced, self.limits)
        if refused:
            return refusal([request_error(e) for e in refused], media, **details)
        try:
            context = self.context_factory(request)
        except AccessDeniedError as exc:
            shaped = execution_error(GraphQLError(exc.description, original_error=exc), "")
            return _denied(exc, [shaped], details)
        except GraphQLClientError as exc:
            shaped = execution_error(GraphQLError(exc.message, original_error=exc), "")
            return Reply(400, {"errors": [shaped]}, **details)
        with tracer.start_as_current_span(
            "graphql.execute",
            attributes=_span_attributes(details),
            record_exception=False,  # messages may quote arguments
            set_status_on_exception=False,
        ) as span:
            result = execute_sync(
                self.schema,
                document,
                context_value=context,
                variable_values=params.variables,
                operation_name=params.operation_name,
                execution_context_class=PlainFieldsExecutionContext,
            )
            span.set_attribute("soteria.error_count", len(result.errors or ()))
        reported = _reported(context)
        raised: list[Exception] = [*(result.errors or ()), *reported[0]]
        request_id = request_id_of(request)
        errors = [execution_error(e, request_id, self.expected_errors) for e in raised]
        errors.extend(reported_error(item) for item in reported[1])
        denial = _only_denial(result.data, raised) if not reported[1] else None
        if denial is not None:
            return _denied(denial, errors, details)
        body: dict[str, Any] = {"data": result.data}
        if errors:
            body["errors"] = errors
        embedded = getattr(context, "embedded", None)
        return Reply(200, body, embedded=tuple(embedded or ()), **details)


def _span_attributes(details: dict[str, Any]) -> dict[str, str]:
    """The operation's type and name (the name the client gave it; never the document)."""
    keys = {"graphql.operation.type": "operation_type", "graphql.operation.name": "operation_name"}
    return {key: details[name] for key, name in keys.items() if details.get(name) is not None}


def _is_get(request: Request) -> bool:
    return request.method in ("GET", "HEAD")


def _describe(operation: OperationDefinitionNode | None, params: GraphQLParams) -> dict[str, Any]:
    if operation is None:
        return {"operation_type": None, "operation_name": params.operation_name}
    name = operation.name.value if operation.name else None
    return {"operation_type": operation.operation.value, "operation_name": name}


def _no_operation(params: GraphQLParams) -> str:
    if params.operation_name is not None:
        return f"The document has no operation named {params.operation_name!r}."
    return "The document has several operations: name the one to run in 'operationName'."


def _reported(context: Any) -> tuple[list[Exception], list[Mapping[str, Any]]]:
    """The exceptions and the shaped errors (mappings) the resolvers left in ``errors``."""
    errors = getattr(context, "errors", None)
    if not isinstance(errors, list):
        return [], []
    raised = [error for error in errors if isinstance(error, Exception)]
    return raised, [error for error in errors if isinstance(error, Mapping)]


def _only_denial(data: dict[str, Any] | None, raised: list[Exception]) -> AccessDeniedError | None:
    """The denial to answer with, if every error is one and no root field has a value."""
    if not raised or (data is not None and any(value is not None for value in data.values())):
        return None
    denials = [getattr(error, "original_error", error) for error in raised]
    if not all(isinstance(denial, AccessDeniedError) for denial in denials):
        return None
    typed = [denial for denial in denials if isinstance(denial, AccessDeniedError)]
    return min(typed, key=lambda denial: denial.status_code)  # 401 before 403


def _denied(exc: AccessDeniedError, errors: list[dict[str, Any]], details: dict[str, Any]) -> Reply:
    headers = {}
    challenge = www_authenticate(exc)
    if challenge is not None:
        headers["WWW-Authenticate"] = challenge
    if isinstance(exc, RateLimitedError):
        headers["Retry-After"] = str(exc.retry_after)
    return Reply(exc.status_code, {"errors": errors}, headers, **details)
