"""``GET /v1/indicators.csv``: the indicator table for Excel and Power BI.

The same arguments as GraphQL ``indicatorTable`` (as query parameters; lists
comma-separated), the same scopes and the same disclosure control: one row per cell with
the force's name, the period's label and dates. UTF-8 with a BOM so Excel opens it right.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from auth.guard import require
from auth.policy import Action, sees_exact
from gateway import audit_log
from gateway.audit import DisclosureTally, Outcome, Purpose
from gateway.graphql_context import PurposeRequiredError, declared_purpose, tally_table
from gateway.indicators.service import IndicatorService, TableQueryError, Viewer
from gateway.problems import problem
from gateway.services import services_of
from schema import codelists
from schema.graphql.query import BadArgumentError, table_query
from schema.tables import IndicatorTable

CSV_COLUMNS = (
    "indicator",
    "force",
    "force_name",
    "group",
    "period",
    "period_start",
    "period_end",
    "breakdown",
    "value",
    "numerator",
    "denominator",
    "suppressed",
    "exact",
    "note",
)


def _list(request: Request, name: str) -> list[str] | None:
    raw = request.query_params.get(name)
    return [v.strip() for v in raw.split(",") if v.strip()] if raw else None


def render_csv(table: IndicatorTable) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for c in table.cells:
        force = codelists.force(c.force) if c.force else None
        writer.writerow(
            [
                c.indicator,
                c.force or "",
                force.name if force else "",
                c.group or "",
                c.period.label,
                c.period.start.isoformat(),
                c.period.end.isoformat(),
                c.breakdown or "",
                "" if c.value is None else c.value,
                "" if c.numerator is None else c.numerator,
                "" if c.denominator is None else c.denominator,
                "true" if c.suppressed else "false",
                "true" if c.exact else "false",
                c.note or "",
            ]
        )
    return "\ufeff" + out.getvalue()


async def indicators_csv(request: Request) -> Response:
    principal = require(request, Action.READ_INDICATORS)
    services = services_of(request)
    try:
        purpose = declared_purpose(request, services.settings.purposes)
    except PurposeRequiredError as exc:
        _refused(request, exc.reason)
        return problem(400, "purpose_required", str(exc))
    params = request.query_params
    try:
        as_at = params.get("asAt")
        query = table_query(
            granularity=params.get("granularity", ""),
            from_=dt.date.fromisoformat(params.get("from", "")),
            to=dt.date.fromisoformat(params.get("to", "")),
            indicators=_list(request, "indicators"),
            forces=_list(request, "forces"),
            scope=params.get("scope"),
            breakdown=params.get("breakdown"),
            as_at=dt.datetime.fromisoformat(as_at) if as_at else None,
            groups=_list(request, "groups"),
        )
    except (ValueError, BadArgumentError) as exc:
        _refused(request, "bad_request", purpose)
        return problem(
            400,
            "bad_request",
            f"Invalid arguments: {exc}. Required: granularity (MONTH, QUARTER, "
            "FINANCIAL_YEAR, ROLLING_YEAR), from and to (YYYY-MM-DD).",
        )
    service: IndicatorService = services.extras["indicators"]
    viewer = Viewer(own_force=principal.force, exact_everything=sees_exact(principal, None))
    try:
        table = await run_in_threadpool(service.table, query, viewer)
    except TableQueryError as exc:
        _refused(request, "bad_request", purpose)
        return problem(400, "bad_request", str(exc))
    missing = ",".join(f"{m.force}={m.reason}" for m in table.coverage.missing)
    body = render_csv(table).encode("utf-8")
    disclosed = DisclosureTally()
    tally_table(disclosed, table)
    audit_log.standalone(
        request,
        audit_log.event(
            request,
            "indicators:export",
            Outcome.ALLOWED,
            purpose=purpose,
            forces=tuple(disclosed.forces),
            periods=tuple(disclosed.periods),
            disclosure=disclosed.disclosure(hashlib.sha256(body).hexdigest()),
        ),
    )
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="soteria-indicators.csv"',
            "Soteria-Coverage-Missing": missing[:4000],
        },
    )


def _refused(request: Request, reason: str, purpose: Purpose | None = None) -> None:
    """Nothing was disclosed: the export failed, and the trail says why."""
    refused = audit_log.event(
        request, "indicators:export", Outcome.ERROR, purpose=purpose, reason=reason
    )
    audit_log.standalone(request, refused)


routes = [Route("/v1/indicators.csv", indicators_csv, methods=["GET"])]
