"""The contributions of a set of records to the measures, as set-based SQL.

The same SQL serves three callers, so current and as-at figures cannot drift apart: the
rollup hook (the records a submission replaces, with sign -1, and the new ones, +1), the
rebuild (all of a force's records) and the as-at path (the versions valid at T, summed into
temporary tables shaped like the rollup tables).

A *source* is any SELECT yielding ``SOURCE_COLUMNS``: ``force_code``, the record fields the
indicators read, ``rep`` (1 when the record's suspect_ref is on two or more active records
of the force) and two weights, ``w`` (what the record counts for in every measure and
histogram) and ``wr`` (what it counts for in the repeat flag). A plain count has both 1;
the rollup hook subtracts a replaced record with ``w = -1`` and re-counts the repeat flags
of a suspect's records with ``w = 0, wr = +-1``, so one ledger holds a submission's whole
net change. ``materialise`` turns a source into a temporary table, ``SRC`` (``append`` adds
another source to it): one narrow row of integers per active record (keys, month indexes,
day counts, one 0/1 flag per conditional measure, the weights), so the date arithmetic runs
once per record however many statements read it. ``ctes`` then reads it as::

    fan        SRC once per breakdown dimension, with that dimension's bucket
    ledger     one row per (record, dimension, month basis) carrying 0/1 per measure
    day_ledger one row per (record, dimension, day measure) carrying its day count

Dimensions are ``''`` (no breakdown: bucket ``''``) and the record-field breakdowns; the
OFFENCE_GROUP breakdown is the ``offence_group`` key itself. A missing value is the
``unknown`` bucket, as ``schema.indicators.catalogue.bucket_of`` says.

Every string spliced into the SQL comes from this package's constants or the code lists,
never from a caller; values are bound parameters.
"""

# ruff: noqa: S608 - SQL is assembled from this package's constants, never from input

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from sqlalchemy import BindParameter, Connection, Date, bindparam

from adapters.indicators.dialect import SqlDialect, create_temporary, drop_temporary
from adapters.indicators.measures import (
    AGED,
    AGED_CLOSED,
    OUTCOME,
    RECORDED,
    RETURNED,
    DayMeasure,
    Measure,
)
from adapters.store.sql_text import sql_text
from schema.codelists import OffenceGroup, offence_codes
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
SOURCE_COLUMNS: Final = ("force_code", *SOURCE_FIELDS, "rep", "w", "wr")
SRC: Final = "soteria_ledger_src"
NO_DIMENSION: Final = ""
# The stored dimensions: none, and every breakdown that reads a record field of its own.
ROLLUP_DIMENSIONS: Final = (
    NO_DIMENSION,
    Dimension.VICTIM_AGE_BAND.value,
    Dimension.VICTIM_SEX.value,
    Dimension.RELATIONSHIP.value,
)
_KEY: Final = "force_code, offence_group, dimension, bucket"
_DAYS: Final = ("outcome_days", "device_days", "report_days")


def columns(alias: str) -> str:
    """``alias.force_code, alias.offence_code, ...``: every source column but the flag and
    the weights (``rep``, ``w``, ``wr``)."""
    return ", ".join(f"{alias}.{c}" for c in ("force_code", *SOURCE_FIELDS))


def active(alias: str) -> str:
    """Only active records count; a missing status is the standard's default, active.

    Spelt on the bare column (not COALESCE), so PostgreSQL estimates it from the column's
    statistics: an expression gets a blind guess of 0.5%, and the plans built on it (sorts
    sized for a few hundred rows) are ruinous on a force's hundreds of thousands.
    """
    return f"({alias}.record_status IS NULL OR {alias}.record_status = 'active')"


def with_repeat(rows: str, keep: str = "") -> str:
    """Active ``rows`` (force_code and SOURCE_FIELDS) with ``rep`` computed among them,
    each counted once (weights 1).

    A hashed IN over the grouped suspects, not a window: a window sorts the rows by
    suspect_ref, and sorting text under a libc collation is the slowest step there is.
    ``keep``: a condition on ``a`` choosing the rows returned (the repeat flag is still
    counted among all of ``rows``).
    """
    return f"""SELECT a.*, CASE WHEN (a.force_code, a.suspect_ref) IN (
            SELECT b.force_code, b.suspect_ref FROM ({rows}) AS b
            WHERE {active("b")} AND b.suspect_ref IS NOT NULL
            GROUP BY b.force_code, b.suspect_ref HAVING COUNT(*) >= 2) THEN 1 ELSE 0 END AS rep,
            1 AS w, 1 AS wr
        FROM ({rows}) AS a WHERE {active("a")}{f" AND {keep}" if keep else ""}"""


