"""Spans and metrics of the push path, through the OpenTelemetry API only.

The SDK (exporters, sampling) is set up by the running service; without it every call here
is a no-op. Spans of one submission::

    ingest                          force, format, dry run; outcome, row counts
    ├── ingest.parse_validate_stage the body parsed, validated and staged as it streams
    │   └── ingest.merge ...        (PostgreSQL, free force: batches merged meanwhile)
    ├── ingest.merge                classify the staged rows against records, apply
    │   └── ingest.rollup           the change hooks (indicator rollups), before and after
    └── ingest.commit               receipt counts, the audit event, commit

Metrics: ``soteria.submissions`` and ``soteria.submission.rows`` (counters) by force and
outcome: ``accepted``, ``dry_run``, ``replayed``, ``refused`` (nothing stored; the rows of
a refused submission are all refused) or ``error``.

Attributes are the force code, the format, counts, outcomes and error classes: never a
value from a row (crime or suspect references, dates), the idempotency key, or an
exception's message (messages quote values).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Concatenate, Final, ParamSpec, TypeVar

from opentelemetry import metrics, trace
from opentelemetry.trace import Span, Status, StatusCode

from adapters.errors import FormatError
from adapters.store.errors import (
    BodyTooLargeError,
    IdempotencyConflictError,
    SubmissionRefusedError,
    UnknownForceError,
)

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from adapters.store.ingest import IngestResult, SubmissionRequest

P = ParamSpec("P")
R = TypeVar("R")

tracer = trace.get_tracer(__name__)
_meter = metrics.get_meter(__name__)
_submissions = _meter.create_counter(
    "soteria.submissions", unit="{submission}", description="Submissions by force and outcome."
)
_rows = _meter.create_counter(
    "soteria.submission.rows",
    unit="{row}",
    description="Rows of submissions by force and outcome (all rows of a refused one).",
)
REFUSALS: Final[dict[type[Exception], str]] = {
    SubmissionRefusedError: "invalid_rows",
    FormatError: "unreadable_body",
    BodyTooLargeError: "body_too_large",
    IdempotencyConflictError: "idempotency_conflict",
    UnknownForceError: "unknown_force",
}


@dataclass
class _Submission:
    rows: int | None = None


_current: ContextVar[_Submission | None] = ContextVar("soteria_submission", default=None)


def observed_ingest(
    fn: Callable[Concatenate[Engine, SubmissionRequest, P], IngestResult],
) -> Callable[Concatenate[Engine, SubmissionRequest, P], IngestResult]:
    """The ``ingest`` span around one submission, and its count in the metrics."""

    @functools.wraps(fn)
    def wrapper(
        engine: Engine, request: SubmissionRequest, /, *args: P.args, **kwargs: P.kwargs
    ) -> IngestResult:
        seen = _Submission()
        token = _current.set(seen)
        attributes: dict[str, str | bool] = {
            "soteria.force": request.force,
            "soteria.format": request.format,
            "soteria.dry_run": request.dry_run,
        }
        with tracer.start_as_current_span(
            "ingest", attributes=attributes, record_exception=False, set_status_on_exception=False
        ) as span:
            try:
                result = fn(engine, request, *args, **kwargs)
            except BaseException as exc:
                reason = next((r for t, r in REFUSALS.items() if isinstance(exc, t)), None)
                outcome = "refused" if reason else "error"
                span.set_attributes({"soteria.outcome": outcome, "error.type": _error_type(exc)})
                if reason is not None:
                    span.set_attribute("soteria.refusal", reason)
                else:
                    span.set_status(Status(StatusCode.ERROR))
                _count(request.force, outcome, seen.rows)
                raise
            finally:
                _current.reset(token)
            receipt = result.receipt
            outcome = "replayed" if result.replayed else receipt.status
            span.set_attributes(
                {
                    "soteria.outcome": outcome,
                    "soteria.rows": receipt.rows,
                    "soteria.rows.inserted": receipt.inserted,
                    "soteria.rows.updated": receipt.updated,
                    "soteria.rows.unchanged": receipt.unchanged,
                    "soteria.rows.stale": receipt.stale,
                    "soteria.warning_count": receipt.warning_count,
                }
            )
            _count(request.force, outcome, receipt.rows)
            return result

    return wrapper


def _count(force: str, outcome: str, rows: int | None) -> None:
    attributes = {"soteria.force": force, "soteria.outcome": outcome}
    _submissions.add(1, attributes)
    if rows:
        _rows.add(rows, attributes)


def _error_type(exc: BaseException) -> str:
    return type(exc).__name__


@contextmanager
def stage(name: str) -> Iterator[Span]:
    """A span for one stage of the ingestion; an exception marks it with its class only."""
    with tracer.start_as_current_span(
        name, record_exception=False, set_status_on_exception=False
    ) as span:
        try:
            yield span
        except BaseException as exc:
            span.set_attribute("error.type", _error_type(exc))
            raise


def traced_stage(name: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """``stage(name)`` around every call of the decorated function."""

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            with stage(name):
                return fn(*args, **kwargs)

        return wrapper

    return decorate


def validated(span: Span, rows: int, error_total: int, warning_total: int) -> None:
    """Counts of the streamed stage, on its span and for the submission's metrics."""
    span.set_attributes(
        {
            "soteria.rows": rows,
            "soteria.error_count": error_total,
            "soteria.warning_count": warning_total,
        }
    )
    seen = _current.get()
    if seen is not None:
        seen.rows = rows
