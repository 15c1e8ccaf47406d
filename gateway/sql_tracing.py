"""SQL statement spans: the SQLAlchemy instrumentation, kept to parameterised SQL.

One client span per statement (``db.statement`` / ``db.query.text``, ``db.system``...),
child of whatever span is current, so statements nest under the request, the GraphQL
execution, the fan-out's source call or the ingestion stage that ran them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opentelemetry import trace
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.instrumentation.sqlalchemy.engine import _handle_error as _otel_handle_error
from opentelemetry.trace import Status, StatusCode
from sqlalchemy import Engine, event
from sqlalchemy.engine import ExceptionContext


class StatementTracer(EngineTracer):
    """The SQLAlchemy instrumentation, kept to parameterised SQL and silent when unused.

    ``db.statement`` is the SQL as sent with its placeholders (``?``, ``%(name)s``): bound
    values are never read, and the SQL commenter stays off. A failing statement's span gets
    the error's class only: database messages quote the values that failed (a duplicate
    key, a bad cast), so the instrumentation's own handler, which copies the message into
    the span status, is replaced. Long statements (a multi-row INSERT's placeholders) are
    cut to the attribute length limit here, rather than by the SDK with a logged warning.
    """

    def __init__(
        self,
        tracer: trace.Tracer,
        engine: Engine,
        usage: Any,
        max_length: int,
        exporting: Callable[[], bool],
    ) -> None:
        self._exporting = exporting
        self._max_length = max_length
        super().__init__(  # type: ignore[no-untyped-call]  # the instrumentation is untyped
            tracer, engine, usage, enable_commenter=False
        )
        event.remove(engine, "handle_error", _otel_handle_error)
        event.listen(engine, "handle_error", _end_failed_statement)

    def _before_cur_exec(  # noqa: PLR0917 - the instrumentation's signature
        self,
        conn: Any,
        cursor: Any,
        statement: Any,
        params: Any,
        context: Any,
        executemany: bool,
    ) -> tuple[Any, Any]:
        if not self._exporting():
            return statement, params
        result: tuple[Any, Any] = super()._before_cur_exec(  # type: ignore[no-untyped-call]
            conn, cursor, statement, params, context, executemany
        )
        return result

    def _set_db_client_span_attributes(
        self, span: trace.Span, statement: Any, db_name: Any, attrs: Any
    ) -> None:
        if isinstance(statement, str) and len(statement) > self._max_length:
            statement = statement[: self._max_length - 1] + "\u2026"
        super()._set_db_client_span_attributes(span, statement, db_name, attrs)


def _end_failed_statement(context: ExceptionContext) -> None:
    span = getattr(context.execution_context, "_otel_span", None)
    if span is None:
        return
    if span.is_recording():
        span.set_attribute("error.type", type(context.original_exception).__name__)
        span.set_status(Status(StatusCode.ERROR))
    span.end()