def _group_case(column: str) -> str:
    whens = " ".join(
        f"WHEN {column} IN ({', '.join(repr(o.code) for o in offence_codes() if o.group is g)})"
        f" THEN '{g.value}'"
        for g in OffenceGroup
    )
    return f"CASE {whens} ELSE '{UNKNOWN_BUCKET}' END"


def _src_select(
    dialect: SqlDialect,
    source: str,
    dimensions: Sequence[str],
    conditional: Sequence[Measure | DayMeasure],
) -> str:
    d = dialect
    assigned = "x.outcome_type IS NOT NULL AND x.outcome_type <> '0'"
    buckets = "".join(
        f"COALESCE(y.{field}, '{UNKNOWN_BUCKET}') AS b_{field}, "
        for dimension, field in DIMENSION_FIELDS.items()
        if dimension.value in dimensions
    )
    flags = "".join(
        f", CASE WHEN {m.condition} THEN 1 ELSE 0 END AS f_{m.name}" for m in conditional
    )
    closed = f"CASE WHEN y.{OUTCOME} IS NOT NULL THEN {d.greatest(f'y.{AGED}', f'y.{OUTCOME}')} END"
    # The fence keeps the planner from inlining ``y`` and computing each month twice.
    return f"""SELECT y.force_code, y.offence_group, {buckets}y.{RECORDED}, y.{OUTCOME},
            y.{RETURNED}, y.{AGED}, {closed} AS {AGED_CLOSED}, {", ".join(_DAYS)}, y.w, y.wr{flags}
        FROM (
            SELECT x.*, {_group_case("x.offence_code")} AS offence_group,
                {d.month("x.recorded_date")} AS {RECORDED},
                CASE WHEN {assigned} THEN {d.month("x.outcome_date")} END AS {OUTCOME},
                {d.month("x.victim_device_returned_date")} AS {RETURNED},
                {d.month(d.plus_days("x.recorded_date", 366))} AS {AGED},
                {d.days("x.outcome_date", "x.recorded_date")} AS outcome_days,
                {d.days("x.victim_device_returned_date", "x.victim_device_seized_date")}
                    AS device_days,
                {d.days("x.reported_date", "x.offence_date")} AS report_days
            FROM ({source}) AS x
            WHERE {active("x")} {d.fence}) AS y"""


def src_select(
    conn: Connection,
    source: str,
    *,
    dimensions: Sequence[str],
    measures: Sequence[Measure] = (),
    day_measures: Sequence[DayMeasure] = (),
) -> str:
    """The SELECT ``materialise`` would store, for ``ctes(inline=...)``."""
    return _src_select(
        SqlDialect(conn.dialect.name), source, dimensions, _conditional(measures, day_measures)
    )


def materialise(
    conn: Connection,
    source: str,
    params: Mapping[str, object],
    *,
    dimensions: Sequence[str],
    measures: Sequence[Measure] = (),
    day_measures: Sequence[DayMeasure] = (),
    typed: Sequence[BindParameter[Any]] = (),
    analyse: bool = True,
) -> int:
    """Build ``SRC`` from ``source``; its row count (drop it with ``discard`` once read).

    ``typed`` declares the types of the source's own parameters (a datetime must be bound
    as the store binds it to compare alike on SQLite); ``analyse``: see
    ``dialect.create_temporary``.
    """
    select = _src_select(
        SqlDialect(conn.dialect.name), source, dimensions, _conditional(measures, day_measures)
    )
    return create_temporary(conn, SRC, select, params, typed, analyse=analyse)


