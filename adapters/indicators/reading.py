"""From measure sums to partials: the read SQL and one pass over its compact rows.

Both paths end here. The current figures read the rollup tables; the as-at figures read the
``ledger`` CTE of the versions valid at T; both are relations with the same columns, so the
same two statements aggregate them:

- measures: one row per (force, bucket, month) with the sum of each measure read, for the
  months up to the last period's end. Months before the first period are folded into one
  row (month ``first - 1``): the in-period sums never look at it, while the snapshots'
  cumulative sums need it whole.
- day histograms: one row per (force, bucket, measure, period, days), the months already
  merged into periods by a join with a small literal month-to-period table, ordered so that
  each histogram arrives sorted.

Breakdown buckets partition the records, so a force's total under a breakdown is the merge
of its buckets and is not read again.
"""

# ruff: noqa: S608 - SQL is assembled from this package's constants, never from input

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import TextClause, bindparam

from adapters.indicators.errors import IndicatorError
from adapters.indicators.ledger import NO_DIMENSION
from adapters.indicators.measures import (
    READINGS,
    ReadingKind,
    day_measures_for,
    measures_for,
)
from adapters.indicators.query import ForcePartials, IndicatorQuery, PartialKey
from adapters.store.sql_text import sql_text
from schema.indicators.catalogue import Dimension, IndicatorId, buckets, offence_groups
from schema.indicators.partials import EMPTY, Partial, merge
from schema.periods import months_of


@dataclass(frozen=True, slots=True)
class Plan:
    """What a query reads, worked out once."""

    measures: tuple[str, ...]
    day_measures: tuple[str, ...]
    dimension: str  # the stored dimension: '' for no breakdown and for OFFENCE_GROUP
    bucket_column: str  # 'bucket', or 'offence_group' for the OFFENCE_GROUP breakdown
    groups: tuple[str, ...]
    buckets: tuple[str | None, ...]  # (None,) without a breakdown
    spans: tuple[tuple[int, int], ...]  # per period: first and last month index
    first_month: int
    last_month: int


def _index(year_month: tuple[int, int]) -> int:
    return year_month[0] * 12 + year_month[1] - 1


def plan(query: IndicatorQuery) -> Plan:
    spans = []
    for period in query.periods:
        months = months_of(period)
        spans.append((_index(months[0]), _index(months[-1])))
    breakdown = query.breakdown
    stored = NO_DIMENSION if breakdown in (None, Dimension.OFFENCE_GROUP) else breakdown
    return Plan(
        measures=measures_for(query.indicators),
        day_measures=day_measures_for(query.indicators),
        dimension=str(stored),
        bucket_column="offence_group" if breakdown is Dimension.OFFENCE_GROUP else "bucket",
        groups=tuple(sorted(g.value for g in offence_groups(query.scope))),
        buckets=(None,) if breakdown is None else buckets(breakdown),
        spans=tuple(spans),
        first_month=min(first for first, _ in spans),
        last_month=max(last for _, last in spans),
    )


def measure_select(p: Plan, relation: str) -> str:
    """Per (force, bucket, month) the sums of the measures read, earlier months folded."""
    sums = ", ".join(f"SUM({m})" for m in p.measures)
    return f"""SELECT force_code, {p.bucket_column} AS b,
            CASE WHEN month < :first_month THEN :first_month - 1 ELSE month END AS m, {sums}
        FROM {relation}
        WHERE force_code IN :forces AND dimension = :dimension AND offence_group IN :groups
          AND month <= :last_month
        GROUP BY 1, 2, 3"""


