"""Object types. Default resolvers read attributes or dict keys; nothing here does I/O."""

from __future__ import annotations

from typing import Any

import graphene
from graphene.types.generic import GenericScalar

from schema import codelists
from schema.graphql.context import RequestContext
from schema.indicators.catalogue import Indicator as IndicatorSpec
from schema.tables import IndicatorTable as Table


class Force(graphene.ObjectType):
    """One of the 43 territorial police forces of England and Wales."""

    code = graphene.ID(required=True, description="Force code, e.g. west-yorkshire.")
    name = graphene.String(required=True)
    ons_code = graphene.String(required=True, description="ONS Police Force Area code.")
    region = graphene.String(required=True, description="ONS region (Wales as one).")
    country = graphene.String(required=True)
    source_kind = graphene.String(
        required=True,
        description="Where its records live: local (this deployment) or remote (a force node).",
    )

    @staticmethod
    def resolve_source_kind(parent: codelists.Force, info: Any) -> str:
        return str(info.context.indicators.source_kind(parent.code))


class Indicator(graphene.ObjectType):
    """An entry of the Indicator Catalogue v1."""

    id = graphene.ID(required=True)
    title = graphene.String(required=True)
    description = graphene.String(required=True, description="The exact definition.")
    unit = graphene.String(required=True, description="count, ratio or days (a median).")
    basis = graphene.String(required=True, description="in-period, cohort or snapshot.")
    pillar = graphene.String(required=True)
    numerator = graphene.String(required=True, description="What is counted (the numerator).")
    denominator = graphene.String(description="A ratio's denominator.")
    version = graphene.String(required=True)

    @staticmethod
    def resolve_id(parent: IndicatorSpec, info: Any) -> str:
        return parent.id.value


class Me(graphene.ObjectType):
    """The caller, as the token presented says."""

    client_id = graphene.String(required=True)
    subject = graphene.String(required=True)
    issuer = graphene.String(required=True)
    force = graphene.String(description="The force the client is bound to, if any.")
    scopes = graphene.List(graphene.NonNull(graphene.String), required=True)


class Period(graphene.ObjectType):
    label = graphene.String(required=True, description="e.g. 2024-05, 2024/25 Q1, YE 2024-06.")
    start = graphene.Date(required=True, description="First day, inclusive.")
    end = graphene.Date(required=True, description="Last day, inclusive.")


class Cell(graphene.ObjectType):
    """One figure. Totals have force null and a group; suppressed cells say why."""

    indicator = graphene.String(required=True)
    force = graphene.String(description="Force code; null for a total.")
    group = graphene.String(description="For a total: national, region:<name>, group:<name>.")
    period = graphene.Field(Period, required=True)
    breakdown = graphene.String(description="The breakdown bucket; null for the total.")
    value = graphene.Float(description="The figure; null when suppressed or missing.")
    numerator = graphene.Int(description="A ratio's numerator; a median's number of values.")
    denominator = graphene.Int(description="A ratio's denominator.")
    suppressed = graphene.Boolean(required=True, description="Withheld by disclosure control.")
    exact = graphene.Boolean(
        required=True, description="Unrounded and unsuppressed: the caller is entitled to it."
    )
    note = graphene.String(description="Why suppressed, missing, or that a total is incomplete.")


class MissingForce(graphene.ObjectType):
    force = graphene.String(required=True)
    reason = graphene.String(required=True)


class StaleForce(graphene.ObjectType):
    force = graphene.String(required=True)
    last_submission_at = graphene.DateTime()


class Coverage(graphene.ObjectType):
    """Which forces the figures include; missing forces are never counted as 0."""

    included = graphene.List(graphene.NonNull(graphene.String), required=True)
    missing = graphene.List(graphene.NonNull(MissingForce), required=True)
    stale = graphene.List(graphene.NonNull(StaleForce), required=True)


class IndicatorTable(graphene.ObjectType):
    """An indicator table: typed ``cells`` for small tables, ``rows`` for large ones.

    ``rows`` is the fast form: every cell as a list of scalars in ``columns`` order,
    returned as one JSON value (no per-field resolution), with the same disclosure control.
    """

    cells = graphene.List(graphene.NonNull(Cell), required=True)
    columns = graphene.List(graphene.NonNull(graphene.String), required=True)
    rows = GenericScalar(required=True, description="Cells as scalar rows (see columns).")
    coverage = graphene.Field(Coverage, required=True)
    suppressed_cells = graphene.Int(required=True)

    @staticmethod
    def resolve_columns(parent: Table, info: Any) -> tuple[str, ...]:
        return Table.COLUMNS

    @staticmethod
    def resolve_rows(parent: Table, info: Any) -> Any:
        # Pre-serialised JSON: ``GenericScalar.serialize`` returns it untouched and the
        # endpoint's one ``orjson.dumps`` copies the bytes into the response as they are.
        context: RequestContext = info.context
        return context.prebuilt(parent.rows_json())


class FieldFill(graphene.ObjectType):
    field = graphene.String(required=True)
    share = graphene.Float(description="Share of active records with the field filled.")


class DataQuality(graphene.ObjectType):
    """A force's data: when it last submitted, what it holds, how complete it is."""

    force = graphene.String(required=True)
    last_submission_at = graphene.DateTime()
    records_held = graphene.Int(required=True)
    active_records = graphene.Int(required=True)
    first_recorded = graphene.Date()
    last_recorded = graphene.Date()
    field_fill = graphene.List(graphene.NonNull(FieldFill), required=True)
    periods_with_data = graphene.List(graphene.NonNull(graphene.String), required=True)

    @staticmethod
    def resolve_field_fill(parent: Any, info: Any) -> list[dict[str, Any]]:
        return [{"field": k, "share": v} for k, v in parent.field_fill.items()]

    @staticmethod
    def resolve_periods_with_data(parent: Any, info: Any) -> list[str]:
        return [label for label, has in parent.has_data.items() if has]


class Receipt(graphene.ObjectType):
    """A submission receipt."""

    submission_id = graphene.String()
    force = graphene.String(required=True)
    status = graphene.String(required=True)
    received_at = graphene.String(required=True)
    content_sha256 = graphene.String(required=True)
    format = graphene.String(required=True)
    rows = graphene.Int(required=True)
    inserted = graphene.Int(required=True)
    updated = graphene.Int(required=True)
    unchanged = graphene.Int(required=True)
    stale = graphene.Int(required=True)
    warning_count = graphene.Int(required=True)


class PageInfo(graphene.ObjectType):
    end_cursor = graphene.String(description="Pass as after to get the next page.")
    has_next_page = graphene.Boolean(required=True, description="Whether more items follow.")


class SubmissionPage(graphene.ObjectType):
    items = graphene.List(graphene.NonNull(Receipt), required=True)
    page_info = graphene.Field(PageInfo, required=True)
