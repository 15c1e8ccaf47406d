"""The GraphQL-over-HTTP transport: any graphene schema served at ``/graphql``.

The application wires it with one call::

    routes = graphql_routes(schema, context_factory, limits=Limits(), on_operation=hook)

and resolvers use the error types (``BadRequestError``, ``SourceUnavailableError``,
``report_error``) and, for large pre-built payloads, the ``JSONPayload`` scalar. The
modules, one concept each:

* ``endpoint``: the Starlette routes, authentication, the worker thread, the audit hook;
* ``params``, ``media``: reading the request and negotiating the response media type;
* ``documents``: the parsed-document LRU; ``limits``, ``cost``: the caps;
* ``execution``: from parameters to a reply; ``errors``: what clients are told;
* ``records``: ``OperationRecord``; ``graphiql``: the page and its static files;
* ``scalars``: ``JSONPayload``.

``docs/graphql.md`` is the guide for API clients and operators.
"""

from gateway.graphql.endpoint import GraphQLEndpoint, graphql_routes
from gateway.graphql.errors import (
    BadRequest,
    BadRequestError,
    ErrorCode,
    GraphQLClientError,
    SourceUnavailable,
    SourceUnavailableError,
    report_error,
)
from gateway.graphql.limits import DEFAULT_LIST_CAPS, Limits
from gateway.graphql.records import OperationRecord, Outcome
from gateway.graphql.scalars import JSONPayload, prebuilt

__all__ = [
    "DEFAULT_LIST_CAPS",
    "BadRequest",
    "BadRequestError",
    "ErrorCode",
    "GraphQLClientError",
    "GraphQLEndpoint",
    "JSONPayload",
    "Limits",
    "OperationRecord",
    "Outcome",
    "SourceUnavailable",
    "SourceUnavailableError",
    "graphql_routes",
    "prebuilt",
    "report_error",
]
