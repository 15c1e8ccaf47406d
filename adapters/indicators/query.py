"""What the gateway asks a force's indicator source for, and the shape of the answer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

from adapters.indicators.errors import InvalidIndicatorQueryError
from schema.indicators.catalogue import Dimension, IndicatorId, OffenceScope
from schema.indicators.partials import Partial
from schema.periods import Granularity, Period

# (indicator, period label, breakdown bucket or None for the force's total)
PartialKey: TypeAlias = tuple[IndicatorId, str, str | None]
ForcePartials: TypeAlias = Mapping[PartialKey, Partial]


@dataclass(frozen=True, slots=True)
class IndicatorQuery:
    """Indicators for some periods of one granularity, in one offence scope.

    ``breakdown`` None asks for the force's totals only; a dimension asks for every bucket
    of it *and* the total. ``as_at`` None means the current figures (T = now); an aware
    datetime means the figures from the record versions received at or before it.
    Frozen and hashable, so the gateway can key a cache by (force, data_version, query).
    """

    indicators: tuple[IndicatorId, ...]
    granularity: Granularity
    periods: tuple[Period, ...]
    scope: OffenceScope = OffenceScope.ALL_RASSO
    breakdown: Dimension | None = None
    as_at: dt.datetime | None = None
    # Computed once: caches look a query up once per force on every request, and hashing
    # a dataclass rehashes its fields (periods included) every time.
    _hash: int = field(init=False, repr=False, compare=False)

    def __hash__(self) -> int:
        return self._hash

    def __post_init__(self) -> None:
        if not self.indicators:
            raise InvalidIndicatorQueryError("ask for at least one indicator")
        if not self.periods:
            raise InvalidIndicatorQueryError("ask for at least one period")
        wrong = [p.label for p in self.periods if p.granularity is not self.granularity]
        if wrong:
            raise InvalidIndicatorQueryError(
                f"periods {', '.join(wrong)} are not {self.granularity} periods"
            )
        if len({p.label for p in self.periods}) != len(self.periods):
            raise InvalidIndicatorQueryError("a period is asked for twice")
        if self.as_at is not None and self.as_at.utcoffset() is None:
            raise InvalidIndicatorQueryError("as_at needs a timezone (an aware datetime)")
        fields = (self.indicators, self.granularity, self.periods, self.scope)
        object.__setattr__(self, "_hash", hash((*fields, self.breakdown, self.as_at)))
