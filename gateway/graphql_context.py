"""The GraphQL request context: the gateway's services behind ``schema.graphql``'s ports.

Each port also adds what it served to the request's ``DisclosureTally`` (kept on
``request.state.audit_disclosure``), which the operation's audit event reports once the
response is built: forces and periods touched, rows, cells and suppressed cells.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.requests import Request

from adapters.store import receipts
from adapters.store.errors import IdempotencyConflictError, SubmissionRefusedError
from adapters.store.ingest import SubmissionRequest, ingest
from auth.errors import MissingTokenError
from auth.guard import current_principal, require
from auth.policy import Action, sees_exact
from auth.principal import Principal
from gateway import audit_log
from gateway.audit import (
    AuditQueryError,
    Disclosure,
    EventFilter,
    Outcome,
    Purpose,
    parse_purpose,
    query_events,
)
from gateway.audit.tally import DisclosureTally, period_item
from gateway.graphql.scalars import prebuilt
from gateway.indicators.service import IndicatorService, Viewer
from gateway.services import Services
from schema.graphql.context import Caller
from schema.graphql.query import BadArgumentError
from schema.periods import Period
from schema.tables import IndicatorTable, TableQuery

PAGE_CURSOR_SEPARATOR = "|"
# Reading indicator data or the audit trail needs a declared purpose (Soteria-Purpose).
PURPOSE_ACTIONS = frozenset({Action.READ_INDICATORS.value, Action.READ_AUDIT.value})
PURPOSE_HEADER = "soteria-purpose"


# What kind of data each policy action reads: decides the audit action of the request.
READS = {
    Action.READ_INDICATORS.value: "indicators",
    Action.READ_INDICATORS_EXACT.value: "indicators",
    Action.READ_FEDERATION_PARTIALS.value: "indicators",
    Action.READ_SUBMISSION.value: "submissions",
    Action.PUSH_SUBMISSION.value: "submissions",
    Action.READ_AUDIT.value: "audit",
}


class PurposeRequiredError(BadArgumentError):
    """No valid ``Soteria-Purpose``; ``reason`` (``purpose_missing``...) goes to the audit."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.reason = f"purpose_{code}"


def declared_purpose(request: Request, allowed: tuple[str, ...]) -> Purpose:
    """The request's declared purpose, or ``PurposeRequiredError`` saying how to declare one."""
    parsed = parse_purpose(request.headers.get(PURPOSE_HEADER), allowed)
    if isinstance(parsed, Purpose):
        return parsed
    raise PurposeRequiredError(
        f"{parsed} Declare why you are reading this data in the Soteria-Purpose header: "
        f"one of {', '.join(allowed)}, optionally followed by '; ' and free text.",
        parsed.code,
    )


@dataclass
class _Rows:
    """Mutation input as a parsed body: the header is every field any record names."""

    records: Sequence[Mapping[str, str | None]]

    @property
    def header(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(k for r in self.records for k in r))

    def __iter__(self) -> Iterator[tuple[int, Mapping[str, str | None]]]:
        for number, record in enumerate(self.records, 1):
            yield number, {k: (v if v != "" else None) for k, v in record.items()}


def tally_table(tally: DisclosureTally, table: IndicatorTable) -> None:
    """What an indicator table discloses (shared with the CSV export)."""
    summary = table.summary()  # counted once per cached table, not per request
    tally.add(
        "indicators",
        rows=len(table.cells),
        cells=summary.shown,
        suppressed=table.suppressed_cells,
        forces=table.coverage.included,
        periods={period_item(label) for label in summary.period_labels},
    )


class IndicatorsPort:
    def __init__(
        self, service: IndicatorService, principal: Principal, tally: DisclosureTally
    ) -> None:
        self._service = service
        self._viewer = Viewer(
            own_force=principal.force, exact_everything=sees_exact(principal, None)
        )
        self._tally = tally

    def table(self, query: TableQuery) -> IndicatorTable:
        table = self._service.table(query, self._viewer)
        tally_table(self._tally, table)
        return table

    def quality(self, forces: Sequence[str] | None, periods: Sequence[Period]) -> list[Any]:
        found = self._service.quality(forces, periods)
        self._tally.add("indicators", rows=len(found), forces=[q.force for q in found])
        return found

    def source_kind(self, force: str) -> str:
        return self._service.sources.kinds.get(force, "local")


