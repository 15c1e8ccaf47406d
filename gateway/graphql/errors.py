"""What a GraphQL client is told about an error, and the exceptions resolvers raise for it.

Resolvers raise (or report, see ``report_error``) one of these; the endpoint turns each into
a GraphQL error whose ``extensions.code`` is stable. The tree::

    GraphQLClientError          base: an expected failure the client is told about
    ├── BadRequestError         BAD_REQUEST: an argument the client can fix
    │                           (``extensions.argument`` when one is named)
    └── SourceUnavailableError  SOURCE_UNAVAILABLE: one force's source did not answer
                                (``extensions.force``, ``extensions.reason``)

    MalformedRequestError       the transport's own: not a well-formed GraphQL-over-HTTP
                                request (bad JSON, parameter types, content type, size);
                                carries the HTTP status (400, 413, 415)

``auth.errors.AccessDeniedError`` raised by a resolver becomes ``UNAUTHENTICATED`` (a
missing or invalid token) or ``FORBIDDEN`` (scope, force, rate), with ``extensions.reason``
set to the auth package's stable code (``insufficient_scope``, ``wrong_force``, ...).

Packages that cannot import this one (``schema`` imports nothing of ours) keep their own
exception types; the application names them when it wires the transport
(``graphql_routes(..., expected_errors={BadArgumentError: ErrorCode.BAD_REQUEST})``) and
their message is shown with that code. List specific classes, never ``ValueError``.

Anything else, including a ``GraphQLError`` a resolver or a scalar raised itself, is
masked: the client gets ``INTERNAL`` and the request id, the log gets the traceback.
Messages of ``GraphQLClientError`` are shown to the client as they are, so they must be
fixed sentences written for people, never text from a library, SQL or a path.

Parse, validation, limit and variable errors (request errors, nothing executed) carry
``BAD_REQUEST`` too; see ``request_error``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any, Final

from graphql import GraphQLError, GraphQLResolveInfo, located_error

from auth.errors import AccessDeniedError, InvalidRequestError, InvalidTokenError, MissingTokenError

log = logging.getLogger(__name__)


class ErrorCode(StrEnum):
    """The values of ``extensions.code``."""

    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    BAD_REQUEST = "BAD_REQUEST"
    SOURCE_UNAVAILABLE = "SOURCE_UNAVAILABLE"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    PURPOSE_REQUIRED = "PURPOSE_REQUIRED"
    INTERNAL = "INTERNAL"


DENIAL_CODES: Final = frozenset({ErrorCode.UNAUTHENTICATED, ErrorCode.FORBIDDEN})
#: Errors that refuse the whole request: a 400 carrying only them, and no data at all.
REFUSAL_CODES: Final = frozenset({ErrorCode.PURPOSE_REQUIRED})

#: Foreign exception types shown to clients with a code: the first ``isinstance`` match wins.
ExpectedErrors = Mapping[type[Exception], ErrorCode]


class GraphQLClientError(Exception):
    """An expected failure whose message and extensions the client may see."""

    code: ErrorCode = ErrorCode.BAD_REQUEST

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extensions = {key: value for key, value in extensions.items() if value is not None}


class BadRequestError(GraphQLClientError):
    """An argument value the client can fix: ``raise BadRequestError("...", argument="period")``."""

    code = ErrorCode.BAD_REQUEST

    def __init__(self, message: str, *, argument: str | None = None) -> None:
        super().__init__(message, argument=argument)


class SourceUnavailableError(GraphQLClientError):
    """A force's data source did not answer; ``reason`` is a short fixed phrase."""

    code = ErrorCode.SOURCE_UNAVAILABLE

    def __init__(self, force: str, reason: str) -> None:
        super().__init__(
            f"Data for force {force} is unavailable: {reason}.", force=force, reason=reason
        )
        self.force = force
        self.reason = reason


