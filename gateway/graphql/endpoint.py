"""``/graphql`` over HTTP: GET and POST per the GraphQL-over-HTTP specification.

What a request meets, in order:

* ``GET`` from a browser (``text/html`` wanted, no ``query``): the GraphiQL page, public;
* no authenticated principal: 401 with ``WWW-Authenticate: Bearer realm="soteria"``, as
  every other route of the API (all fields need a token, introspection included);
* an ``Accept`` that admits no JSON response type: 406;
* a malformed request (``gateway.graphql.params``): 400, 413 or 415;
* then ``gateway.graphql.execution`` in a worker thread (anyio), so the event loop is
  never blocked by parsing, validation or graphene's synchronous resolvers; the result
  is serialised once with orjson (values a ``JSON`` scalar returns, even an
  ``orjson.Fragment`` of pre-serialised bytes, are not walked again).

Every answer except the page and its files is reported once to ``on_operation``
(``gateway.graphql.records``), and ``request.state.operation_reported`` says so while
the request runs. An unexpected exception anywhere is logged with the
request id and answered 500 with a masked ``INTERNAL`` error.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import anyio.to_thread
import graphene
import orjson
from sqlalchemy.exc import OperationalError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from auth.backend import BearerCredentials
from auth.errors import MissingTokenError
from auth.guard import current_principal
from auth.responses import problem_response
from gateway.graphql import graphiql
from gateway.graphql.body_digest import BodyDigests
from gateway.graphql.documents import DocumentCache
from gateway.graphql.errors import (
    REFUSAL_CODES,
    ErrorCode,
    ExpectedErrors,
    MalformedRequestError,
    internal_error,
    message_error,
    unavailable_error,
)
from gateway.graphql.execution import Executor, Reply, request_id_of
from gateway.graphql.limits import Limits
from gateway.graphql.media import MediaType, negotiate, prefers_html
from gateway.graphql.params import GraphQLParams, read_params
from gateway.graphql.records import OperationRecord, outcome_of
from gateway.problems import problem

log = logging.getLogger(__name__)

OperationHook = Callable[[OperationRecord], None]
PURPOSE_HEADER = "soteria-purpose"


class GraphQLEndpoint:
    """The ``/graphql`` route and the GraphiQL asset route for one schema."""

    def __init__(
        self,
        schema: graphene.Schema,
        context_factory: Callable[[Request], Any],
        *,
        limits: Limits | None = None,
        on_operation: OperationHook | None = None,
        expected_errors: ExpectedErrors | None = None,
    ) -> None:
        self.limits = limits or Limits()
        self.executor = Executor(
            schema.graphql_schema, self.limits, context_factory, expected_errors
        )
        self.on_operation = on_operation
        self.digests = BodyDigests()

    @property
    def documents(self) -> DocumentCache:
        """The parsed-document cache (``hits``, ``misses``, ``len``)."""
        return self.executor.documents

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/graphql", self.handle, methods=["GET", "POST"], name="graphql"),
            *graphiql.routes(),
        ]

    async def handle(self, request: Request) -> Response:
        started = time.perf_counter()
        accept = request.headers.get("accept")
        if _is_page_request(request, accept):
            return graphiql.page(request)
        # From here the request is reported to on_operation exactly once; other recorders
        # (the denial hook) may leave the recording to it.
        request.state.operation_reported = self.on_operation is not None
        if current_principal(request) is None:
            return await self._early(request, started, _unauthenticated(request))
        media = negotiate(accept)
        if media is None:
            detail = "Accept application/graphql-response+json or application/json."
            return await self._early(request, started, problem(406, "not_acceptable", detail))
        try:
            params = await read_params(request, self.limits.max_body_bytes)
        except MalformedRequestError as exc:
            reply = Reply(exc.status, {"errors": [message_error(exc.message)]})
            return await self._early(request, started, _render(reply, media))
        return await anyio.to_thread.run_sync(self._execute, request, params, media, started)

    def _execute(
        self, request: Request, params: GraphQLParams, media: MediaType, started: float
    ) -> Response:
        try:
            reply = _refusal_or(self.executor.run(request, params, media))
            response = _render(reply, media)
        except OperationalError:
            reply = _unavailable(request_id_of(request))
            response = _render(reply, media)
        except Exception:  # masked below; the log has the traceback
            request_id = request_id_of(request)
            log.exception("GraphQL request %s failed", request_id)
            reply = Reply(500, {"errors": [internal_error(request_id)]})
            response = _render(reply, media)
        return self._report(request, started, response, params, reply)

    async def _early(self, request: Request, started: float, response: Response) -> Response:
        """A refusal made before execution; the hook (if any) still runs in a thread."""
        if self.on_operation is None:
            return response
        return await anyio.to_thread.run_sync(self._report, request, started, response, None, None)

    def _report(
        self,
        request: Request,
        started: float,
        response: Response,
        params: GraphQLParams | None,
        reply: Reply | None,
    ) -> Response:
        if self.on_operation is None:
            return response
        codes = reply.codes if reply is not None else _problem_codes(response.status_code)
        record = OperationRecord(
            request_id=request_id_of(request),
            principal=current_principal(request),
            method=request.method,
            operation_name=reply.operation_name if reply else None,
            operation_type=reply.operation_type if reply else None,
            query_sha256=params.query_sha256 if params else None,
            variables_sha256=params.variables_sha256 if params else None,
            outcome=outcome_of(response.status_code, codes),
            status_code=response.status_code,
            error_codes=codes,
            response_sha256=self.digests.sha256(
                bytes(response.body), reply.embedded if reply is not None else ()
            ),
            duration_seconds=time.perf_counter() - started,
            purpose=request.headers.get(PURPOSE_HEADER),
            request=request,
        )
        try:
            self.on_operation(record)
        except OperationalError:  # no audit record, no disclosure; the client retries
            return _render(_unavailable(record.request_id), MediaType.JSON)
        except Exception:  # no audit record, no disclosure
            log.exception("the on_operation hook failed (request %s)", record.request_id)
            failed = Reply(500, {"errors": [internal_error(record.request_id)]})
            return _render(failed, MediaType.JSON)
        return response


def graphql_routes(
    schema: graphene.Schema,
    context_factory: Callable[[Request], Any],
    *,
    limits: Limits = Limits(),  # noqa: B008 - frozen, so one shared default is safe
    on_operation: OperationHook | None = None,
    expected_errors: ExpectedErrors | None = None,
) -> list[BaseRoute]:
    """``/graphql`` (GET, POST, and GraphiQL for browsers) and ``/graphiql/{name}``."""
    endpoint = GraphQLEndpoint(
        schema,
        context_factory,
        limits=limits,
        on_operation=on_operation,
        expected_errors=expected_errors,
    )
    return endpoint.routes()


def _refusal_or(reply: Reply) -> Reply:
    """A request refused as a whole (no declared purpose for data that needs one) is a 400
    with only the refusal: no field's data leaves, whatever else the document asked for."""
    errors = reply.body.get("errors") or ()
    refusals = [e for e in errors if e.get("extensions", {}).get("code") in REFUSAL_CODES]
    if not refusals:
        return reply
    return replace(reply, status=400, body={"errors": refusals})


