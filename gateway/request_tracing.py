"""A server span per HTTP request, its ids in the response headers, and the HTTP metrics.

``TracingMiddleware`` wraps the whole application, Starlette's error middleware included,
so every response carries the request's trace context, a 500 too:

* ``traceparent: 00-<trace id>-<span id>-<flags>`` (W3C Trace Context), and
* ``Server-Timing: traceparent;desc="00-<trace id>-<span id>-<flags>"``, the form browser
  instrumentations read (response headers are otherwise hidden from page scripts).

An incoming ``traceparent`` (and ``tracestate``) is continued: the request's span is its
child. The span is named ``METHOD /route/{template}`` once routing has chosen the route;
its attributes are the method, the route template and the status, never the path a
client sent or its query string (either could hold anything). ``request_trace_ids()``
gives the request span's ids to the audit trail, from any thread the request runs in.

Metric: ``http.server.request.duration`` (seconds; its count is the request count) by
method, route template and status code.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from typing import Any, Final

from opentelemetry import context, trace
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.applications import Starlette
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.telemetry import Telemetry

_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_CARRIED: Final = (b"traceparent", b"tracestate")
_DURATION_BUCKETS: Final = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)  # fmt: skip
_propagator: Final = TraceContextTextMapPropagator()
_request_span: ContextVar[SpanContext | None] = ContextVar("soteria_request_span", default=None)


def request_trace_ids() -> tuple[str | None, str | None]:
    """(trace id, span id) of the current request's server span, as lowercase hex.

    Outside a request: the current span's, if it is valid; (None, None) otherwise.
    """
    span_context = _request_span.get() or trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None, None
    return f"{span_context.trace_id:032x}", f"{span_context.span_id:016x}"


class TracingMiddleware:
    def __init__(self, app: ASGIApp, telemetry: Telemetry) -> None:
        self.app = app
        self.tracer = telemetry.tracer(__name__)
        self.duration = telemetry.meter(__name__).create_histogram(
            "http.server.request.duration",
            unit="s",
            description="Duration of HTTP server requests.",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method = scope["method"] if scope["method"] in _METHODS else "_OTHER"
        carrier = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope["headers"]
            if name in _CARRIED
        }
        parent = _propagator.extract(carrier) if carrier else context.get_current()
        span = self.tracer.start_span(
            method if method != "_OTHER" else "HTTP",
            context=parent,
            kind=SpanKind.SERVER,
            attributes={
                "http.request.method": method,
                "url.scheme": scope.get("scheme", "http"),
                "network.protocol.version": scope.get("http_version", "1.1"),
            },
            record_exception=False,  # exception messages may quote what a client sent
            set_status_on_exception=False,
        )
        span_context = span.get_span_context()
        extra_headers = _trace_headers(span)
        status: int | None = None
        error_type: str | None = None

        async def send_traced(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [*message.get("headers", ()), *extra_headers]
            await send(message)

        context_token = context.attach(trace.set_span_in_context(span, parent))
        span_token = _request_span.set(span_context)
        try:
            await self.app(scope, receive, send_traced)
        except BaseException as exc:
            error_type = type(exc).__name__
            raise
        finally:
            _request_span.reset(span_token)
            context.detach(context_token)
            self._finish(
                span, scope, method, status=status or 500, error=error_type, started=started
            )

    def _finish(
        self,
        span: trace.Span,
        scope: Scope,
        method: str,
        *,
        status: int,
        error: str | None,
        started: float,
    ) -> None:
        route = getattr(scope.get("route"), "path", None)
        attributes: dict[str, str | int] = {
            "http.request.method": method,
            "http.response.status_code": status,
        }
        if isinstance(route, str):
            attributes["http.route"] = route
        if status >= 500:
            attributes["error.type"] = error or str(status)
        self.duration.record(time.perf_counter() - started, attributes)
        if span.is_recording():
            if isinstance(route, str):
                span.update_name(f"{method if method != '_OTHER' else 'HTTP'} {route}")
            span.set_attributes(attributes)
            if status >= 500:
                span.set_status(Status(StatusCode.ERROR))
        span.end()


def _trace_headers(span: trace.Span) -> list[tuple[bytes, bytes]]:
    carrier: dict[str, str] = {}
    _propagator.inject(carrier, context=trace.set_span_in_context(span))
    traceparent = carrier.get("traceparent")
    if traceparent is None:  # the SDK is disabled and no parent came in: no ids to give
        return []
    return [
        (b"traceparent", traceparent.encode("ascii")),
        (b"server-timing", f'traceparent;desc="{traceparent}"'.encode("ascii")),
    ]


class TracedStarlette(Starlette):
    """Starlette with ``TracingMiddleware`` outside everything, the error middleware too."""

    def __init__(self, telemetry: Telemetry, **kwargs: Any) -> None:
        self.telemetry = telemetry
        super().__init__(**kwargs)

    def build_middleware_stack(self) -> ASGIApp:
        return TracingMiddleware(super().build_middleware_stack(), self.telemetry)
