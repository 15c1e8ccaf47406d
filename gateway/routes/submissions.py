"""The push path over HTTP: ``/v1/forces/{force}/submissions``.

Routes only translate: HTTP in, a call into ``adapters.store.ingest``, a receipt or a
problem document out. Who may call is decided by ``gateway.access`` from the policy table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.errors import FormatError
from adapters.store import receipts
from adapters.store.errors import (
    BodyTooLargeError,
    IdempotencyConflictError,
    SubmissionRefusedError,
)
from adapters.store.ingest import IngestResult, SubmissionRequest, check_replay, ingest
from adapters.store.receipts import Receipt
from auth.guard import require
from auth.policy import Action
from gateway import audit_log
from gateway.audit import AuditEvent, Disclosure, Outcome
from gateway.bodies import MeteredBody, run_with_body
from gateway.problems import json_response, problem
from gateway.services import services_of
from gateway.submission_formats import UnsupportedFormatError, choose_format
from schema import codelists

MAX_KEY_LENGTH = 200
PAGE_MAX = 100


def _known_force(request: Request, force: str) -> Response | None:
    """404 for a force that does not exist, or that this deployment does not hold."""
    if codelists.force(force) is None:
        return problem(404, "unknown_force", f"There is no force '{force}'.")
    services = services_of(request)
    node_force = services.settings.node_force
    if node_force is not None and force != node_force:
        return problem(404, "unknown_force", f"This node holds only force {node_force}.")
    config = services.forces.get(force)
    if config.source == "remote":
        return problem(
            409,
            "force_is_remote",
            f"Force {force} keeps its records on its own node ({config.url}); push there.",
        )
    return None


async def create_submission(request: Request) -> Response:
    force = request.path_params["force"]
    if (missing := _known_force(request, force)) is not None:
        return missing
    principal = require(request, Action.PUSH_SUBMISSION, force)
    services = services_of(request)
    key = request.headers.get("idempotency-key", "").strip()
    if not key:
        return _refused_early(
            request,
            force,
            problem(
                400,
                "idempotency_key_required",
                "The Idempotency-Key header is required: a unique value per distinct "
                "submission (retries of the same submission reuse it).",
            ),
        )
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        return _refused_early(
            request,
            force,
            problem(
                400,
                "invalid_idempotency_key",
                f"The Idempotency-Key must be 1-{MAX_KEY_LENGTH} printable characters.",
            ),
        )
    dry_run_raw = request.query_params.get("dry_run", "false").lower()
    if dry_run_raw not in {"true", "false", "1", "0"}:
        return _refused_early(
            request, force, problem(400, "invalid_parameter", "dry_run must be true or false.")
        )
    dry_run = dry_run_raw in {"true", "1"}
    try:
        fmt = choose_format(
            services.forces,
            force,
            request.headers.get("content-type"),
            request.query_params.get("format"),
        )
    except UnsupportedFormatError as exc:
        return _refused_early(request, force, problem(415, "unsupported_media_type", str(exc)))
    submission = SubmissionRequest(
        force=force,
        idempotency_key=key,
        actor=principal.client_id,
        format=fmt.name,
        dry_run=dry_run,
    )

    def work(chunks: Iterator[bytes]) -> IngestResult:
        body = MeteredBody(chunks, services.settings.max_body_bytes)
        if not dry_run:
            existing = check_replay(services.engine, force, key)
            if existing is not None:
                if existing.content_sha256 != body.sha256():
                    raise IdempotencyConflictError(key)
                return IngestResult(existing, replayed=True)
        parsed = fmt.parse(iter(body))
        return ingest(
            services.engine,
            submission,
            parsed,
            body.sha256,
            now=services.clock,
            hooks=services.ingest_hooks,
            before_commit=lambda conn, receipt: audit_log.in_transaction(
                request, conn, _submission_event(request, "submission:create", force, receipt)
            ),
        )

    try:
        result = await run_with_body(request, work)
    except (
        SubmissionRefusedError,
        FormatError,
        BodyTooLargeError,
        IdempotencyConflictError,
    ) as refused_exc:
        audit_log.standalone(
            request,
            audit_log.event(
                request,
                "submission:refused",
                Outcome.DENIED,
                forces=(force,),
                reason=_REFUSAL_REASONS[type(refused_exc)],
            ),
        )
        return _refusal(refused_exc)
    if result.replayed or dry_run:
        action = "submission:replay" if result.replayed else "submission:dry_run"
        audit_log.standalone(request, _submission_event(request, action, force, result.receipt))
    receipt = result.receipt.as_json()
    if result.replayed:
        return json_response(receipt, 200, headers={"Idempotent-Replayed": "true"})
    return json_response(receipt, 200 if dry_run else 201)


def _refused_early(request: Request, force: str, refusal: Response) -> Response:
    """A push refused before its body was read is audited like any other refusal."""
    reason = {400: "bad_request", 415: "unsupported_media_type"}.get(refusal.status_code)
    audit_log.standalone(
        request,
        audit_log.event(
            request, "submission:refused", Outcome.DENIED, forces=(force,), reason=reason
        ),
    )
    return refusal


def _read_event(request: Request, force: str, rows: int | None, reason: str | None = None) -> None:
    """Reading receipts is a consultation of a force's submissions: audited."""
    outcome = Outcome.ALLOWED if reason is None else Outcome.ERROR
    audit_log.standalone(
        request,
        audit_log.event(
            request,
            "submission:read",
            outcome,
            forces=(force,),
            disclosure=Disclosure(rows=rows),
            reason=reason,
        ),
    )