def day_select(p: Plan, relation: str, periods: Collection[int] | None = None) -> str:
    """Per (force, bucket, day measure, period, days) the count, months merged.

    ``periods``: only these periods (positions in the plan), e.g. those a change touched.
    Periods that do not overlap (months, quarters, financial years) are told apart by a
    CASE on the month; overlapping ones (rolling years) by a join with a month-to-period
    table, as a month then counts in several. (A join the planner cannot estimate becomes a
    nested loop over every ledger row: the CASE keeps the as-at statement linear.)
    """
    spans = [(i, span) for i, span in enumerate(p.spans) if periods is None or i in periods]
    months = sorted({m for _, (first, last) in spans for m in range(first, last + 1)})
    if len(months) == sum(last - first + 1 for _, (first, last) in spans):  # disjoint
        whens = " ".join(
            f"WHEN d.month BETWEEN {first} AND {last} THEN {i}" for i, (first, last) in spans
        )
        period, join = f"CASE {whens} END", ""
        month_filter = f"AND d.month IN ({', '.join(map(str, months))})"
    else:
        table = " UNION ALL ".join(
            f"SELECT {m} AS month, {i} AS period"
            for i, (first, last) in spans
            for m in range(first, last + 1)
        )
        period, join, month_filter = "pm.period", f"JOIN ({table}) AS pm ON pm.month = d.month", ""
    return f"""SELECT d.force_code, d.{p.bucket_column} AS b, d.measure, {period} AS period,
            d.days, SUM(d.n) AS n
        FROM {relation} AS d {join}
        WHERE d.force_code IN :forces AND d.dimension = :dimension
          AND d.offence_group IN :groups AND d.measure IN :measures {month_filter}
        GROUP BY 1, 2, 3, 4, 5 HAVING SUM(d.n) <> 0"""


def _expanding(statement: TextClause, *names: str) -> TextClause:
    return statement.bindparams(*(bindparam(name, expanding=True) for name in names))


def measure_statement(p: Plan, relation: str, ctes: str = "") -> TextClause:
    return _expanding(sql_text(ctes + measure_select(p, relation)), "forces", "groups")


def day_statement(
    p: Plan, relation: str, ctes: str = "", periods: Collection[int] | None = None
) -> TextClause:
    """``day_select`` ordered by days, so each histogram arrives sorted."""
    return _expanding(
        sql_text(f"{ctes}{day_select(p, relation, periods)} ORDER BY 5"),
        "forces",
        "groups",
        "measures",
    )


def touched_periods(p: Plan, months: Collection[int]) -> set[int]:
    """The plan's periods (positions) holding any of ``months``."""
    return {i for i, (first, last) in enumerate(p.spans) if any(first <= m <= last for m in months)}


def both_statement(p: Plan, measures: str, days: str, ctes: str) -> TextClause:
    """``measure_select`` and ``day_select`` in one statement over one set of CTEs (computed
    once): rows of both shapes, padded, tagged 0 and 1; day rows ordered by days.
    ``split_both`` separates them."""
    width = len(p.measures)
    pad = ", ".join(["NULL"] * width)
    sums = ", ".join(f"x.s{i}" for i in range(width))
    named = ", ".join(f"SUM({m}) AS s{i}" for i, m in enumerate(p.measures))
    measure_rows = measure_select(p, measures).replace(
        ", ".join(f"SUM({m})" for m in p.measures), named
    )
    return _expanding(
        sql_text(
            f"""{ctes}SELECT 0 AS kind, x.force_code, x.b, x.m, NULL, NULL, NULL, NULL, {sums}
            FROM ({measure_rows}) AS x
            UNION ALL
            SELECT 1, y.force_code, y.b, NULL, y.measure, y.period, y.days, y.n, {pad}
            FROM ({day_select(p, days)}) AS y
            ORDER BY 1, 7"""
        ),
        "forces",
        "groups",
        "measures",
    )


def split_both(rows: Iterable[Sequence[Any]]) -> tuple[list[Sequence[Any]], list[Sequence[Any]]]:
    """``both_statement``'s rows as (measure rows, day rows), shaped as the two statements'."""
    measure_rows: list[Sequence[Any]] = []
    day_rows: list[Sequence[Any]] = []
    for row in rows:
        if row[0] == 0:
            measure_rows.append((row[1], row[2], row[3], *row[8:]))
        else:
            day_rows.append((row[1], row[2], row[4], row[5], row[6], row[7]))
    return measure_rows, day_rows


def parameters(p: Plan, forces: Sequence[str]) -> dict[str, Any]:
    return {
        "forces": list(forces),
        "groups": list(p.groups),
        "dimension": p.dimension,
        "first_month": p.first_month,
        "last_month": p.last_month,
        "measures": list(p.day_measures),
    }


Histograms = dict[tuple[str, str, str, int], list[tuple[int, int]]]


