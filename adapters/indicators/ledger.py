"""The contributions of a set of records to the measures, as one set-based SQL statement.

The same SQL serves three callers, so current and as-at figures cannot drift apart:
the rollup hook (the records a submission replaces, with sign -1, and the new ones, +1),
the rebuild (all of a force's records) and the as-at path (the versions valid at T, read
straight from the ``ledger`` CTE instead of the rollup table).

A *source* is any SELECT yielding ``SOURCE_COLUMNS``: ``force_code``, the record fields the
indicators read, and ``rep`` (1 when the record's suspect_ref is on two or more active
records of the force). ``ctes`` turns it into::

    src        active records, with offence group, month keys and day counts derived once
    fan        src once per breakdown dimension, with that dimension's bucket
    ledger     one row per (record, dimension, month basis) carrying 0/1 per measure
    day_ledger one row per (record, dimension, day measure) carrying its day count

Dimensions are ``''`` (no breakdown: bucket ``''``) and the record-field breakdowns; the
OFFENCE_GROUP breakdown is the ``offence_group`` key itself. A missing value is the
``unknown`` bucket, as ``schema.indicators.catalogue.bucket_of`` says.

Every string spliced into the SQL comes from this package's constants or the code lists,
never from a caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from adapters.indicators.measures import AGED, AGED_CLOSED, DayMeasure, Measure
from schema import codelists
from schema.indicators.catalogue import DIMENSION_FIELDS, UNKNOWN_BUCKET, Dimension

SOURCE_FIELDS: Final = (
    "offence_code",
    "recorded_date",
    "reported_date",
    "offence_date",
    "victim_age_band",
    "victim_sex",
    "relationship",
    "suspect_ref",
    "suspect_identified_date",
    "cps_referral_date",
    "outcome_type",
    "outcome_date",
    "isva_referral",
    "sarc_referral",
    "victim_device_seized_date",
    "victim_device_returned_date",
    "record_status",
)
SOURCE_COLUMNS: Final = ("force_code", *SOURCE_FIELDS, "rep")
NO_DIMENSION: Final = ""
# The stored dimensions: none, and every breakdown that reads a record field of its own.
ROLLUP_DIMENSIONS: Final = (
    NO_DIMENSION,
    Dimension.VICTIM_AGE_BAND.value,
    Dimension.VICTIM_SEX.value,
    Dimension.RELATIONSHIP.value,
)
ACTIVE: Final = "COALESCE({0}record_status, 'active') = 'active'"


def columns(alias: str) -> str:
    """``alias.force_code, alias.offence_code, ...`` (every source column but ``rep``)."""
    return ", ".join(f"{alias}.{c}" for c in ("force_code", *SOURCE_FIELDS))


def active(alias: str = "") -> str:
    return ACTIVE.format(f"{alias}." if alias else "")


class SqlDialect:
    """Date arithmetic spelt for PostgreSQL (native dates) or SQLite (ISO date text)."""

    def __init__(self, name: str) -> None:
        self.postgresql = name == "postgresql"

    def month(self, date: str) -> str:
        if self.postgresql:
            return f"(CAST(EXTRACT(YEAR FROM {date}) AS INTEGER) * 12 + CAST(EXTRACT(MONTH FROM {date}) AS INTEGER) - 1)"  # noqa: E501
        return f"(CAST(substr({date}, 1, 4) AS INTEGER) * 12 + CAST(substr({date}, 6, 2) AS INTEGER) - 1)"  # noqa: E501

    def days(self, later: str, earlier: str) -> str:
        if self.postgresql:
            return f"({later} - {earlier})"
        return f"CAST(round(julianday({later}) - julianday({earlier})) AS INTEGER)"

    def plus_days(self, date: str, days: int) -> str:
        if self.postgresql:
            return f"({date} + {days})"
        return f"date({date}, '+{days} days')"

    def greatest(self, a: str, b: str) -> str:
        return f"GREATEST({a}, {b})" if self.postgresql else f"MAX({a}, {b})"


def _group_case(column: str) -> str:
    whens = " ".join(f"WHEN '{o.code}' THEN '{o.group.value}'" for o in codelists.offence_codes())
    return f"CASE {column} {whens} ELSE '{UNKNOWN_BUCKET}' END"


def _src(dialect: SqlDialect, source: str) -> str:
    d = dialect
    assigned = "x.outcome_type IS NOT NULL AND x.outcome_type <> '0'"
    outcome_month = d.month("x.outcome_date")
    aged_month = d.month(d.plus_days("x.recorded_date", 366))
    return f"""src AS (
        SELECT x.*, {_group_case("x.offence_code")} AS offence_group,
            {d.month("x.recorded_date")} AS recorded_month,
            CASE WHEN {assigned} THEN {outcome_month} END AS outcome_month,
            {d.month("x.victim_device_returned_date")} AS returned_month,
            {aged_month} AS {AGED},
            CASE WHEN {assigned} THEN {d.greatest(aged_month, outcome_month)} END
                AS {AGED_CLOSED},
            {d.days("x.outcome_date", "x.recorded_date")} AS outcome_days,
            {d.days("x.victim_device_returned_date", "x.victim_device_seized_date")}
                AS device_days,
            {d.days("x.reported_date", "x.offence_date")} AS report_days
        FROM ({source}) AS x
        WHERE {active("x")})"""


def _fan(dimensions: Sequence[str]) -> str:
    dims = " UNION ALL ".join(f"SELECT '{d}' AS dimension" for d in dimensions)
    whens = " ".join(
        f"WHEN '{d.value}' THEN COALESCE(src.{field}, '{UNKNOWN_BUCKET}')"
        for d, field in DIMENSION_FIELDS.items()
        if d.value in dimensions
    )
    bucket = f"CASE dims.dimension {whens} ELSE '' END" if whens else "''"
    return f"""fan AS (
        SELECT src.*, dims.dimension, {bucket} AS bucket
        FROM src CROSS JOIN ({dims}) AS dims)"""


_KEY: Final = "force_code, offence_group, dimension, bucket"


def _value(measure: Measure, basis: str) -> str:
    if measure.basis != basis:
        return "0"
    if not measure.condition:
        return "1"
    return f"CASE WHEN {measure.condition} THEN 1 ELSE 0 END"


def _ledger(measures: Sequence[Measure]) -> str:
    branches = []
    for basis in dict.fromkeys(m.basis for m in measures):
        values = ", ".join(f"{_value(m, basis)} AS {m.name}" for m in measures)
        branches.append(
            f"SELECT {_KEY}, {basis} AS month, {values} FROM fan WHERE {basis} IS NOT NULL"
        )
    return "ledger AS (" + " UNION ALL ".join(branches) + ")"


def _day_ledger(measures: Sequence[DayMeasure]) -> str:
    branches = [
        f"SELECT {_KEY}, '{m.name}' AS measure, {m.basis} AS month, {m.days} AS days, 1 AS n "
        f"FROM fan WHERE {m.basis} IS NOT NULL" + (f" AND {m.condition}" if m.condition else "")
        for m in measures
    ]
    return "day_ledger AS (" + " UNION ALL ".join(branches) + ")"


def ctes(
    dialect: SqlDialect,
    source: str,
    *,
    dimensions: Sequence[str],
    measures: Sequence[Measure] = (),
    day_measures: Sequence[DayMeasure] = (),
) -> str:
    """``WITH src, fan[, ledger][, day_ledger]`` over ``source``; append one statement."""
    parts = [_src(dialect, source), _fan(dimensions)]
    if measures:
        parts.append(_ledger(measures))
    if day_measures:
        parts.append(_day_ledger(day_measures))
    return "WITH " + ",\n".join(parts) + "\n"


def with_repeat(rows: str) -> str:
    """Active ``rows`` (force_code + SOURCE_FIELDS) with ``rep`` computed among them."""
    return f"""SELECT a.*, CASE WHEN a.suspect_ref IS NOT NULL AND COUNT(*) OVER (
            PARTITION BY a.force_code, a.suspect_ref) >= 2 THEN 1 ELSE 0 END AS rep
        FROM ({rows}) AS a WHERE {active("a")}"""