def _submission_event(request: Request, action: str, force: str, receipt: Receipt) -> AuditEvent:
    return audit_log.event(
        request,
        action,
        Outcome.ALLOWED,
        forces=(force,),
        disclosure=Disclosure(rows=receipt.rows),
    )


_REFUSAL_REASONS: dict[type[Exception], str] = {
    SubmissionRefusedError: "invalid_rows",
    FormatError: "unreadable_body",
    BodyTooLargeError: "body_too_large",
    IdempotencyConflictError: "idempotency_conflict",
}


def _refusal(exc: Exception) -> Response:
    """The problem document for a refused push (nothing was stored)."""
    if isinstance(exc, SubmissionRefusedError):
        return problem(
            422,
            "submission_refused",
            f"The submission has {exc.total} error(s); nothing was stored. Fix every "
            "listed row and push again.",
            error_count=exc.total,
            errors=[i.as_dict() for i in exc.issues],
            errors_truncated=exc.total > len(exc.issues),
        )
    if isinstance(exc, FormatError):
        return problem(400, exc.code, exc.message, row=exc.row)
    if isinstance(exc, BodyTooLargeError):
        return problem(413, "body_too_large", str(exc))
    return problem(409, "idempotency_conflict", str(exc))


async def get_submission(request: Request) -> Response:
    force = request.path_params["force"]
    if (missing := _known_force(request, force)) is not None:
        return missing
    require(request, Action.READ_SUBMISSION, force)
    services = services_of(request)
    with services.engine.connect() as conn:
        found = receipts.get_receipt(conn, force, request.path_params["submission_id"])
    if found is None:
        _read_event(request, force, None, "unknown_submission")
        return problem(404, "unknown_submission", "There is no such submission for this force.")
    _read_event(request, force, 1)
    return json_response(found.as_json())


def _parse_cursor(raw: str) -> tuple[dt.datetime, str]:
    at, _, sid = raw.partition("|")
    return dt.datetime.fromisoformat(at), sid


async def list_submissions(request: Request) -> Response:
    force = request.path_params["force"]
    if (missing := _known_force(request, force)) is not None:
        return missing
    require(request, Action.READ_SUBMISSION, force)
    services = services_of(request)
    try:
        limit = int(request.query_params.get("limit", "20"))
        before = request.query_params.get("after")
        cursor = _parse_cursor(before) if before else None
    except ValueError:
        _read_event(request, force, None, "bad_request")
        return problem(
            400,
            "invalid_parameter",
            "limit must be a number and after a cursor from a previous page.",
        )
    if not 1 <= limit <= PAGE_MAX:
        _read_event(request, force, None, "bad_request")
        return problem(400, "invalid_parameter", f"limit must be from 1 to {PAGE_MAX}.")
    with services.engine.connect() as conn:
        page = receipts.list_receipts(conn, force, limit=limit + 1, before=cursor)
    more = len(page) > limit
    page = page[:limit]
    _read_event(request, force, len(page))
    next_cursor = (
        f"{page[-1].received_at.isoformat()}|{page[-1].submission_id}" if more and page else None
    )
    return json_response({"items": [r.as_json() for r in page], "next": next_cursor})


routes = [
    Route("/v1/forces/{force}/submissions", create_submission, methods=["POST"]),
    Route("/v1/forces/{force}/submissions", list_submissions, methods=["GET"]),
    Route("/v1/forces/{force}/submissions/{submission_id}", get_submission, methods=["GET"]),
]
