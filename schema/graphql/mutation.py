"""``submitRecords``: the push path through GraphQL, with typed error payloads."""

from __future__ import annotations

from typing import Any

import graphene

from schema import codelists
from schema.graphql import types
from schema.graphql.permissions import requires
from schema.record import FIELD_NAMES

MAX_RECORDS = 10_000


RecordInput = type(
    "RecordInput",
    (graphene.InputObjectType,),
    {
        "__doc__": "One record of Record Standard v1; every value as text, as in the CSV.",
        **{name: graphene.String() for name in FIELD_NAMES},
    },
)


class RecordError(graphene.ObjectType):
    """One problem found in the submission: nothing was stored."""

    row = graphene.Int(description="1-based position in records; null for the whole input.")
    field = graphene.String()
    code = graphene.String(required=True, description="Stable machine code.")
    message = graphene.String(required=True)


class SubmitRecords(graphene.Mutation):
    """Push records for a force through the same ingestion path as the HTTP push.

    All or nothing: any error refuses the whole submission and stores nothing.
    """

    class Arguments:
        force = graphene.ID(required=True)
        idempotency_key = graphene.String(required=True)
        records = graphene.List(graphene.NonNull(RecordInput), required=True)
        dry_run = graphene.Boolean(default_value=False)

    receipt = graphene.Field(types.Receipt)
    replayed = graphene.Boolean(required=True)
    errors = graphene.List(graphene.NonNull(RecordError), required=True)
    error_count = graphene.Int(required=True)

    @staticmethod
    @requires("push_submission", force_argument="force")
    def mutate(
        parent: Any,
        info: Any,
        *,
        force: str,
        idempotency_key: str,
        records: list[Any],
        dry_run: bool = False,
    ) -> Any:
        if codelists.force(force) is None:
            return _refused("unknown_force", f"There is no force '{force}'.")
        if not records:
            return _refused("no_records", "records is empty: give at least one record.")
        if len(records) > MAX_RECORDS:
            return _refused(
                "too_many_records",
                f"At most {MAX_RECORDS} records per mutation; push larger files "
                "to POST /v1/forces/{force}/submissions.",
            )
        rows = [
            {name: record.get(name) for name in FIELD_NAMES if name in record} for record in records
        ]
        result = info.context.submissions.submit(force, idempotency_key, rows, dry_run)
        return SubmitRecords(
            receipt=result.get("receipt"),
            replayed=bool(result.get("replayed")),
            errors=result.get("errors", []),
            error_count=int(result.get("error_count", 0)),
        )


def _refused(code: str, message: str) -> SubmitRecords:
    return SubmitRecords(
        receipt=None,
        replayed=False,
        errors=[{"row": None, "field": None, "code": code, "message": message}],
        error_count=1,
    )


class Mutation(graphene.ObjectType):
    submit_records = SubmitRecords.Field()