def append(
    conn: Connection,
    source: str,
    params: Mapping[str, object],
    *,
    dimensions: Sequence[str],
    measures: Sequence[Measure] = (),
    day_measures: Sequence[DayMeasure] = (),
) -> None:
    """Add the rows of another source to ``SRC``, made with the same arguments."""
    select = _src_select(
        SqlDialect(conn.dialect.name), source, dimensions, _conditional(measures, day_measures)
    )
    statement = sql_text(f"INSERT INTO {SRC} {select}")
    if ":cutoff" in select:
        statement = statement.bindparams(bindparam("cutoff", type_=Date()))
    conn.execute(statement, dict(params))


def _conditional(
    measures: Sequence[Measure], day_measures: Sequence[DayMeasure]
) -> list[Measure | DayMeasure]:
    conditional: list[Measure | DayMeasure] = [m for m in measures if m.condition]
    conditional += [m for m in day_measures if m.condition]
    return conditional


def discard(conn: Connection) -> None:
    drop_temporary(conn, SRC)


def _fan(dimensions: Sequence[str]) -> str:
    dims = " UNION ALL ".join(f"SELECT '{d}' AS dimension" for d in dimensions)
    whens = " ".join(
        f"WHEN '{dimension.value}' THEN src.b_{field}"
        for dimension, field in DIMENSION_FIELDS.items()
        if dimension.value in dimensions
    )
    bucket = f"CASE dims.dimension {whens} ELSE '' END" if whens else "''"
    return f"""fan AS NOT MATERIALIZED (
        SELECT src.*, dims.dimension, {bucket} AS bucket
        FROM {SRC} AS src CROSS JOIN ({dims}) AS dims)"""


def _value(measure: Measure, basis: str) -> str:
    if measure.basis != basis:
        return "0"
    return f"{measure.weight} * f_{measure.name}" if measure.condition else measure.weight


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
        f"SELECT {_KEY}, '{m.name}' AS measure, {m.basis} AS month, {m.days} AS days, w AS n "
        f"FROM fan WHERE {m.basis} IS NOT NULL AND w <> 0"
        + (f" AND f_{m.name} = 1" if m.condition else "")
        for m in measures
    ]
    return "day_ledger AS (" + " UNION ALL ".join(branches) + ")"


def ctes(
    *,
    dimensions: Sequence[str],
    measures: Sequence[Measure] = (),
    day_measures: Sequence[DayMeasure] = (),
    inline: str = "",
) -> str:
    """``WITH fan[, ledger][, day_ledger]`` over ``SRC``; append the statement that reads it.

    ``dimensions``, ``measures`` and ``day_measures`` must be among those ``SRC`` was
    materialised with. ``inline``: ``SRC``'s select (``src_select``), computed by the
    statement itself instead of read from the temporary table.
    """
    parts = [_fan(dimensions)]
    if inline:
        parts.insert(0, f"{SRC} AS MATERIALIZED ({inline})")
    if measures:
        parts.append(_ledger(measures))
    if day_measures:
        parts.append(_day_ledger(day_measures))
    return "WITH " + ",\n".join(parts) + "\n"


def sums(measures: Sequence[Measure], *, changes_only: bool = False, order: str = "") -> str:
    """The ledger summed per rollup key and month (after ``ctes(..., measures=...)``).

    ``changes_only``: only keys where some sum is not 0 (a net change nets out elsewhere).
    ``order``: an ORDER BY list (writing in the order of the target's primary key keeps
    its index pages in cache from one row to the next).
    """
    totals = ", ".join(f"SUM({m.name}) AS {m.name}" for m in measures)
    having = ""
    if changes_only:
        having = " HAVING " + " OR ".join(f"SUM({m.name}) <> 0" for m in measures)
    ordered = f" ORDER BY {order}" if order else ""
    return (
        f"SELECT {_KEY}, month, {totals} FROM ledger WHERE 1 = 1 GROUP BY {_KEY}, month"
        f"{having}{ordered}"
    )


def day_sums(*, changes_only: bool = False, order: str = "") -> str:
    """The day ledger counted per histogram key (after ``ctes(..., day_measures=...)``)."""
    key = f"{_KEY}, measure, month, days"
    having = " HAVING SUM(n) <> 0" if changes_only else ""
    ordered = f" ORDER BY {order}" if order else ""
    return f"SELECT {key}, SUM(n) AS n FROM day_ledger WHERE 1 = 1 GROUP BY {key}{having}{ordered}"
