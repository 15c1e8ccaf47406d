"""Statistical disclosure control for one response table (the standard's controlled output).

Small numbers about victims of sexual offences can identify people. ``control`` takes every
cell of a response (a force, region, group or national figure, overall or in a breakdown
bucket), the additive relations between them, and who may see what, and returns what may
be published. Cells the caller may see exactly (its own force, an exact-figures scope) are
``EXACT``: never suppressed or rounded, and treated as known to the reader.

What is protected, within one response:

* Primary: a controlled count from 1 to k-1 is suppressed (0 may be shown); a ratio or
  median is suppressed when its numerator, denominator or underlying count is.
* Secondary: no suppressed count, numerator, denominator or median size can be worked out
  from the published cells through the declared relations, by subtraction or by any
  linear combination of them (a national total minus two region totals minus the other
  forces, say). The reader is assumed to know every published figure *exactly*, every EXACT
  cell, and every zero. A per-relation rule runs first (a relation with exactly one hidden
  non-zero member gets another member hidden: the smallest non-zero controlled part, else
  the total); then an exact check (integer Gauss-Jordan elimination over the hidden
  quantities) finds values still pinned by combinations of relations, hides more, and
  repeats until nothing is pinned. Hidden values are all positive, so a value not pinned by
  the equations can move both ways: the reader cannot narrow it to one number.
* Indicators share counts (``outcomes_assigned`` is the denominator of four shares and the
  size of a median). Name them with ``Cell.quantities``, and hiding a count in one cell hides
  it everywhere, or a share's denominator would undo a suppressed count.

Rounding controlled counts to the nearest 5 is done, but is not relied upon: ratios are
published exactly, and an exact ratio beside its rounded denominator usually pins the exact
numerator and denominator; and rounded totals and parts still bound a difference tightly.

What is NOT protected, and must be handled elsewhere (the gateway, or policy):

* Differencing across responses: two queries whose groups differ by one force, a figure
  asked for with and without a breakdown, or the same table at two as-at dates. Each call
  protects only the table it is given; the pattern depends on the table's shape.
* Overlapping periods: ``YE 2024-06`` minus ``YE 2024-05`` is nearly one month, and a
  quarter beside its months is a relation only if the gateway declares it.
* Complements inside one ratio (198 charged of 200 reveals 2 not charged), inequalities
  between indicators (open over 365 days is at most open), and the fact that a median of
  an odd count is one record's actual day count.
* A suppressed ratio whose numerator is 0 can be inferred to be 0 when the totals leave no
  room for more; zeros may be shown under the standard, so this is accepted.
* Values that EXACT cells alone pin (the reader's entitlement already reveals them); these
  stay suppressed, as the standard requires, but nothing else can hide them.

The result is deterministic for a given input order, so a repeated query gets the same
pattern (two different patterns for one table would be intersected).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from math import gcd
from typing import Final, Generic, NamedTuple, TypeVar

from schema.errors import DisclosureError
from schema.indicators.catalogue import Unit
from schema.indicators.partials import Partial, median_of_histogram

K = TypeVar("K", bound=Hashable)
DEFAULT_K: Final = 10
DEFAULT_ROUNDING_BASE: Final = 5


class Visibility(StrEnum):
    EXACT = "exact"  # the caller may see this figure exactly (e.g. its own force)
    CONTROLLED = "controlled"


class Reason(StrEnum):
    PRIMARY_SMALL_COUNT = "primary_small_count"  # a count from 1 to k-1
    UNDERLYING_COUNT_SUPPRESSED = "underlying_count_suppressed"  # a ratio's or median's count
    SECONDARY_COMPLEMENT = "secondary_complement"  # hidden so another cannot be worked out


class Cell(NamedTuple):
    """One figure of a response, with the exact partial result behind it.

    ``quantities`` optionally names the cell's additive components (COUNT: the count; RATIO:
    numerator, denominator; DAYS: the number of values) so that cells of different
    indicators sharing a count are linked; see ``Indicator.components``. A name must be
    unique to the force, period, scope, as-at date and bucket it counts. Unnamed components
    belong to the cell alone.
    """

    unit: Unit
    partial: Partial
    visibility: Visibility = Visibility.CONTROLLED
    quantities: tuple[Hashable, ...] | None = None


@dataclass(frozen=True, slots=True)
class Relation(Generic[K]):
    """``total = sum(parts)``, holding for every additive component of the cells."""

    total: K
    parts: tuple[K, ...]


class Disclosed(NamedTuple):
    """A published cell. Counts are rounded unless EXACT; ratios and medians are exact.

    ``numerator`` and ``denominator`` are a ratio's (rounded) parts; for a median,
    ``numerator`` is the (rounded) number of values. All None when suppressed.
    """

    value: int | float | None
    numerator: int | None
    denominator: int | None
    suppressed: bool
    reason: Reason | None


def components(unit: Unit, partial: Partial) -> tuple[int, ...]:
    """The additive counts a relation holds for, in ``Cell.quantities`` order."""
    if unit is Unit.RATIO:
        return (partial.numerator, partial.denominator)
    return (partial.numerator,)


def control(
    cells: Mapping[K, Cell],
    relations: Iterable[Relation[K]] = (),
    *,
    k: int = DEFAULT_K,
    rounding_base: int = DEFAULT_ROUNDING_BASE,
) -> dict[K, Disclosed]:
    """Apply disclosure control to a whole response; one ``Disclosed`` per cell key.

    Raises ``DisclosureError`` for a table that is inconsistent (a relation naming an
    unknown cell, mixing units, or whose components do not add up), since no guarantee
    would then hold, or for a ``k`` that rounding would undercut.
    """
    half = rounding_base // 2
    if k < 1 or rounding_base < 1 or (k + half) // rounding_base * rounding_base < k:
        raise DisclosureError(
            f"k={k} with rounding to {rounding_base} would publish counts of k or more "
            "as numbers below k; choose k that rounds up or is a multiple of the base"
        )
    hidden: dict[K, Reason] = {}
    for key, cell in cells.items():
        if cell.visibility is Visibility.EXACT:
            continue
        partial = cell.partial
        if cell.unit is Unit.COUNT:
            if 0 < partial.numerator < k:
                hidden[key] = Reason.PRIMARY_SMALL_COUNT
        elif 0 < partial.numerator < k or 0 < partial.denominator < k:
            hidden[key] = Reason.UNDERLYING_COUNT_SUPPRESSED
    relation_list = list(relations)
    if relation_list or any(cell.quantities for cell in cells.values()):
        _Secondary(cells, relation_list, hidden).run()

    published: dict[K, Disclosed] = {}
    suppressed = Disclosed(None, None, None, True, None)
    for key, cell in cells.items():
        reason = hidden.get(key)
        if reason is not None:
            published[key] = suppressed._replace(reason=reason)
            continue
        unit, partial = cell.unit, cell.partial
        n, d = partial.numerator, partial.denominator
        if cell.visibility is Visibility.CONTROLLED:
            n, d = (
                (n + half) // rounding_base * rounding_base,
                (d + half) // rounding_base * rounding_base,
            )
        if unit is Unit.COUNT:
            published[key] = Disclosed(n, None, None, False, None)
        elif unit is Unit.RATIO:
            exact = partial.numerator / partial.denominator if partial.denominator else None
            published[key] = Disclosed(exact, n, d, False, None)
        else:
            published[key] = Disclosed(median_of_histogram(partial.histogram), n, None, False, None)
    return published


class _Secondary(Generic[K]):
    """Secondary suppression over quantities: the additive counts behind the cells.

    A quantity is unknown to the reader when it is non-zero and every cell showing it is
    hidden. Hiding a quantity hides every cell that shows it.
    """

    def __init__(
        self, cells: Mapping[K, Cell], relations: list[Relation[K]], hidden: dict[K, Reason]
    ) -> None:
        self.cells, self.hidden = cells, hidden
        self.index: dict[Hashable, int] = {}
        self.value: list[int] = []
        self.cells_of: list[list[K]] = []
        self.relations_of: list[list[int]] = []
        self.quantities_of: dict[K, tuple[int, ...]] = {}
        self.members: list[tuple[int, ...]] = []  # per relation: (total, *parts)
        for key, cell in cells.items():
            if cell.quantities:
                self._quantities(key)
        for relation in relations:
            self._add(relation)
        self.hidden_count = [0] * len(self.value)
        self.controllable = [
            all(cells[c].visibility is Visibility.CONTROLLED for c in of) for of in self.cells_of
        ]
        self.queue: deque[int] = deque()
        self.unprotectable: set[int] = set()  # pinned by EXACT cells alone
        for key in list(hidden):
            self._count_hidden(key)

    def _quantities(self, key: K) -> tuple[int, ...]:
        found = self.quantities_of.get(key)
        if found is not None:
            return found
        cell = self.cells[key]
        values = components(cell.unit, cell.partial)
        names = cell.quantities or tuple((_OWN, key, j) for j in range(len(values)))
        if len(names) != len(values):
            raise DisclosureError(f"cell {key!r} names {len(names)} quantities for a {cell.unit}")
        ids = []
        for name, amount in zip(names, values, strict=True):
            q = self.index.setdefault(name, len(self.value))
            if q == len(self.value):
                self.value.append(amount)
                self.cells_of.append([])
                self.relations_of.append([])
            elif self.value[q] != amount:
                raise DisclosureError(f"quantity {name!r} is {self.value[q]} and {amount}")
            self.cells_of[q].append(key)
            ids.append(q)
        self.quantities_of[key] = found = tuple(ids)
        return found

    def _add(self, relation: Relation[K]) -> None:
        keys = (relation.total, *relation.parts)
        missing = [key for key in keys if key not in self.cells]
        if missing or len(set(keys)) != len(keys):
            raise DisclosureError(f"relation {relation!r}: unknown or repeated cells {missing}")
        if len({self.cells[key].unit for key in keys}) != 1:
            raise DisclosureError(f"relation {relation!r} mixes units")
        columns = list(zip(*(self._quantities(key) for key in keys), strict=True))
        for members in columns:
            if self.value[members[0]] != sum(self.value[q] for q in members[1:]):
                raise DisclosureError(f"relation {relation!r}: the parts do not add up")
            self.relations_of_members(members)

    def relations_of_members(self, members: tuple[int, ...]) -> None:
        r = len(self.members)
        self.members.append(members)
        for q in members:
            self.relations_of[q].append(r)

    def unknown(self, q: int) -> bool:
        return self.value[q] != 0 and self.hidden_count[q] == len(self.cells_of[q])

    def _count_hidden(self, key: K) -> None:
        for q in self.quantities_of.get(key, ()):
            self.hidden_count[q] += 1
            if self.unknown(q):
                self.queue.extend(self.relations_of[q])

    def _hide_quantity(self, q: int) -> None:
        for key in self.cells_of[q]:
            if key not in self.hidden:
                self.hidden[key] = Reason.SECONDARY_COMPLEMENT
                self._count_hidden(key)

    def _candidate(self, members: tuple[int, ...], pinned: int) -> int | None:
        """The member to hide beside ``pinned``: smallest non-zero controlled part, else total."""
        usable = [
            q
            for q in members
            if q != pinned and self.value[q] and self.controllable[q] and not self.unknown(q)
        ]
        parts = [q for q in usable if q != members[0]]
        if parts:
            return min(parts, key=self.value.__getitem__)  # the first of equals: deterministic
        return usable[0] if usable else None

    def run(self) -> None:
        while True:
            while self.queue:  # the per-relation rule, to a fixed point
                members = self.members[self.queue.popleft()]
                unknown = [q for q in members if self.unknown(q)]
                if len(unknown) == 1:
                    choice = self._candidate(members, unknown[0])
                    if choice is not None:
                        self._hide_quantity(choice)
            pinned = self._pinned()
            if not pinned:
                return
            # Repair one pinned value, then redo the cheap rule: one hidden cell often
            # frees several values, and hiding one per pinned value would over-suppress.
            q = pinned[0]
            choice = self._repair_choice(q)
            if choice is None:
                self.unprotectable.add(q)
            else:
                self._hide_quantity(choice)

    def _pinned(self) -> list[int]:
        """Hidden quantities that the relations still pin, by exact elimination."""
        unknown = {q for key in self.hidden for q in self.quantities_of.get(key, ())}
        unknown = {q for q in unknown if self.unknown(q)}
        rows: list[dict[int, int]] = []
        for r in sorted({r for q in unknown for r in self.relations_of[q]}):
            row: dict[int, int] = {}
            for position, q in enumerate(self.members[r]):
                if q in unknown:
                    row[q] = row.get(q, 0) + (1 if position == 0 else -1)
            rows.append({q: c for q, c in row.items() if c})
        return sorted(q for q in _determined(rows) if q not in self.unprotectable)

    def _repair_choice(self, pinned: int) -> int | None:
        """What to hide for a value pinned by a combination of relations.

        First a member of a relation holding the value, else of any relation reachable from
        it through hidden values (the combination that pins it lies among those).
        """
        seen_relations: set[int] = set()
        frontier = [pinned]
        seen_quantities = {pinned}
        level: list[int] = list(self.relations_of[pinned])
        while level:
            found = [self._candidate(self.members[r], pinned) for r in level]
            usable = [c for c in found if c is not None]
            if usable:
                return min(usable, key=self.value.__getitem__)
            seen_relations.update(level)
            frontier = [
                q
                for r in level
                for q in self.members[r]
                if q not in seen_quantities and self.unknown(q)
            ]
            seen_quantities.update(frontier)
            level = sorted({r for q in frontier for r in self.relations_of[q]} - seen_relations)
        return None


_OWN: Final = object()  # marks a component that belongs to one cell alone


def _determined(rows: list[dict[int, int]]) -> set[int]:
    """Variables whose value the equations fix: a unit vector in the row space.

    Integer Gauss-Jordan elimination on sparse rows. In reduced form every pivot column
    appears only in its own row, so a variable is fixed exactly when its pivot row has no
    other entry.
    """
    pivots: dict[int, dict[int, int]] = {}
    for original in rows:
        row = dict(original)
        for col in [c for c in row if c in pivots]:
            if col in row:
                row = _eliminate(row, pivots[col], col)
        if not row:
            continue
        col = min(row)
        for other_col, other in list(pivots.items()):
            if col in other:
                pivots[other_col] = _eliminate(other, row, col)
        pivots[col] = row
    return {col for col, row in pivots.items() if len(row) == 1}


def _eliminate(row: dict[int, int], pivot: dict[int, int], col: int) -> dict[int, int]:
    """``row`` with ``col`` removed by subtracting a multiple of ``pivot`` (exact integers)."""
    a, b = pivot[col], row[col]
    merged = {c: a * v for c, v in row.items()}
    for c, v in pivot.items():
        merged[c] = merged.get(c, 0) - b * v
    result = {c: v for c, v in merged.items() if v}
    divisor = gcd(*result.values()) if result else 1
    return {c: v // divisor for c, v in result.items()}
