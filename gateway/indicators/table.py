"""Building one response table from per-force partials: totals, relations, disclosure.

The table holds every requested force's cells and the totals (national, regions,
countries, configured groups) beside them, per indicator, period and breakdown bucket.
Disclosure control is applied to the whole table at once (``schema.disclosure.control``)
with the additive relations that hold between totals and parts, so no suppressed cell can
be recovered by subtraction from what the same response publishes.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass

from adapters.indicators.query import ForcePartials, IndicatorQuery
from schema import codelists
from schema.disclosure import Cell, Disclosed, Relation, Visibility, control
from schema.indicators.catalogue import IndicatorId, buckets, indicator
from schema.indicators.partials import EMPTY, Partial, merge
from schema.periods import Period
from schema.tables import TableCell

# An entity is a force ("force", code) or a total ("national",), ("region", name), ...
Entity = tuple[str, ...]
CellKey = tuple[IndicatorId, str, Entity, str | None]
NATIONAL: Entity = ("national",)


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
) -> list[TableCell]:
    """Every cell of the response, disclosure-controlled as one table.

    ``partials`` holds the forces that answered; ``missing`` those that did not (their
    cells are absent and the totals that should include them carry a note). A force that
    answered but holds no data for a period (``has_data(force, period)`` false) is missing
    for that period: its cells are null with a note, never 0, and totals leave it out.
    """
    bucket_values: tuple[str | None, ...] = (None,)
    if query.breakdown is not None:
        bucket_values = (None, *buckets(query.breakdown))
    included = [f for f in forces if f in partials]
    cells: dict[CellKey, Cell] = {}
    relations: list[Relation[CellKey]] = []
    absent: dict[CellKey, str] = {}  # cells with no figure, and why
    for indicator_id in query.indicators:
        spec = indicator(indicator_id)
        for period in query.periods:
            for bucket in bucket_values:
                by_force: dict[str, Partial] = {}
                for force in included:
                    if not has_data(force, period.label):
                        key: CellKey = (indicator_id, period.label, ("force", force), bucket)
                        absent[key] = "missing: no data for this period"
                        continue
                    partial = partials[force].get((indicator_id, period.label, bucket), EMPTY)
                    by_force[force] = partial
                    cells[(indicator_id, period.label, ("force", force), bucket)] = Cell(
                        spec.unit,
                        partial,
                        _visibility(sees_exact(force)),
                        _quantities(spec.components, ("force", force), period.label, bucket),
                    )
                for total in totals:
                    members = [m for m in total.members if m in by_force]
                    key = (indicator_id, period.label, total.entity, bucket)
                    if not members:
                        absent[key] = "missing: no force of this total has data"
                        continue
                    cells[key] = Cell(
                        spec.unit,
                        merge(by_force[m] for m in members),
                        _visibility(sees_exact(None)),
                        _quantities(spec.components, total.entity, period.label, bucket),
                    )
                    relations.append(
                        Relation(
                            key,
                            tuple(
                                (indicator_id, period.label, ("force", m), bucket) for m in members
                            ),
                        )
                    )
            if query.breakdown is not None:
                entities: list[Entity] = [("force", f) for f in included]
                entities += [t.entity for t in totals]
                for entity in entities:
                    if (indicator_id, period.label, entity, None) not in cells:
                        continue
                    relations.append(
                        Relation(
                            (indicator_id, period.label, entity, None),
                            tuple(
                                (indicator_id, period.label, entity, b) for b in bucket_values[1:]
                            ),
                        )
                    )
    published = control(cells, relations, k=k)
    labels = {t.entity: t for t in totals}
    periods = {p.label: p for p in query.periods}
    unavailable = {
        (key[1], key[2][1]) for key in absent if key[2][0] == "force"
    }  # (period, force) pairs left out of totals
    table = [
        _table_cell(
            key,
            cells[key],
            disclosed,
            totals=labels,
            periods=periods,
            missing=missing,
            unavailable=unavailable,
        )
        for key, disclosed in published.items()
    ]
    table.extend(_absent_cell(key, why, labels, periods, sees_exact) for key, why in absent.items())
    return table


def _visibility(exact: bool) -> Visibility:
    return Visibility.EXACT if exact else Visibility.CONTROLLED


def _quantities(
    components: tuple[str, ...], entity: Entity, period: str, bucket: str | None
) -> tuple[Hashable, ...]:
    # A count shared by several indicators (outcomes_assigned is the denominator of four
    # shares) gets one name per entity, period and bucket, so hiding it hides it everywhere.
    return tuple((name, entity, period, bucket) for name in components)


def _table_cell(
    key: CellKey,
    cell: Cell,
    disclosed: Disclosed,
    *,
    totals: Mapping[Entity, TotalSpec],
    periods: Mapping[str, Period],
    missing: Mapping[str, str],
    unavailable: set[tuple[str, str]],
) -> TableCell:
    indicator_id, period_label, entity, bucket = key
    force = entity[1] if entity[0] == "force" else None
    note = f"suppressed: {disclosed.reason}" if disclosed.suppressed else None
    group = None
    if force is None:
        spec = totals[entity]
        group = spec.label
        absent = sorted(m for m in spec.members if m in missing or (period_label, m) in unavailable)
        if absent:
            incomplete = f"incomplete: missing {', '.join(absent)}"
            note = f"{note}; {incomplete}" if note else incomplete
    return TableCell(
        indicator=indicator_id.value,
        force=force,
        group=group,
        period=periods[period_label],
        breakdown=bucket,
        value=disclosed.value,
        numerator=disclosed.numerator,
        denominator=disclosed.denominator,
        suppressed=disclosed.suppressed,
        exact=cell.visibility is Visibility.EXACT,
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
