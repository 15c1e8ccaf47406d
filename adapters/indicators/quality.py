"""Data quality of one force's submissions: what the figures rest on, and where data is missing.

Missing is never zero. A force "has data for a period" when it has submitted and the period
overlaps the span of recorded dates its records cover, ``[first_recorded, last_recorded]``
over every record it holds, whatever its status. Inside that span a month without records
is a true zero (the force sent the months around it); before the first or after the last
recorded date the force has sent nothing, so the period is missing. A period that holds the
first or last recorded date overlaps the span, so "at least one record recorded in the
period" always counts as having data; records of any status count, because a cancelled
record still shows the force reported that month.

Field fill shares are over *active* records (those the indicators count): the share of them
with the optional field given, None when the force holds no active record.

Reading costs a few index probes per force, whatever the number of records: the counts are
kept in ``indicator_quality`` by the rollup hook (the replaced rows subtracted, the written
ones added, as one net change), and the first and last recorded dates come from the index on
``records (force_code, recorded_date)``.
"""

# ruff: noqa: S608 - SQL is assembled from this package's constants, never from input

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection, bindparam, func, select

from adapters.indicators.ledger import active
from adapters.indicators.models import OPTIONAL_FIELDS, indicator_quality
from adapters.store.models import ForceRow, records
from adapters.store.sql_text import sql_text
from adapters.store.staging import STAGE
from schema.periods import Period

__all__ = ["OPTIONAL_FIELDS", "DataQuality", "read_quality"]

_COUNTS: Final = ("held", "active", *(f"filled_{name}" for name in OPTIONAL_FIELDS))
ALL: Final = "SELECT r.* FROM records AS r WHERE r.force_code = :force"


@dataclass(frozen=True, slots=True)
class DataQuality:
    force: str
    last_submission_at: dt.datetime | None  # None: the force has never submitted
    records_held: int  # current records of any status
    active_records: int
    first_recorded: dt.date | None
    last_recorded: dt.date | None
    field_fill: Mapping[str, float | None]  # optional field -> share of active records
    has_data: Mapping[str, bool]  # period label -> the force has data for it

    def missing(self, period: Period) -> bool:
        return not self.has_data.get(period.label, False)


def add_counts(conn: Connection, force: str, source: str, *, negate: bool = False) -> None:
    """Add (or subtract) the quality counts of the records ``source`` selects."""
    sign = "-" if negate else ""
    is_active = active("x")
    values = [
        f"{sign}COUNT(*)",
        f"{sign}SUM(CASE WHEN {is_active} THEN 1 ELSE 0 END)",
        *(
            f"{sign}SUM(CASE WHEN {is_active} AND x.{name} IS NOT NULL THEN 1 ELSE 0 END)"
            for name in OPTIONAL_FIELDS
        ),
    ]
    _upsert(conn, force, source, values)


def _upsert(conn: Connection, force: str, source: str, values: list[str]) -> None:
    table = indicator_quality.name
    sets = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in _COUNTS)
    sql = f"""INSERT INTO {table} (force_code, {", ".join(_COUNTS)})
        SELECT x.force_code, {", ".join(values)} FROM ({source}) AS x WHERE 1 = 1
        GROUP BY x.force_code
        ON CONFLICT (force_code) DO UPDATE SET {sets}"""
    conn.execute(sql_text(sql), {"force": force})


def add_net_counts(conn: Connection, force: str) -> None:
    """Add a submission's net change to the counts, before it is applied.

    The staged rows to be inserted or to replace a record count +1 with their new values,
    the records they replace -1 with their old ones (the values the merge writes are
    exactly the staged ones).
    """
    fields = ", ".join(f"{{p}}.{name}" for name in ("record_status", *OPTIONAL_FIELDS))
    source = f"""SELECT CAST(:force AS VARCHAR(40)) AS force_code, 1 AS sign, {fields.format(p="s")}
        FROM {STAGE} AS s WHERE s.action IS NULL OR s.action = 'update'
        UNION ALL
        SELECT r.force_code, -1 AS sign, {fields.format(p="r")}
        FROM records AS r JOIN {STAGE} AS s ON s.crime_ref = r.crime_ref
        WHERE r.force_code = :force AND s.action = 'update'"""
    is_active = active("x")
    values = [
        "SUM(x.sign)",
        f"SUM(CASE WHEN {is_active} THEN x.sign ELSE 0 END)",
        *(
            f"SUM(CASE WHEN {is_active} AND x.{name} IS NOT NULL THEN x.sign ELSE 0 END)"
            for name in OPTIONAL_FIELDS
        ),
    ]
    _upsert(conn, force, source, values)


def _first_or_last(edge: Any) -> Any:
    return (
        select(edge(records.c.recorded_date))
        .where(records.c.force_code == ForceRow.code)
        .scalar_subquery()
    )


# Built once: a table is refreshed after every submission, and building and keying a
# statement costs more than running these two.
_COUNTS_OF: Final = select(indicator_quality).where(
    indicator_quality.c.force_code.in_(bindparam("forces", expanding=True))
)
_SPANS_OF: Final = select(
    ForceRow.code,
    ForceRow.last_submission_at,
    _first_or_last(func.min),
    _first_or_last(func.max),
).where(ForceRow.code.in_(bindparam("forces", expanding=True)))


def read_quality(
    conn: Connection, forces: Sequence[str], periods: Sequence[Period]
) -> dict[str, DataQuality]:
    """Quality of each force: one small query over the counts, two index probes per force."""
    wanted = {"forces": list(forces)}
    counts = {row[0]: row[1:] for row in conn.execute(_COUNTS_OF, wanted).tuples()}
    spans = conn.execute(_SPANS_OF, wanted).tuples()
    return {span[0]: _quality(span, counts.get(span[0]), periods) for span in spans}


def _quality(
    span: tuple[str, dt.datetime | None, dt.date | None, dt.date | None],
    counts: Sequence[int] | None,
    periods: Sequence[Period],
) -> DataQuality:
    force, last_submission_at, first, last = span
    held, active_count, *filled = counts or (0,) * len(_COUNTS)
    covered = last_submission_at is not None and first is not None and last is not None
    return DataQuality(
        force=force,
        last_submission_at=last_submission_at,
        records_held=held,
        active_records=active_count,
        first_recorded=first,
        last_recorded=last,
        field_fill={
            name: (n / active_count if active_count else None)
            for name, n in zip(OPTIONAL_FIELDS, filled, strict=True)
        },
        has_data={
            p.label: covered and p.start <= last and p.end >= first  # type: ignore[operator]
            for p in periods
        },
    )
