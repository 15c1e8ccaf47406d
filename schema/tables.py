"""The shape of an indicator table as served: cells, coverage and notes.

Pure data shared by the gateway's indicator service (which fills it) and the GraphQL
types and CSV export (which render it). A cell's ``force`` is None for a total; then
``group`` names it (``national``, ``region:<name>``, ``country:<name>``, ``group:<name>``).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import orjson

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
    # The same cells' rows, serialised once and shared by every table served from one
    # cached build (``PreparedRows``); None: serialised on each call.
    prepared: PreparedRows | None = field(default=None, compare=False, repr=False)

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
        return rows_of(self.cells)

    def summary(self) -> CellSummary:
        """How many cells show a figure and which periods they cover."""
        if self.prepared is not None:
            return self.prepared.summary()
        return summarise(self.cells)

    def rows_json(self) -> bytes:
        """``rows()`` as JSON bytes, from ``prepared`` when the table has it."""
        if self.prepared is not None:
            return self.prepared.json()
        return orjson.dumps(self.rows())


@dataclass(frozen=True, slots=True)
class CellSummary:
    shown: int  # cells with a figure, not suppressed
    period_labels: frozenset[str]


def summarise(cells: Sequence[TableCell]) -> CellSummary:
    return CellSummary(
        shown=sum(1 for c in cells if c.value is not None and not c.suppressed),
        period_labels=frozenset(c.period.label for c in cells),
    )


def rows_of(cells: Sequence[TableCell]) -> list[list[object]]:
    """Cells as scalar rows in ``IndicatorTable.COLUMNS`` order."""
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
        for c in cells
    ]


class PreparedRows:
    """The rows of one finished (cached) set of cells, serialised to JSON on first use.

    A cache of finished tables keeps one of these beside the cells, so every request served
    from that entry returns the same bytes instead of rebuilding thousands of lists. The
    cells are immutable, so the bytes can never differ from ``rows_of(cells)``.
    """

    __slots__ = ("_cells", "_json", "_lock", "_summary")

    def __init__(self, cells: tuple[TableCell, ...]) -> None:
        self._cells = cells
        self._json: bytes | None = None
        self._summary: CellSummary | None = None
        self._lock = threading.Lock()

    def summary(self) -> CellSummary:
        """What the cells show, counted once (every request's audit event records it)."""
        found = self._summary
        if found is None:
            found = self._summary = summarise(self._cells)
        return found

    def json(self) -> bytes:
        found = self._json
        if found is None:
            with self._lock:
                found = self._json
                if found is None:
                    found = self._json = orjson.dumps(rows_of(self._cells))
        return found
