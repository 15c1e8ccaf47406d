"""The query root: thin resolvers that read arguments and call the context's ports."""

from __future__ import annotations

import datetime as dt
from typing import Any

import graphene

from schema import codelists
from schema.graphql import audit, enums, types
from schema.graphql.permissions import requires
from schema.indicators.catalogue import CATALOGUE, Dimension, IndicatorId, OffenceScope
from schema.periods import Granularity, periods_starting_between
from schema.tables import IndicatorTable, TableQuery

MAX_PAGE = 100


class BadArgumentError(ValueError):
    """An argument the caller can fix; the transport reports it as BAD_REQUEST."""


def _indicator_ids(values: list[str] | None) -> tuple[IndicatorId, ...] | None:
    if values is None:
        return None
    known = {i.id.value for i in CATALOGUE}
    unknown = [v for v in values if v not in known]
    if unknown:
        raise BadArgumentError(f"Unknown indicator(s): {', '.join(unknown)}.")
    return tuple(IndicatorId(v) for v in dict.fromkeys(values))


def table_query(
    *,
    granularity: Any,
    from_: dt.date,
    to: dt.date,
    indicators: list[str] | None = None,
    forces: list[str] | None = None,
    scope: Any = None,
    breakdown: Any = None,
    as_at: dt.datetime | None = None,
    groups: list[Any] | None = None,
) -> TableQuery:
    """Arguments to a ``TableQuery`` (shared with the CSV export's query string)."""
    if as_at is not None and as_at.tzinfo is None:
        raise BadArgumentError("asAt needs a UTC offset, e.g. 2025-04-01T00:00:00Z.")
    return TableQuery(
        granularity=Granularity(getattr(granularity, "value", granularity)),
        from_date=from_,
        to_date=to,
        indicators=_indicator_ids(indicators),
        forces=tuple(forces) if forces is not None else None,
        scope=OffenceScope(getattr(scope, "value", scope) or OffenceScope.ALL_RASSO),
        breakdown=Dimension(getattr(breakdown, "value", breakdown)) if breakdown else None,
        as_at=as_at,
        groups=tuple(
            getattr(g, "value", g) for g in (groups if groups is not None else ["NATIONAL"])
        ),
    )