def _unavailable(request_id: str) -> Reply:
    """503 while the database does not answer (restart, failover), with ``Retry-After``."""
    log.warning("GraphQL request %s: the database is not answering", request_id)
    return Reply(503, {"errors": [unavailable_error(request_id)]}, headers={"Retry-After": "2"})


def _render(reply: Reply, media: MediaType) -> Response:
    headers = {"Cache-Control": "no-store", "Vary": "Accept", **reply.headers}
    return Response(
        orjson.dumps(reply.body),
        status_code=reply.status,
        headers=headers,
        media_type=media.content_type,
    )


def _is_page_request(request: Request, accept: str | None) -> bool:
    no_query = "query" not in request.query_params
    return request.method in ("GET", "HEAD") and no_query and prefers_html(accept)


def _unauthenticated(request: Request) -> Response:
    exc = MissingTokenError()
    credentials = request.scope.get("auth")
    if isinstance(credentials, BearerCredentials):
        credentials.recorder.record(request, exc.code)
    return problem_response(exc)


def _problem_codes(status: int) -> tuple[str, ...]:
    if status == 401:
        return (ErrorCode.UNAUTHENTICATED,)
    if status >= 500:
        return (ErrorCode.INTERNAL,)
    return (ErrorCode.BAD_REQUEST,)
