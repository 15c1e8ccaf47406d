"""The indicator service behind ``indicatorTable``, ``dataQuality`` and the CSV export.

One call: resolve periods and forces, fan out to the sources (partials and data quality
per force, cached by each force's data version so figures are never staler than the last
receipt), build the table with totals and apply disclosure control to it as a whole.

Finished tables are cached too, keyed by the normalised question, the viewer (what it may
see exactly) and the stamp of every force involved as the sources reported it on this very
call: a repeated national table costs the sources' stamp check and a dictionary lookup,
and any receipt changes a stamp, so a cached table is never staler than the last receipt.
Totals are cached per total by their members' stamps (``table.TotalsCache``), so after one
force's submission only the totals holding it are combined again. And a table whose
inputs did not change with the stamps (a submission outside its periods: the sources then
hand back the very same partials objects, and the same periods with data) is not built
again: merging and disclosure control were most of a busy gateway's work while every
push made every table holding its force stale. Coverage's staleness depends on the
clock, so it is worked out on every call.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from adapters.indicators.quality import DataQuality
from adapters.indicators.query import ForcePartials, IndicatorQuery
from adapters.indicators.wire import SourceAnswer
from gateway.indicators.federation import Failure, FanOut
from gateway.indicators.single_flight import SingleFlight
from gateway.indicators.sources import SourceRegistry
from gateway.indicators.table import TotalsCache, build_table, total_specs
from schema import codelists
from schema.indicators.catalogue import CATALOGUE
from schema.periods import Period, periods_starting_between
from schema.tables import (
    GROUP_BY,
    Coverage,
    IndicatorTable,
    MissingForce,
    PreparedRows,
    SourceFailure,
    StaleForce,
    TableCell,
    TableQuery,
)

_QUERIES_KEPT = 4096


class TableQueryError(ValueError):
    """An argument the caller can fix (unknown force, bad period range...)."""


@dataclass(frozen=True, slots=True)
class Viewer:
    """What the caller may see exactly: its own force, or everything (exact scope)."""

    own_force: str | None
    exact_everything: bool

    def sees_exact(self, force: str | None) -> bool:
        return self.exact_everything or (force is not None and force == self.own_force)


@dataclass(frozen=True, slots=True)
class _Built:
    """A finished table, less what depends on the clock (coverage's stale forces)."""

    cells: tuple[TableCell, ...]
    included: tuple[str, ...]
    missing: tuple[MissingForce, ...]
    failures: tuple[SourceFailure, ...]
    suppressed_cells: int
    prepared: PreparedRows  # the cells' rows as JSON, serialised once for the entry


@dataclass(frozen=True, slots=True)
class _Inputs:
    """What a table was built from, beyond its question: compared to reuse it."""

    partials: tuple[ForcePartials | None, ...]  # per force, compared by identity
    has_data: tuple[tuple[bool, ...] | None, ...]  # per force, per period

    def same_as(self, other: _Inputs) -> bool:
        return self.has_data == other.has_data and all(
            mine is theirs for mine, theirs in zip(self.partials, other.partials, strict=True)
        )


V = TypeVar("V")


class _TableCache(Generic[V]):
    """Finished tables by (question, viewer, stamps); LRU over ``size`` tables."""

    def __init__(self, size: int = 32) -> None:
        self._items: OrderedDict[Hashable, V] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: Hashable, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


class IndicatorService:
    def __init__(
        self,
        sources: SourceRegistry,
        fanout: FanOut,
        *,
        k: int,
        custom_groups: dict[str, tuple[str, ...]],
        stale_after: dt.timedelta = dt.timedelta(days=45),
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.sources = sources
        self.fanout = fanout
        self.k = k
        self.custom_groups = custom_groups
        self.stale_after = stale_after
        self.clock = clock
        self._tables: _TableCache[_Built] = _TableCache()
        # (question, forces, groups, viewer, missing) -> the inputs and the table built last
        self._last_built: _TableCache[tuple[_Inputs, _Built]] = _TableCache()
        self._queries: dict[IndicatorQuery, IndicatorQuery] = {}
        self._building: SingleFlight[_Built] = SingleFlight()
        self._totals = TotalsCache()

    def periods(self, request: TableQuery) -> list[Period]:
        try:
            return periods_starting_between(request.granularity, request.from_date, request.to_date)
        except ValueError as exc:
            raise TableQueryError(str(exc)) from None

    def forces(self, asked: Sequence[str] | None) -> list[str]:
        if asked is None:
            return [f.code for f in codelists.forces()]
        unknown = [f for f in asked if codelists.force(f) is None]
        if unknown:
            raise TableQueryError(f"Unknown force code(s): {', '.join(unknown)}.")
        return list(dict.fromkeys(asked))

    def table(self, request: TableQuery, viewer: Viewer) -> IndicatorTable:
        periods = self.periods(request)
        if not periods:
            raise TableQueryError("No period starts between from and to.")
        forces = self.forces(request.forces)
        unknown_groups = [g for g in request.groups if g not in GROUP_BY]
        if unknown_groups:
            raise TableQueryError(f"Unknown group(s): {', '.join(unknown_groups)}.")
        query = IndicatorQuery(
            indicators=request.indicators or tuple(i.id for i in CATALOGUE),
            granularity=request.granularity,
            periods=tuple(periods),
            scope=request.scope,
            breakdown=request.breakdown,
            as_at=request.as_at,
        )
        # One object per distinct query: the caches then find it by identity, without
        # comparing its fields once per force.
        if len(self._queries) > _QUERIES_KEPT:
            self._queries.clear()
        query = self._queries.setdefault(query, query)
        answers, failures = self._gather(forces, query)
        partials: dict[str, ForcePartials] = {}
        quality: dict[str, DataQuality] = {}
        versions: dict[str, Hashable] = {}
        for answer in answers:
            partials |= answer.partials
            quality |= answer.quality
            versions |= answer.versions
        missing: dict[str, str] = {f.force: f"source_unavailable: {f.reason}" for f in failures}
        for force in forces:
            q = quality.get(force)
            if q is not None and q.last_submission_at is None:
                missing[force] = "no_submission"
                partials.pop(force, None)
        key = (
            query,
            tuple(forces),
            tuple(request.groups),
            viewer,
            tuple((f, versions.get(f)) for f in forces),
            tuple(missing.items()),
        )
        # A source that does not say what its figures were read at cannot be cached.
        cacheable = all(versions.get(f) is not None for f in partials)
        built = self._tables.get(key) if cacheable else None
        if built is None:
            build = functools.partial(
                self._build,
                query=query,
                forces=forces,
                groups=request.groups,
                viewer=viewer,
                partials=partials,
                quality=quality,
                versions=versions if cacheable else None,
                missing=missing,
                failures=failures,
            )
            if cacheable:
                # The key holds every force's version: requests that read the same
                # versions at the same moment build the table once.
                built = self._building.run(key, build)
                self._tables.put(key, built)
            else:
                built = build()
        now = self.clock()
        stale = tuple(
            StaleForce(f, quality[f].last_submission_at)
            for f in built.included
            if (at := quality[f].last_submission_at) is not None and now - at > self.stale_after
        )
        return IndicatorTable(
            cells=built.cells,
            coverage=Coverage(included=built.included, missing=built.missing, stale=stale),
            failures=built.failures,
            suppressed_cells=built.suppressed_cells,
            prepared=built.prepared,
        )

    def _build(
        self,
        *,
        query: IndicatorQuery,
        forces: list[str],
        groups: Sequence[str],
        viewer: Viewer,
        partials: dict[str, ForcePartials],
        quality: dict[str, DataQuality],
        versions: dict[str, Hashable] | None,
        missing: dict[str, str],
        failures: list[SourceFailure],
    ) -> _Built:
        shape = (query, tuple(forces), tuple(groups), viewer, tuple(missing.items()))
        inputs = _Inputs(
            partials=tuple(partials.get(f) for f in forces),
            has_data=tuple(
                tuple(quality[f].has_data.get(p.label, False) for p in query.periods)
                if f in partials
                else None
                for f in forces
            ),
        )
        last = self._last_built.get(shape)
        if last is not None and last[0].same_as(inputs) and last[1].failures == tuple(failures):
            return last[1]
        cells = build_table(
            query,
            forces,
            partials,
            total_specs(groups, forces, self.custom_groups),
            sees_exact=viewer.sees_exact,
            missing=missing,
            has_data=lambda force, label: quality[force].has_data.get(label, False),
            k=self.k,
            stamps=versions,
            totals_cache=self._totals,
        )
        finished = tuple(cells)
        built = _Built(
            cells=finished,
            included=tuple(f for f in forces if f in partials),
            missing=tuple(MissingForce(f, why) for f, why in missing.items()),
            failures=tuple(failures),
            suppressed_cells=sum(1 for c in cells if c.suppressed),
            prepared=PreparedRows(finished),
        )
        self._last_built.put(shape, (inputs, built))
        return built

    def quality(self, forces: Sequence[str] | None, periods: Sequence[Period]) -> list[DataQuality]:
        chosen = self.forces(forces)
        grouped = self.sources.group(chosen)
        calls: dict[str, Callable[[], dict[str, DataQuality]]] = {
            name: functools.partial(self.sources.sources[name].quality_many, members, periods)
            for name, members in grouped.items()
        }
        results = self.fanout.run(calls, grouped, self.sources.timeouts)
        found: dict[str, DataQuality] = {}
        for result in results.values():
            if not isinstance(result, Failure):
                found |= result
        return [found[f] for f in chosen if f in found]

    def _gather(
        self, forces: list[str], query: IndicatorQuery
    ) -> tuple[list[SourceAnswer], list[SourceFailure]]:
        grouped = self.sources.group(forces)
        calls = {
            name: functools.partial(self.sources.sources[name].answer, members, query)
            for name, members in grouped.items()
        }
        answers: list[SourceAnswer] = []
        failures: list[SourceFailure] = []
        for name, result in self.fanout.run(calls, grouped, self.sources.timeouts).items():
            if isinstance(result, Failure):
                failures.extend(SourceFailure(f, result.reason) for f in grouped[name])
            else:
                answers.append(result)
        return answers, failures
