"""The shape of an indicator table as served: cells, coverage and notes.

Pure data shared by the gateway's indicator service (which fills it) and the GraphQL
types and CSV export (which render it). A cell's ``force`` is None for a total; then
``group`` names it (``national``, ``region:<name>``, ``country:<name>``, ``group:<name>``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from schema.indicators.catalogue import Dimension, IndicatorId, OffenceScope
from schema.periods import Granularity, Period

# The totals a table can hold beside its forces.
GROUP_BY = ("NATIONAL", "REGION", "COUNTRY", "GROUP")


@dataclass(frozen=True, slots=True)
class TableQuery:
    """The question behind an indicator table (GraphQL ``indicatorTable``, the CSV export)."""

    granularity: Granularity
    from_date: dt.date
    to_date: dt.date
    indicators: tuple[IndicatorId, ...] | None = None  # None: the whole catalogue
    forces: tuple[str, ...] | None = None  # None: all 43
    scope: OffenceScope = OffenceScope.ALL_RASSO
    breakdown: Dimension | None = None
    as_at: dt.datetime | None = None
    groups: tuple[str, ...] = ("NATIONAL",)


@dataclass(frozen=True, slots=True)
class TableCell:
    indicator: str
    force: str | None
    group: str | None
    period: Period
    breakdown: str | None  # the bucket, or None for the total over buckets
    value: float | int | None
    numerator: int | None
    denominator: int | None
    suppressed: bool
    exact: bool  # True: unrounded, unsuppressed (the caller is entitled to exact figures)
    note: str | None  # why suppressed, or that a total is incomplete


@dataclass(frozen=True, slots=True)
class MissingForce:
    force: str
    reason: str  # source_unavailable: ..., no_submission, no_data_for_period


@dataclass(frozen=True, slots=True)
class StaleForce:
    force: str
    last_submission_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class Coverage:
    included: tuple[str, ...]
    missing: tuple[MissingForce, ...]
    stale: tuple[StaleForce, ...]


@dataclass(frozen=True, slots=True)
class SourceFailure:
    force: str
    reason: str


@dataclass(frozen=True, slots=True)
class IndicatorTable:
    cells: tuple[TableCell, ...]
    coverage: Coverage
    failures: tuple[SourceFailure, ...] = field(default=())
    suppressed_cells: int = 0

    COLUMNS = (
        "indicator",
        "force",
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

    def rows(self) -> list[list[object]]:
        """Cells as scalar rows in ``COLUMNS`` order: the fast, flat form."""
        return [
            [
                c.indicator,
                c.force,
                c.group,
                c.period.label,
                c.period.start.isoformat(),
                c.period.end.isoformat(),
                c.breakdown,
                c.value,
                c.numerator,
                c.denominator,
                c.suppressed,
                c.exact,
                c.note,
            ]
            for c in self.cells
        ]