class Query(graphene.ObjectType):
    forces = graphene.List(
        graphene.NonNull(types.Force),
        required=True,
        description="The 43 forces of England and Wales.",
    )
    indicators = graphene.List(
        graphene.NonNull(types.Indicator), required=True, description="The Indicator Catalogue v1."
    )
    me = graphene.Field(types.Me, required=True, description="Who the token says you are.")
    indicator_table = graphene.Field(
        types.IndicatorTable,
        required=True,
        description="Standard RASSO indicators per force, with national, regional and "
        "group totals as cells of the same table, under disclosure control (exact for "
        "your own force or with indicators:exact). Periods whose start falls in "
        "[from, to]. Missing forces are listed in coverage, never counted as 0.",
        indicators=graphene.List(
            graphene.NonNull(graphene.ID), description="Indicator ids; omitted: all."
        ),
        forces=graphene.List(
            graphene.NonNull(graphene.ID), description="Force codes; omitted: all 43."
        ),
        granularity=graphene.Argument(enums.Granularity, required=True),
        from_=graphene.Argument(graphene.Date, required=True, name="from"),
        to=graphene.Date(required=True),
        scope=graphene.Argument(enums.OffenceScope, default_value=OffenceScope.ALL_RASSO.value),
        breakdown=graphene.Argument(enums.Dimension),
        as_at=graphene.DateTime(description="Figures as they stood at this moment."),
        groups=graphene.List(
            graphene.NonNull(enums.GroupBy),
            description="Totals beside the forces; default [NATIONAL].",
        ),
    )
    data_quality = graphene.List(
        graphene.NonNull(types.DataQuality),
        required=True,
        description="Per force: last submission, records held, field completeness, periods "
        "with data (monthly, over the last 24 months).",
        forces=graphene.List(graphene.NonNull(graphene.ID)),
    )
    submissions = graphene.Field(
        types.SubmissionPage,
        required=True,
        description="A force's submission receipts, newest first.",
        force=graphene.ID(required=True),
        first=graphene.Int(default_value=20),
        after=graphene.String(),
    )

    audit_events = graphene.Field(
        audit.AuditEventPage,
        required=True,
        description="The audit trail, oldest first (needs audit:read and a declared "
        "Soteria-Purpose; a force-bound client must name its own force). Every read is "
        "itself recorded as an audit:read event.",
        actor=graphene.String(description="Only events of this OAuth client id."),
        force=graphene.ID(description="Only events of a client bound to, or touching, this force."),
        action=graphene.String(
            description="Only this action (auth:token:issued), or a namespace (auth:*)."
        ),
        outcome=graphene.Argument(audit.AuditOutcome, description="Only this outcome."),
        purpose=graphene.String(description="Only this declared purpose code."),
        from_=graphene.Argument(
            graphene.DateTime, name="from", description="From this moment (inclusive)."
        ),
        to=graphene.DateTime(description="Until this moment (exclusive)."),
        first=graphene.Int(default_value=20, description=f"Page size, 1 to {MAX_PAGE}."),
        after=graphene.String(description="The endCursor of the previous page."),
    )

    @staticmethod
    def resolve_forces(parent: Any, info: Any) -> tuple[codelists.Force, ...]:
        info.context.caller()
        return codelists.forces()

    @staticmethod
    def resolve_indicators(parent: Any, info: Any) -> Any:
        info.context.caller()
        return CATALOGUE

    @staticmethod
    def resolve_me(parent: Any, info: Any) -> Any:
        return info.context.caller()

    @staticmethod
    @requires("read_indicators")
    def resolve_indicator_table(parent: Any, info: Any, **args: Any) -> IndicatorTable:
        query = table_query(
            granularity=args["granularity"],
            from_=args["from_"],
            to=args["to"],
            indicators=args.get("indicators"),
            forces=args.get("forces"),
            scope=args.get("scope"),
            breakdown=args.get("breakdown"),
            as_at=args.get("as_at"),
            groups=args.get("groups"),
        )
        table: IndicatorTable = info.context.indicators.table(query)
        for failure in table.failures:
            info.context.add_error(
                f"The source of force {failure.force} is unavailable ({failure.reason}); "
                "its cells are absent and totals are incomplete.",
                "SOURCE_UNAVAILABLE",
                force=failure.force,
            )
        return table

    @staticmethod
    @requires("read_indicators")
    def resolve_data_quality(parent: Any, info: Any, forces: list[str] | None = None) -> Any:
        today = dt.datetime.now(dt.UTC).date()
        start = (today.replace(day=1) - dt.timedelta(days=700)).replace(day=1)
        periods = periods_starting_between(Granularity.MONTH, start, today)
        return info.context.indicators.quality(forces, periods)

    @staticmethod
    @requires("read_submission", force_argument="force")
    def resolve_submissions(
        parent: Any, info: Any, force: str, first: int = 20, after: str | None = None
    ) -> Any:
        if not 1 <= first <= MAX_PAGE:
            raise BadArgumentError(f"first must be from 1 to {MAX_PAGE}.")
        if codelists.force(force) is None:
            raise BadArgumentError(f"There is no force '{force}'.")
        return info.context.submissions.page(force, first, after)

    @staticmethod
    @requires("read_audit", force_argument="force")
    def resolve_audit_events(
        parent: Any, info: Any, first: int = 20, after: str | None = None, **filters: Any
    ) -> Any:
        if not 1 <= first <= MAX_PAGE:
            raise BadArgumentError(f"first must be from 1 to {MAX_PAGE}.")
        for name in ("from_", "to"):
            moment = filters.get(name)
            if moment is not None and moment.tzinfo is None:
                raise BadArgumentError("from and to need a UTC offset, e.g. 2026-01-01T00:00:00Z.")
        outcome = filters.get("outcome")
        if outcome is not None:
            filters["outcome"] = getattr(outcome, "value", outcome)
        return info.context.audit.page(filters, first, after)
