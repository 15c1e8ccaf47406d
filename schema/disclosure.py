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
  the total); then an exact check finds values still pinned by combinations of relations,
  hides more, and repeats until nothing is pinned. The check keeps the equations over the
  hidden quantities in reduced row echelon form (exact integers), one system per connected
  group, updated as equations and hidden quantities are added rather than eliminated
  again from scratch: a value is pinned exactly when its pivot row has no other entry.
  Hidden values are all positive, so a value not pinned by the equations can move both
  ways: the reader cannot narrow it to one number.
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
* Overlapping periods: ``YE 2024-06`` minus ``YE 2024-05`` is June 2024 minus June 2023,
  and snapshots at successive period ends difference too. Periods in one response are
  related only where the gateway declares it (a quarter = its months, say).
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

from collections import defaultdict, deque
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from math import gcd
from operator import attrgetter, itemgetter
from typing import Any, Final, Generic, NamedTuple, TypeVar

from schema.errors import DisclosureError
from schema.indicators.catalogue import Unit
from schema.indicators.partials import Partial

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
    """``total = sum(parts)``, holding for every additive component of the cells.

    Declare every relation the reader could use, redundant ones included: with national =
    all forces and each region = its forces, also declare national = the regions. The exact
    check would find the combination anyway, but one declared relation is cheaper to act
    on and usually ends with fewer cells hidden.
    """

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

    Ties between equally small candidates go to the one whose key comes first in ``cells``,
    so the same table in the same order always gets the same pattern.

    Raises ``DisclosureError`` for a ``k`` that rounding would undercut, or for a table that
    is inconsistent (a relation naming an unknown or repeated cell, mixing units, or whose
    components do not add up; a quantity named with two values), since no guarantee would
    then hold. For speed only the relations that hold a hidden cell are checked: the
    gateway's tests should run ``check_table`` on the tables it builds.
    """
    half = rounding_base // 2
    if k < 1 or rounding_base < 1 or (k + half) // rounding_base * rounding_base < k:
        raise DisclosureError(
            f"k={k} with rounding to {rounding_base} would publish counts of k or more "
            "as numbers below k; choose a k that is a multiple of the base or rounds up"
        )
    keys = list(cells)
    table = list(cells.values())
    reasons = _primary(table, k)
    if any(reasons):
        relations = list(relations)
        if relations or any(cell.quantities for cell in table):
            _Secondary(table, keys, relations, reasons).run()
    return _publish(keys, table, reasons, rounding_base)


def check_table(cells: Mapping[K, Cell], relations: Iterable[Relation[K]]) -> None:
    """Check every relation of a table as ``control`` would; raise ``DisclosureError``."""
    table = list(cells.values())
    secondary = _Secondary(table, list(cells), relations, [None] * len(table))
    for r in range(len(secondary.relations)):
        secondary.activate(r)


def _primary(table: list[Cell], k: int) -> list[Reason | None]:
    """A count, or a ratio's or median's count, from 1 to k-1 in a controlled cell."""
    reasons: list[Reason | None] = [None] * len(table)
    controlled, count = Visibility.CONTROLLED, Unit.COUNT  # locals: this loop is hot
    for i, (unit, partial, visibility, _) in enumerate(table):
        if visibility is controlled:
            if unit is count:
                if 0 < partial.numerator < k:
                    reasons[i] = Reason.PRIMARY_SMALL_COUNT
            elif 0 < partial.numerator < k or 0 < partial.denominator < k:
                reasons[i] = Reason.UNDERLYING_COUNT_SUPPRESSED
    return reasons


def _publish(
    keys: list[K], table: list[Cell], reasons: list[Reason | None], base: int
) -> dict[K, Disclosed]:
    """The published figures: rounded counts for controlled cells, exact ratios and medians."""
    published: dict[K, Disclosed] = {}
    hidden = {reason: Disclosed(None, None, None, True, reason) for reason in Reason}
    half, controlled, count, ratio = base // 2, Visibility.CONTROLLED, Unit.COUNT, Unit.RATIO
    new = tuple.__new__  # builds a Disclosed at half the cost of its generated __new__
    for key, (unit, partial, visibility, _), reason in zip(keys, table, reasons, strict=True):
        if reason is not None:
            published[key] = hidden[reason]
            continue
        n, d = partial.numerator, partial.denominator
        if visibility is controlled:
            n, d = (n + half) // base * base, (d + half) // base * base
        if unit is count:
            published[key] = new(Disclosed, (n, None, None, False, None))
        elif unit is ratio:
            exact = partial.numerator / partial.denominator if partial.denominator else None
            published[key] = new(Disclosed, (exact, n, d, False, None))
        else:
            published[key] = new(Disclosed, (partial.median, n, None, False, None))
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
        self.reasons, self.table = reasons, table
        self.units = list(map(itemgetter(0), table))
        partials = list(map(itemgetter(1), table))  # C-level passes: tables are large
        self.value = value = [0] * (2 * len(table))
        value[0::2] = map(attrgetter("numerator"), partials)
        value[1::2] = map(attrgetter("denominator"), partials)
        self.slot = slot = list(range(2 * len(table)))
        self.cells_of: dict[int, list[int]] = {}  # shared quantities only
        names: dict[Hashable, int] = {}
        named = list(map(itemgetter(3), table))
        for i, quantities in enumerate(named if any(named) else ()):
            if quantities is None:
                continue
            if len(quantities) != self.width(i):
                raise DisclosureError(f"cell {keys[i]!r} names {len(quantities)} quantities")
            for j, name in enumerate(quantities):
                first = names.setdefault(name, 2 * i + j)
                if first != 2 * i + j:
                    if value[first] != value[2 * i + j]:
                        raise DisclosureError(f"quantity {name!r} has two values")
                    slot[2 * i + j] = first
                    self.cells_of.setdefault(first, [first // 2]).append(i)
        # Relations are read lazily: only those holding a hidden cell matter, and in a
        # national table most hold none. Keys are resolved for all of them up front.
        self.relations = relations = list(relations)
        self.cells_in: list[list[int]] = []  # per relation: [total, *parts] as cell numbers
        self.relations_with: defaultdict[int, list[int]] = defaultdict(list)  # cell -> relations
        lookup = dict(zip(keys, range(len(keys)), strict=True)).__getitem__
        for r, relation in enumerate(relations):
            try:
                indices = [lookup(relation.total), *map(lookup, relation.parts)]
            except KeyError as exc:
                raise DisclosureError(f"{relation!r} names no cell {exc}") from None
            self.cells_in.append(indices)
            for i in indices:
                self.relations_with[i].append(r)
        self.active = [False] * len(relations)
        self.slots = (slot[0::2], slot[1::2])  # slots[j][i]: where cell i's component j lives
        # Equations: one per active relation and component, [total, *parts] as quantities.
        self.members: list[list[int]] = []
        self.relations_of: defaultdict[int, list[int]] = defaultdict(list)  # quantity -> eqs
        self.unknown = [False] * len(value)
        self.unknown_in: list[int] = []  # unknown members per equation
        self.rows: dict[int, dict[int, int]] = {}  # equation -> its unknowns' coefficients
        self.queue: deque[int] = deque()  # equations to look at again
        self.fresh: list[int] = []  # quantities unknown since the last exact check
        self.unprotectable: set[int] = set()  # pinned by EXACT cells (and zeros) alone
        self.systems = _Systems()
        self._hideable: dict[int, bool] = {}  # fixed for the run: memoised
        for i, reason in enumerate(reasons):
            if reason is not None:
                self._became_hidden(i)

    def width(self, i: int) -> int:
        """How many additive components cell ``i`` has."""
        return 2 if self.units[i] is Unit.RATIO else 1

    def activate(self, r: int) -> None:
        """Check relation ``r`` and add its equations, one per additive component."""
        self.active[r] = True
        relation, indices, amount = self.relations[r], self.cells_in[r], self.value.__getitem__
        if len(set(indices)) != len(indices):
            raise DisclosureError(f"{relation!r} repeats a cell")
        if len(set(map(self.units.__getitem__, indices))) != 1:
            raise DisclosureError(f"{relation!r} mixes units")
        for j in range(self.width(indices[0])):
            members = list(map(self.slots[j].__getitem__, indices))
            if 2 * amount(members[0]) != sum(map(amount, members)):  # total = sum(parts)
                raise DisclosureError(f"{relation!r}: the parts do not add up to the total")
            if self.cells_of and len(set(members)) != len(members):
                raise DisclosureError(f"{relation!r} names one quantity twice")
            e = len(self.members)
            self.members.append(members)
            self.unknown_in.append(0)
            for q in members:
                self.relations_of[q].append(e)
                if self.unknown[q]:  # a quantity shared with a cell hidden earlier
                    self._count_unknown(e, q)
            if e in self.rows:
                self.systems.add_equation(e, self.rows[e])
            self.queue.append(e)

    def hideable(self, q: int) -> bool:
        """May ``q`` be hidden to protect another? Non-zero, and no EXACT cell shows it.

        Zeros are never used: a hidden zero protects nothing from a reader who knows that
        counts are not negative.
        """
        found = self._hideable.get(q)
        if found is None:
            controlled = Visibility.CONTROLLED
            cells = self.cells_of.get(q, (q // 2,))
            found = self._hideable[q] = bool(self.value[q]) and all(
                self.table[c].visibility is controlled for c in cells
            )
        return found

    def _became_hidden(self, i: int) -> None:
        # Activate the cell's relations first. A quantity shared with cells hidden later
        # may already be unknown; ``activate`` counts it in the new equations.
        for r in self.relations_with.get(i, ()):
            if not self.active[r]:
                self.activate(r)
        for j in range(self.width(i)):
            q = self.slot[2 * i + j]
            if self.unknown[q] or not self.value[q]:
                continue
            shared = self.cells_of.get(q)
            if shared is None or all(self.reasons[c] is not None for c in shared):
                self.unknown[q] = True
                self.fresh.append(q)
                equations = self.relations_of.get(q, ())
                known = [e for e in equations if e in self.rows]  # already hold an unknown
                for e in equations:
                    self._count_unknown(e, q)
                self.systems.add_column(
                    q,
                    {e: self.rows[e][q] for e in known},
                    [v for e in known for v in self.rows[e] if v != q],
                    [(e, self.rows[e]) for e in equations if e not in known],
                )

    def _count_unknown(self, e: int, q: int) -> None:
        """Equation ``e`` has one more unknown member, ``q``."""
        self.unknown_in[e] += 1
        self.queue.append(e)
        self.rows.setdefault(e, {})[q] = 1 if self.members[e][0] == q else -1

    def _hide_quantity(self, q: int) -> None:
        for i in self.cells_of.get(q, (q // 2,)):
            if self.reasons[i] is None:
                self.reasons[i] = Reason.SECONDARY_COMPLEMENT
                self._became_hidden(i)

    def _candidate(self, members: list[int], pinned: int) -> int | None:
        """The member to hide beside ``pinned``: smallest non-zero controlled part, else total."""
        unknown, hideable = self.unknown, self.hideable
        usable = [q for q in members if not unknown[q] and q != pinned and hideable(q)]
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
            if start in seen or start not in self.relations_of:
                continue
            system = self.systems.of[start]
            seen |= system.variables
            for q in sorted(system.determined() - self.unprotectable):
                choice = self._repair_choice(q)
                if choice is not None:
                    self._hide_quantity(choice)
                    repaired = True
                    break
                self.unprotectable.add(q)
        return repaired

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
            frontier = {q for r in level for q in self.rows[r] if q not in seen_quantities}
            seen_quantities |= frontier
            level = sorted(
                {r for q in frontier for r in self.relations_of.get(q, ())} - seen_relations
            )
        return None


class _System:
    """Equations over some hidden quantities, in reduced row echelon form (exact integers).

    ``pivots`` maps each pivot column to its row (column -> coefficient) and the
    combination of original equations that makes it (equation -> multiplier); ``nulls``
    holds the combinations that add up to nothing yet. Keeping the combinations is what
    lets a quantity hidden later be added as a column: its coefficient in any row is the
    combination applied to its coefficients in the original equations.
    """

    __slots__ = ("nulls", "pivots", "variables")

    def __init__(self) -> None:
        self.variables: set[int] = set()
        self.pivots: dict[int, tuple[dict[int, int], dict[int, int]]] = {}
        self.nulls: list[dict[int, int]] = []

    def determined(self) -> set[int]:
        """Quantities the equations fix: a pivot row with no other entry."""
        return {col for col, (row, _) in self.pivots.items() if len(row) == 1}

    def absorb(self, other: _System) -> None:
        self.variables |= other.variables
        self.pivots.update(other.pivots)
        self.nulls.extend(other.nulls)

    def add_equation(self, e: int, coefficients: dict[int, int]) -> None:
        row, combination = dict(coefficients), {e: 1}
        for col in [c for c in row if c in self.pivots]:
            pivot_row, pivot_combination = self.pivots[col]
            a, b = pivot_row[col], row[col]
            row, combination = _reduced(
                _combined(a, row, b, pivot_row), _combined(a, combination, b, pivot_combination)
            )
        if not row:
            self.nulls.append(combination)
            return
        col = min(row, key=lambda c: (abs(row[c]) != 1, c))
        if row[col] < 0:
            row = {c: -v for c, v in row.items()}
            combination = {c: -v for c, v in combination.items()}
        self._install(col, row, combination)

    def add_column(self, q: int, coefficients: dict[int, int]) -> None:
        """Quantity ``q`` is now unknown; ``coefficients``: its coefficient per equation."""
        self.variables.add(q)

        def entry(combination: dict[int, int]) -> int:
            return sum(m * coefficients[e] for e, m in combination.items() if e in coefficients)

        for row, combination in self.pivots.values():
            value = entry(combination)
            if value:
                row[q] = value
        new: tuple[dict[int, int], dict[int, int]] | None = None
        nulls = []
        for combination in self.nulls:
            value = entry(combination)
            if not value:
                nulls.append(combination)
            elif new is None:
                new = _reduced({q: value}, combination)
            else:
                a = new[0][q]
                _, rest = _reduced({}, _combined(a, combination, value, new[1]))
                if rest:
                    nulls.append(rest)
        self.nulls = nulls
        if new is not None:
            row, combination = new
            if row[q] < 0:
                row, combination = {q: -row[q]}, {c: -v for c, v in combination.items()}
            self._install(q, row, combination)

    def _install(self, col: int, row: dict[int, int], combination: dict[int, int]) -> None:
        """Make ``row`` the pivot row of ``col``, removing ``col`` from every other row."""
        for other, (other_row, other_combination) in list(self.pivots.items()):
            if col in other_row:
                a, b = row[col], other_row[col]
                self.pivots[other] = _reduced(
                    _combined(a, other_row, b, row),
                    _combined(a, other_combination, b, combination),
                )
        self.pivots[col] = (row, combination)


class _Systems:
    """The systems of every connected group of hidden quantities, merged as they connect."""

    def __init__(self) -> None:
        self.of: dict[int, _System] = {}  # hidden quantity -> its system

    def _merged(self, quantities: Iterable[int]) -> _System:
        systems = {id(s): s for q in quantities if (s := self.of.get(q)) is not None}
        if not systems:
            return _System()
        largest = max(systems.values(), key=lambda s: len(s.variables))
        for system in systems.values():
            if system is not largest:
                largest.absorb(system)
                for v in system.variables:
                    self.of[v] = largest
        return largest

    def add_equation(self, e: int, coefficients: dict[int, int]) -> None:
        system = self._merged(coefficients)
        system.add_equation(e, coefficients)

    def add_column(
        self,
        q: int,
        coefficients: dict[int, int],
        linked: Iterable[int],
        new_equations: list[tuple[int, dict[int, int]]],
    ) -> None:
        """``q`` became unknown: a column in the equations already held (``coefficients``
        per equation; ``linked``: their other unknowns), and ``new_equations`` (whose only
        unknown it is) join the system."""
        system = self._merged(linked)
        system.variables.add(q)
        self.of[q] = system
        system.add_column(q, coefficients)
        for e, row in new_equations:
            system.add_equation(e, row)


def _combined(a: int, x: dict[int, int], b: int, y: dict[int, int]) -> dict[int, int]:
    """``a * x - b * y`` over sparse integer vectors, zeros dropped."""
    result = dict(x) if a == 1 else {k: a * v for k, v in x.items()}
    for k, v in y.items():
        updated = result.get(k, 0) - b * v
        if updated:
            result[k] = updated
        else:
            result.pop(k, None)
    return result


def _reduced(
    row: dict[int, int], combination: dict[int, int]
) -> tuple[dict[int, int], dict[int, int]]:
    """A row and its combination divided by the gcd of all their entries."""
    divisor = gcd(*row.values(), *combination.values())
    if divisor > 1:
        row = {c: v // divisor for c, v in row.items()}
        combination = {c: v // divisor for c, v in combination.items()}
    return row, combination