class SubmissionsPort:
    def __init__(self, request: Request, services: Services, tally: DisclosureTally) -> None:
        self._request = request
        self._services = services
        principal = current_principal(request)
        if principal is None:
            raise MissingTokenError()
        self._principal = principal
        self._tally = tally

    def page(self, force: str, first: int, after: str | None) -> Mapping[str, Any]:
        cursor = None
        if after:
            at, _, sid = after.partition(PAGE_CURSOR_SEPARATOR)
            cursor = (dt.datetime.fromisoformat(at), sid)
        with self._services.engine.connect() as conn:
            found = receipts.list_receipts(conn, force, limit=first + 1, before=cursor)
        more = len(found) > first
        page = found[:first]
        self._tally.add("submissions", rows=len(page), forces=[force])
        end = (
            (f"{page[-1].received_at.isoformat()}{PAGE_CURSOR_SEPARATOR}{page[-1].submission_id}")
            if page
            else None
        )
        return {
            "items": [r.as_json() for r in page],
            "page_info": {"end_cursor": end, "has_next_page": more},
        }

    def submit(
        self, force: str, key: str, records: Sequence[Mapping[str, str | None]], dry_run: bool
    ) -> Mapping[str, Any]:
        self._tally.add("submissions", forces=[force])
        body = orjson.dumps(list(records), option=orjson.OPT_SORT_KEYS)
        digest = hashlib.sha256(body).hexdigest()
        request = SubmissionRequest(
            force=force,
            idempotency_key=key,
            actor=self._principal.client_id,
            format="graphql",
            dry_run=dry_run,
        )
        try:
            result = ingest(
                self._services.engine,
                request,
                _Rows(records),
                lambda: digest,
                now=self._services.clock,
                hooks=self._services.ingest_hooks,
                # The change is recorded in its own transaction (as on the HTTP push); the
                # request's graphql:mutation event follows once the response is built.
                before_commit=lambda conn, receipt: audit_log.in_transaction(
                    self._request,
                    conn,
                    audit_log.event(
                        self._request,
                        "submission:create",
                        Outcome.ALLOWED,
                        forces=(force,),
                        disclosure=Disclosure(rows=receipt.rows),
                    ),
                ),
            )
        except SubmissionRefusedError as refused:
            return {
                "receipt": None,
                "replayed": False,
                "error_count": refused.total,
                "errors": [i.as_dict() for i in refused.issues],
            }
        except IdempotencyConflictError as exc:
            return {
                "receipt": None,
                "replayed": False,
                "error_count": 1,
                "errors": [
                    {
                        "row": None,
                        "field": "idempotencyKey",
                        "code": "idempotency_conflict",
                        "message": str(exc),
                    }
                ],
            }
        return {
            "receipt": result.receipt.as_json(),
            "replayed": result.replayed,
            "errors": [],
            "error_count": 0,
        }


class AuditPort:
    """``auditEvents``: the trail through ``gateway.audit.query_events``, keyset pages."""

    def __init__(self, services: Services, tally: DisclosureTally) -> None:
        self._services = services
        self._tally = tally

    def page(self, filters: Mapping[str, Any], first: int, after: str | None) -> Mapping[str, Any]:
        if after is not None and not (after.isascii() and after.isdecimal() and len(after) < 20):
            raise BadArgumentError("after must be the endCursor of a previous page.")
        try:
            wanted = EventFilter(
                client_id=filters.get("actor"),
                force=filters.get("force"),
                action=filters.get("action"),
                outcome=filters.get("outcome"),
                purpose=filters.get("purpose"),
                since=filters.get("from_"),
                until=filters.get("to"),
            )
            with self._services.engine.connect() as conn:
                page = query_events(conn, wanted, first, int(after) if after else None)
        except AuditQueryError as exc:
            raise BadArgumentError(f"{exc}.") from exc
        self._tally.add("audit", rows=len(page.events), forces=[filters.get("force")])
        end = page.end_cursor
        return {
            "items": page.events,
            "page_info": {
                "end_cursor": str(end) if end is not None else None,
                "has_next_page": page.has_next_page,
            },
        }


@dataclass
class GatewayContext:
    """Built per request; holds the caller and the ports resolvers may call."""

    request: Request
    services: Services
    errors: list[dict[str, Any]] = field(default_factory=list)
    disclosed: DisclosureTally = field(default_factory=DisclosureTally)
    # Pre-serialised values returned, in order: the transport hashes each only once for
    # the audit's response digest (``gateway.graphql.body_digest``).
    embedded: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.request.state.audit_disclosure = self.disclosed

    def _principal(self) -> Principal:
        principal = current_principal(self.request)
        if principal is None:
            raise MissingTokenError()
        return principal

    def authorize(self, action: str, force: str | None = None) -> None:
        self.disclosed.reads.add(READS[action])
        require(self.request, Action(action), force)
        if action in PURPOSE_ACTIONS:
            try:
                declared_purpose(self.request, self.services.settings.purposes)
            except PurposeRequiredError as exc:
                self.disclosed.reason = exc.reason
                raise

    def caller(self) -> Caller:
        p = self._principal()
        return Caller(p.client_id, p.subject, p.issuer, p.force, tuple(sorted(p.scopes)))

    @property
    def indicators(self) -> IndicatorsPort:
        service: IndicatorService = self.services.extras["indicators"]
        return IndicatorsPort(service, self._principal(), self.disclosed)

    @property
    def submissions(self) -> SubmissionsPort:
        return SubmissionsPort(self.request, self.services, self.disclosed)

    @property
    def audit(self) -> AuditPort:
        self._principal()
        return AuditPort(self.services, self.disclosed)

    def prebuilt(self, payload: bytes) -> orjson.Fragment:
        self.embedded.append(payload)
        return prebuilt(payload)

    def add_error(self, message: str, code: str, **extensions: Any) -> None:
        self.errors.append({"message": message, "extensions": {"code": code, **extensions}})
