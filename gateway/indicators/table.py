"""Building one response table from per-force partials: totals, relations, disclosure.

The table holds every requested force's cells and the totals (national, regions,
countries, configured groups) beside them, per indicator, period and breakdown bucket.
Disclosure control is applied to the whole table at once (``schema.disclosure.control``)
with the additive relations that hold between totals and parts, so no suppressed cell can
be recovered by subtraction from what the same response publishes.

Totals are ``schema.indicators.partials.combine`` of their members: counts and ratios add,
and a median is selected from the members' histograms without merging them. A total's
partials depend only on its members' partials, so ``TotalsCache`` keeps them per total,
keyed by the members' data stamps: after one force's submission only the totals holding
that force are worked out again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from adapters.indicators.query import ForcePartials, IndicatorQuery
from schema import codelists
from schema.disclosure import Cell, Disclosed, Relation, Visibility, control
from schema.indicators.catalogue import IndicatorId, Unit, buckets, indicator
from schema.indicators.partials import EMPTY, Partial, combine
from schema.periods import Period
from schema.tables import TableCell

# An entity is a force ("force", code) or a total ("national",), ("region", name), ...
Entity = tuple[str, ...]
CellKey = tuple[IndicatorId, str, Entity, str | None]
# (indicator, period label, bucket) -> partial, for one entity
EntityPartials = dict[tuple[IndicatorId, str, str | None], Partial]
NATIONAL: Entity = ("national",)
# An enum member's ``.value`` goes through a descriptor: looked up once, not per cell.
_ID_VALUES: Final = {i: i.value for i in IndicatorId}
_EXACT, _CONTROLLED = Visibility.EXACT, Visibility.CONTROLLED


@dataclass(frozen=True, slots=True)
class TotalSpec:
    entity: Entity
    label: str  # the ``group`` column: national, region:North West, group:Wales ...
    members: tuple[str, ...]


def total_specs(
    group_by: Sequence[str], forces: Sequence[str], custom: Mapping[str, tuple[str, ...]]
) -> list[TotalSpec]:
    """The totals asked for, each over the requested forces that belong to it."""
    requested = set(forces)
    specs: list[TotalSpec] = []
    if "NATIONAL" in group_by:
        specs.append(TotalSpec(NATIONAL, "national", tuple(forces)))
    if "REGION" in group_by:
        for region in codelists.regions():
            members = tuple(f.code for f in codelists.forces() if f.region == region)
            specs.append(TotalSpec(("region", region), f"region:{region}", members))
    if "COUNTRY" in group_by:
        for country in ("England", "Wales"):
            members = tuple(f.code for f in codelists.forces() if f.country == country)
            specs.append(TotalSpec(("country", country), f"country:{country}", members))
    if "GROUP" in group_by:
        for name, members in custom.items():
            specs.append(TotalSpec(("group", name), f"group:{name}", members))
    return [
        TotalSpec(s.entity, s.label, tuple(m for m in s.members if m in requested))
        for s in specs
        if any(m in requested for m in s.members)
    ]


class TotalsCache:
    """Totals' partials, keyed by (query, total's members with data, their stamps); LRU."""

    def __init__(self, size: int = 512) -> None:
        self._items: OrderedDict[Hashable, EntityPartials] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> EntityPartials | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: Hashable, value: EntityPartials) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


def _quantities(
    components: Sequence[str], entity: Entity, label: str, bucket: str | None
) -> tuple[tuple[str, Entity, str, str | None], ...]:
    """The named additive quantities of a cell (one per component of its indicator)."""
    if len(components) == 1:  # most indicators; the table is built after every submission
        return ((components[0], entity, label, bucket),)
    return tuple([(name, entity, label, bucket) for name in components])


def build_table(
    query: IndicatorQuery,
    forces: Sequence[str],
    partials: Mapping[str, ForcePartials],
    totals: Sequence[TotalSpec],
    *,
    sees_exact: Callable[[str | None], bool],
    missing: Mapping[str, str],
    has_data: Callable[[str, str], bool],
    k: int,
    stamps: Mapping[str, Hashable] | None = None,
    totals_cache: TotalsCache | None = None,
) -> list[TableCell]:
    """Every cell of the response, disclosure-controlled as one table.

    ``partials`` holds the forces that answered; ``missing`` those that did not (their
    cells are absent and the totals that should include them carry a note). A force that
    answered but holds no data for a period (``has_data(force, period)`` false) is missing
    for that period: its cells are null with a note, never 0, and totals leave it out.
    With ``stamps`` (each force's data version) and a ``totals_cache``, totals whose
    members have not changed are not combined again.
    """
    bucket_values: tuple[str | None, ...] = (None,)
    if query.breakdown is not None:
        bucket_values = (None, *buckets(query.breakdown))
    labels = [p.label for p in query.periods]
    included = [f for f in forces if f in partials]
    with_data = {f: [has_data(f, label) for label in labels] for f in included}
    total_partials = [
        _total_partials(
            query,
            total=t,
            partials=partials,
            with_data=with_data,
            bucket_values=bucket_values,
            stamps=stamps,
            cache=totals_cache,
        )
        for t in totals
    ]
    # Per total and period: the entities of the members with data there (its parts).
    force_entities: dict[str, Entity] = {f: ("force", f) for f in included}
    members_at = [
        [
            [force_entities[m] for m in t.members if m in with_data and with_data[m][p]]
            for p in range(len(labels))
        ]
        for t in totals
    ]
    cells: dict[CellKey, Cell] = {}
    relations: list[Relation[CellKey]] = []
    absent: dict[CellKey, str] = {}  # cells with no figure, and why
    force_visibility = {f: _EXACT if sees_exact(f) else _CONTROLLED for f in included}
    total_visibility = _EXACT if sees_exact(None) else _CONTROLLED
    for indicator_id in query.indicators:
        spec = indicator(indicator_id)
        unit, components = spec.unit, spec.components
        for p, label in enumerate(labels):
            for bucket in bucket_values:
                part_key = (indicator_id, label, bucket)
                entity: Entity
                for force in included:
                    entity = force_entities[force]
                    key: CellKey = (indicator_id, label, entity, bucket)
                    if not with_data[force][p]:
                        absent[key] = "missing: no data for this period"
                        continue
                    cells[key] = Cell(
                        unit,
                        partials[force].get(part_key, EMPTY),
                        force_visibility[force],
                        _quantities(components, entity, label, bucket),
                    )
                for total, combined, at in zip(totals, total_partials, members_at, strict=True):
                    entity = total.entity
                    key = (indicator_id, label, entity, bucket)
                    members = at[p]
                    if not members:
                        absent[key] = "missing: no force of this total has data"
                        continue
                    cells[key] = Cell(
                        unit,
                        combined[part_key],
                        total_visibility,
                        _quantities(components, entity, label, bucket),
                    )
                    parts = tuple([(indicator_id, label, e, bucket) for e in members])
                    relations.append(Relation(key, parts))
            if query.breakdown is not None:
                entities: list[Entity] = [force_entities[f] for f in included]
                entities += [t.entity for t in totals]
                for entity in entities:
                    if (indicator_id, label, entity, None) not in cells:
                        continue
                    relations.append(
                        Relation(
                            (indicator_id, label, entity, None),
                            tuple((indicator_id, label, entity, b) for b in bucket_values[1:]),
                        )
                    )
    published = control(cells, relations, k=k)
    by_entity = {t.entity: t for t in totals}
    periods = {p.label: p for p in query.periods}
    unavailable = {
        (key[1], key[2][1]) for key in absent if key[2][0] == "force"
    }  # (period, force) pairs left out of totals
    notes = _total_notes(totals, labels, missing, unavailable)
    exact = {f: v is _EXACT for f, v in force_visibility.items()}
    total_exact = total_visibility is _EXACT
    table = [
        _table_cell(
            key,
            disclosed,
            totals=by_entity,
            periods=periods,
            notes=notes,
            exact=exact,
            total_exact=total_exact,
        )
        for key, disclosed in published.items()
    ]
    table.extend(
        _absent_cell(key, why, by_entity, periods, sees_exact) for key, why in absent.items()
    )
    return table


def _total_partials(
    query: IndicatorQuery,
    *,
    total: TotalSpec,
    partials: Mapping[str, ForcePartials],
    with_data: Mapping[str, list[bool]],
    bucket_values: tuple[str | None, ...],
    stamps: Mapping[str, Hashable] | None,
    cache: TotalsCache | None,
) -> EntityPartials:
    """Every (indicator, period, bucket) partial of one total, combined from its members."""
    present = [m for m in total.members if m in with_data]
    cache_key: Hashable = None
    if cache is not None and stamps is not None:
        cache_key = (query, tuple((m, stamps.get(m), tuple(with_data[m])) for m in present))
        found = cache.get(cache_key)
        if found is not None:
            return found
    out: EntityPartials = {}
    for indicator_id in query.indicators:
        unit: Unit = indicator(indicator_id).unit
        for p, period in enumerate(query.periods):
            members = [m for m in present if with_data[m][p]]
            for bucket in bucket_values:
                key = (indicator_id, period.label, bucket)
                out[key] = combine(unit, [partials[m].get(key, EMPTY) for m in members])
    if cache is not None and cache_key is not None:
        cache.put(cache_key, out)
    return out


def _total_notes(
    totals: Sequence[TotalSpec],
    labels: Sequence[str],
    missing: Mapping[str, str],
    unavailable: set[tuple[str, str]],
) -> dict[tuple[Entity, str], str | None]:
    """Per (total, period): "incomplete: missing ..." when a member is left out, else None."""
    notes: dict[tuple[Entity, str], str | None] = {}
    for spec in totals:
        for label in labels:
            absent = sorted(m for m in spec.members if m in missing or (label, m) in unavailable)
            notes[(spec.entity, label)] = (
                f"incomplete: missing {', '.join(absent)}" if absent else None
            )
    return notes


def _table_cell(
    key: CellKey,
    disclosed: Disclosed,
    *,
    totals: Mapping[Entity, TotalSpec],
    periods: Mapping[str, Period],
    notes: Mapping[tuple[Entity, str], str | None],
    exact: Mapping[str, bool],
    total_exact: bool,
) -> TableCell:
    indicator_id, period_label, entity, bucket = key
    value, numerator, denominator, suppressed, reason = disclosed
    note = f"suppressed: {reason}" if suppressed else None
    if entity[0] == "force":
        force: str | None = entity[1]
        group = None
        is_exact = exact[entity[1]]
    else:
        force = None
        group = totals[entity].label
        is_exact = total_exact
        incomplete = notes[(entity, period_label)]
        if incomplete:
            note = f"{note}; {incomplete}" if note else incomplete
    return TableCell(
        indicator=_ID_VALUES[indicator_id],
        force=force,
        group=group,
        period=periods[period_label],
        breakdown=bucket,
        value=value,
        numerator=numerator,
        denominator=denominator,
        suppressed=suppressed,
        exact=is_exact,
        note=note,
    )


def _absent_cell(
    key: CellKey,
    why: str,
    totals: Mapping[Entity, TotalSpec],
    periods: Mapping[str, Period],
    sees_exact: Callable[[str | None], bool],
) -> TableCell:
    indicator_id, period_label, entity, bucket = key
    force = entity[1] if entity[0] == "force" else None
    return TableCell(
        indicator=indicator_id.value,
        force=force,
        group=None if force is not None else totals[entity].label,
        period=periods[period_label],
        breakdown=bucket,
        value=None,
        numerator=None,
        denominator=None,
        suppressed=False,
        exact=sees_exact(force),
        note=why,
    )