class MalformedRequestError(Exception):
    """Not a well-formed GraphQL-over-HTTP request; ``status`` is 400, 413 or 415."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


#: The names the issue used; the same classes.
BadRequest = BadRequestError
SourceUnavailable = SourceUnavailableError


def report_error(info: GraphQLResolveInfo, error: Exception) -> None:
    """Add a non-fatal error to the response at this field's path; the resolver goes on.

    The request context must have an ``errors`` list (the endpoint reads it after
    execution; besides exceptions, it passes on mappings already shaped as GraphQL errors,
    see ``reported_error``)::

        report_error(info, SourceUnavailableError("kent", "timed out"))
        return rows_from_the_other_forces
    """
    errors = getattr(info.context, "errors", None)
    if not isinstance(errors, list):
        raise TypeError("the GraphQL context needs an `errors: list` to report errors")
    errors.append(located_error(error, info.field_nodes, info.path.as_list()))


def access_code(exc: AccessDeniedError) -> ErrorCode:
    if isinstance(exc, MissingTokenError | InvalidTokenError):
        return ErrorCode.UNAUTHENTICATED
    if isinstance(exc, InvalidRequestError):
        return ErrorCode.BAD_REQUEST
    return ErrorCode.FORBIDDEN


def request_error(error: GraphQLError) -> dict[str, Any]:
    """A parse, validation, limit or variable error: graphql-core's own text, BAD_REQUEST."""
    return _shape(error, error.message, {"code": ErrorCode.BAD_REQUEST, **(error.extensions or {})})


def message_error(message: str, code: ErrorCode = ErrorCode.BAD_REQUEST) -> dict[str, Any]:
    return {"message": message, "extensions": {"code": code}}


def unavailable_error(request_id: str) -> dict[str, Any]:
    """The database is not answering (a restart, a failover): retry, nothing was disclosed."""
    return {
        "message": "The service's database is not answering; retry shortly.",
        "extensions": {"code": ErrorCode.SERVICE_UNAVAILABLE, "requestId": request_id},
    }


def internal_error(request_id: str) -> dict[str, Any]:
    return {
        "message": f"An internal error occurred. Quote request id {request_id} to support.",
        "extensions": {"code": ErrorCode.INTERNAL, "requestId": request_id},
    }


def execution_error(
    error: Exception, request_id: str, expected: ExpectedErrors | None = None
) -> dict[str, Any]:
    """An error raised while resolving (or reported by a resolver), shaped for the client."""
    located = error if isinstance(error, GraphQLError) else located_error(error)
    original = located.original_error
    if isinstance(original, AccessDeniedError):
        code = access_code(original)
        return _shape(located, original.description, {"code": code, "reason": original.code})
    if isinstance(original, GraphQLClientError):
        return _shape(located, original.message, {"code": original.code, **original.extensions})
    for kind, code in (expected or {}).items():
        if isinstance(original, kind):
            return _shape(located, str(original), {"code": code})
    log.error(
        "unexpected error resolving %s (request %s)",
        ".".join(str(part) for part in located.path or ()) or "<no path>",
        request_id,
        exc_info=original or located,
    )
    shaped = internal_error(request_id)
    return _shape(located, shaped["message"], shaped["extensions"])


def reported_error(item: Mapping[str, Any]) -> dict[str, Any]:
    """An error the application shaped itself in ``context.errors``, passed on as it is.

    ``{"message": str, "extensions": {"code": ...}}``, optionally with ``path``; gateway
    code builds these (not resolvers' exceptions), so the message is trusted. A missing
    code becomes ``INTERNAL``.
    """
    extensions = dict(item.get("extensions") or {})
    extensions.setdefault("code", ErrorCode.INTERNAL)
    shaped: dict[str, Any] = {"message": str(item.get("message", ""))}
    if item.get("path") is not None:
        shaped["path"] = list(item["path"])
    shaped["extensions"] = extensions
    return shaped


def error_codes(errors: Iterable[dict[str, Any]]) -> tuple[str, ...]:
    """The distinct ``extensions.code`` values of shaped errors, in first-seen order."""
    seen: dict[str, None] = {}
    for error in errors:
        seen.setdefault(str(error.get("extensions", {}).get("code", ErrorCode.INTERNAL)))
    return tuple(seen)


def _shape(error: GraphQLError, message: str, extensions: dict[str, Any]) -> dict[str, Any]:
    shaped: dict[str, Any] = {"message": message}
    if error.locations:
        shaped["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path is not None:
        shaped["path"] = list(error.path)
    shaped["extensions"] = extensions
    return shaped
