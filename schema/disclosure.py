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
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from math import gcd
from typing import Any, Final, Generic, NamedTuple, TypeVar

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

    Raises ``DisclosureError`` for a ``k`` that rounding would undercut, or for a table that
    is inconsistent (a relation naming an unknown or repeated cell, mixing units, or whose
    components do not add up; a quantity named with two values), since no guarantee would
    then hold. Relations are checked only when some cell is suppressed: with nothing hidden
    there is nothing to protect.
    """
    half = rounding_base // 2
    if k < 1 or rounding_base < 1 or (k + half) // rounding_base * rounding_base < k:
        raise DisclosureError(
            f"k={k} with rounding to {rounding_base} would publish counts of k or more "
            "as numbers below k; choose a k that is a multiple of the base or rounds up"
        )
    keys = list(cells)
    table = list(cells.values())
    reasons: list[Reason | None] = [None] * len(table)
    for i, (unit, partial, visibility, _) in enumerate(table):
        if visibility is Visibility.CONTROLLED:
            if unit is Unit.COUNT:
                if 0 < partial.numerator < k:
                    reasons[i] = Reason.PRIMARY_SMALL_COUNT
            elif 0 < partial.numerator < k or 0 < partial.denominator < k:
                reasons[i] = Reason.UNDERLYING_COUNT_SUPPRESSED
    if any(reasons):
        _Secondary(table, keys, relations, reasons).run()

    published: dict[K, Disclosed] = {}
    for key, (unit, partial, visibility, _), reason in zip(keys, table, reasons, strict=True):
        if reason is not None:
            published[key] = Disclosed(None, None, None, True, reason)
            continue
        n, d = partial.numerator, partial.denominator
        if visibility is Visibility.CONTROLLED:
            n = (n + half) // rounding_base * rounding_base
            d = (d + half) // rounding_base * rounding_base
        if unit is Unit.COUNT:
            published[key] = Disclosed(n, None, None, False, None)
        elif unit is Unit.RATIO:
            exact = partial.numerator / partial.denominator if partial.denominator else None
            published[key] = Disclosed(exact, n, d, False, None)
        else:
            median = median_of_histogram(partial.histogram, partial.numerator)
            published[key] = Disclosed(median, n, None, False, None)
    return published


class _Secondary:
    """Secondary suppression over quantities: the additive counts behind the cells.

    Cell ``i``'s component ``j`` lives in slot ``2 * i + j``; a named quantity shared by
    several cells lives in the slot of the first cell naming it. A quantity is unknown to
    the reader when it is non-zero and every cell showing it is hidden; hiding a quantity
    hides every cell showing it.
    """

    def __init__(
        self,
        table: list[Cell],
        keys: Sequence[Hashable],
        relations: Iterable[Relation[Any]],
        reasons: list[Reason | None],
    ) -> None:
        self.reasons = reasons
        self.controlled = [cell.visibility is Visibility.CONTROLLED for cell in table]
        self.value = value = [0] * (2 * len(table))
        self.slot = slot = list(range(2 * len(table)))
        self.width = width = [1] * len(table)
        self.cells_of: dict[int, list[int]] = {}  # shared quantities only
        names: dict[Hashable, int] = {}
        for i, (unit, partial, _, quantities) in enumerate(table):
            value[2 * i] = partial.numerator
            if unit is Unit.RATIO:
                value[2 * i + 1], width[i] = partial.denominator, 2
            if quantities is None:
                continue
            if len(quantities) != width[i]:
                raise DisclosureError(f"cell {keys[i]!r} names {len(quantities)} quantities")
            for j, name in enumerate(quantities):
                first = names.setdefault(name, 2 * i + j)
                if first != 2 * i + j:
                    if value[first] != value[2 * i + j]:
                        raise DisclosureError(f"quantity {name!r} has two values")
                    slot[2 * i + j] = first
                    self.cells_of.setdefault(first, [first // 2]).append(i)
        self.members: list[tuple[int, ...]] = []  # per relation and component: (total, *parts)
        self.relations_of: dict[int, list[int]] = {}
        position = {key: i for i, key in enumerate(keys)}
        for relation in relations:
            try:
                indices = [position[relation.total], *[position[p] for p in relation.parts]]
            except KeyError as exc:
                raise DisclosureError(f"{relation!r} names no cell {exc}") from None
            if len(set(indices)) != len(indices):
                raise DisclosureError(f"{relation!r} repeats a cell")
            if len({table[i].unit for i in indices}) != 1:
                raise DisclosureError(f"{relation!r} mixes units")
            for j in range(width[indices[0]]):
                members = tuple(slot[2 * i + j] for i in indices)
                if value[members[0]] != sum([value[q] for q in members[1:]]):
                    raise DisclosureError(f"{relation!r}: the parts do not add up to the total")
                for q in members:
                    self.relations_of.setdefault(q, []).append(len(self.members))
                self.members.append(members)
        # A quantity may be hidden to protect another when it is non-zero and no EXACT cell
        # shows it. Zeros are never used: a hidden zero protects nothing against a reader
        # who knows counts are not negative.
        self.hideable = [
            bool(amount) and all(self.controlled[c] for c in self.cells_of.get(q, (q // 2,)))
            for q, amount in enumerate(value)
        ]
        self.unknown = [False] * len(value)
        self.unknown_in = [0] * len(self.members)  # unknown members per relation
        self.queue: deque[int] = deque()  # relations to look at again
        self.fresh: list[int] = []  # quantities unknown since the last exact check
        self.unprotectable: set[int] = set()  # pinned by EXACT cells (and zeros) alone
        for i, reason in enumerate(reasons):
            if reason is not None:
                self._became_hidden(i)

    def _became_hidden(self, i: int) -> None:
        for j in range(self.width[i]):
            q = self.slot[2 * i + j]
            if self.unknown[q] or not self.value[q]:
                continue
            shared = self.cells_of.get(q)
            if shared is None or all(self.reasons[c] is not None for c in shared):
                self.unknown[q] = True
                self.fresh.append(q)
                for r in self.relations_of.get(q, ()):
                    self.unknown_in[r] += 1
                    self.queue.append(r)

    def _hide_quantity(self, q: int) -> None:
        for i in self.cells_of.get(q, (q // 2,)):
            if self.reasons[i] is None:
                self.reasons[i] = Reason.SECONDARY_COMPLEMENT
                self._became_hidden(i)

    def _candidate(self, members: tuple[int, ...], pinned: int) -> int | None:
        """The member to hide beside ``pinned``: smallest non-zero controlled part, else total."""
        usable = [q for q in members if self.hideable[q] and not self.unknown[q] and q != pinned]
        parts = [q for q in usable if q != members[0]]
        if parts:
            return min(parts, key=self.value.__getitem__)  # the first of equals: deterministic
        return usable[0] if usable else None

    def run(self) -> None:
        while True:
            while self.queue:  # the per-relation rule, to a fixed point
                r = self.queue.popleft()
                if self.unknown_in[r] == 1:
                    members = self.members[r]
                    lone = next(q for q in members if self.unknown[q])
                    choice = self._candidate(members, lone)
                    if choice is not None:
                        self._hide_quantity(choice)
            if not self._check():
                return

    def _check(self) -> bool:
        """Exact check of each changed group of hidden values; True if it hid more.

        At most one repair per group per round: one more hidden cell often frees several
        pinned values, and the cheap rule runs again before the next check.
        """
        fresh, self.fresh = self.fresh, []
        seen: set[int] = set()
        repaired = False
        for start in fresh:
            if start in seen:
                continue
            variables, rows = self._component(start)
            seen |= variables
            for q in sorted(_determined(rows) - self.unprotectable):
                choice = self._repair_choice(q)
                if choice is not None:
                    self._hide_quantity(choice)
                    repaired = True
                    break
                self.unprotectable.add(q)
        return repaired

    def _component(self, start: int) -> tuple[set[int], list[dict[int, int]]]:
        """The unknown quantities linked to ``start`` and their equations, as sparse rows."""
        variables, stack, relation_ids = {start}, [start], set()
        while stack:
            for r in self.relations_of.get(stack.pop(), ()):
                if r not in relation_ids:
                    relation_ids.add(r)
                    fresh = [m for m in self.members[r] if self.unknown[m] and m not in variables]
                    variables.update(fresh)
                    stack.extend(fresh)
        rows = []
        for r in sorted(relation_ids):
            row: dict[int, int] = {}
            for place, q in enumerate(self.members[r]):
                if q in variables:
                    row[q] = row.get(q, 0) + (1 if place == 0 else -1)
            rows.append({q: c for q, c in row.items() if c})
        return variables, rows

    def _repair_choice(self, pinned: int) -> int | None:
        """What to hide for a value pinned by a combination of relations.

        A member of a relation holding the value, else of a relation reachable from it
        through hidden values (the combination that pins it lies among those).
        """
        seen_relations: set[int] = set()
        seen_quantities = {pinned}
        level = list(self.relations_of.get(pinned, ()))
        while level:
            found = [
                c for r in level if (c := self._candidate(self.members[r], pinned)) is not None
            ]
            if found:
                return min(found, key=self.value.__getitem__)
            seen_relations.update(level)
            frontier = {
                q
                for r in level
                for q in self.members[r]
                if self.unknown[q] and q not in seen_quantities
            }
            seen_quantities |= frontier
            level = sorted(
                {r for q in frontier for r in self.relations_of.get(q, ())} - seen_relations
            )
        return None


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