def assemble(
    query: IndicatorQuery,
    p: Plan,
    forces: Sequence[str],
    measure_rows: Iterable[Sequence[Any]],
    day_rows: Iterable[Sequence[Any]],
) -> dict[str, ForcePartials]:
    """Every force's partials: every indicator, period and bucket, zeros included."""
    by_bucket: dict[tuple[str, str], list[Sequence[Any]]] = defaultdict(list)
    for row in measure_rows:
        by_bucket[(row[0], row[1])].append(row)
    histograms: Histograms = defaultdict(list)
    for force, bucket, measure, period, days, n in day_rows:  # in order of days
        histograms[(force, bucket, measure, period)].append((int(days), int(n)))
    known = {(f, b or "") for f in forces for b in p.buckets}
    stray = set(by_bucket).union(k[:2] for k in histograms) - known
    if stray:
        raise IndicatorError(f"rollup rows outside the breakdown's buckets: {sorted(stray)}")
    readers = [_reader(indicator, p) for indicator in query.indicators]
    summed = [r for r in readers if r[1] is not ReadingKind.DAYS]
    medians = [(r[0], r[4]) for r in readers if r[1] is ReadingKind.DAYS]
    made: dict[tuple[int, int], Partial] = {}  # partials are immutable: share equal ones
    result: dict[str, ForcePartials] = {}
    for force in forces:
        out: dict[PartialKey, Partial] = {}
        bucket_sums = [_period_sums(p, by_bucket.get((force, b or ""), [])) for b in p.buckets]
        keyed = list(zip(p.buckets, bucket_sums, strict=True))
        if query.breakdown is not None:
            # Buckets partition the records, so the total is their sum (medians: merge).
            keyed.append((None, _added(bucket_sums)))
        for bucket, sums in keyed:
            for (in_period, cumulative), period in zip(sums, query.periods, strict=True):
                for indicator, kind, a, b, _ in summed:
                    if kind is ReadingKind.SNAPSHOT:
                        pair = (cumulative[a] - cumulative[b], 0)
                    else:
                        pair = (in_period[a], in_period[b] if b >= 0 else 0)
                    partial = made.get(pair)
                    if partial is None:
                        partial = made[pair] = Partial(*pair)
                    out[(indicator, period.label, bucket)] = partial
        for indicator, measure in medians:
            for i, period in enumerate(query.periods):
                parts = []
                for bucket in p.buckets:
                    pairs = histograms.get((force, bucket or "", measure, i), ())
                    partial = Partial(sum(n for _, n in pairs), 0, tuple(pairs)) if pairs else EMPTY
                    out[(indicator, period.label, bucket)] = partial
                    parts.append(partial)
                if query.breakdown is not None:
                    out[(indicator, period.label, None)] = merge(parts)
        result[force] = out
    return result


def _added(
    bucket_sums: list[list[tuple[list[int], list[int]]]],
) -> list[tuple[list[int], list[int]]]:
    """Per period, the element-wise sum of every bucket's sums."""
    total = []
    for per_bucket in zip(*bucket_sums, strict=True):
        in_period = [sum(column) for column in zip(*(s[0] for s in per_bucket), strict=True)]
        cumulative = [sum(column) for column in zip(*(s[1] for s in per_bucket), strict=True)]
        total.append((in_period, cumulative))
    return total


def _reader(indicator: IndicatorId, p: Plan) -> tuple[IndicatorId, ReadingKind, int, int, str]:
    """(indicator, kind, position of its first and second measure, histogram name)."""
    reading = READINGS[indicator]
    if reading.kind is ReadingKind.DAYS:
        return indicator, reading.kind, -1, -1, reading.first
    second = -1 if reading.second is None else p.measures.index(reading.second)
    return indicator, reading.kind, p.measures.index(reading.first), second, ""


def _period_sums(p: Plan, rows: list[Sequence[Any]]) -> list[tuple[list[int], list[int]]]:
    """Per period: the measures summed over its months, and summed up to its last month."""
    rows = sorted(rows, key=lambda r: int(r[2]))
    months = [int(r[2]) for r in rows]
    width = len(p.measures)
    prefix = [[0] * width]
    for row in rows:
        before = prefix[-1]
        prefix.append([before[k] + int(row[3 + k]) for k in range(width)])
    out = []
    for first, last in p.spans:
        lo, hi = bisect_left(months, first), bisect_right(months, last)
        out.append(([prefix[hi][k] - prefix[lo][k] for k in range(width)], prefix[hi]))
    return out
