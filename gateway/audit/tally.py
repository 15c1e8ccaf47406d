"""``DisclosureTally``: what one request handed out, added up while it runs.

A GraphQL request may resolve several fields, each reading a different service; the
audit event written once the response is built must say what all of them disclosed.
The request context creates one tally per request, each service port adds what it
served (``add``), and the hook that writes the event reads the sum (``disclosure``,
``forces``, ``periods``). Sizes, never values:

``rows``        rows served: table rows (one per indicator, force or total, period and
                breakdown bucket), receipts, data-quality entries, audit events;
``cells``       figures disclosed: table cells that carry a value;
``suppressed``  table cells withheld by disclosure control.

A request that served nothing (a denial, a bad argument, ``me``) leaves every size None
rather than 0, so "nothing was disclosed" and "an empty table was disclosed" differ.
``reads`` names what kind of data was asked for or read (``indicators``,
``submissions``, ``audit``), which decides the event's action; ``reason`` is a refusal's
specific code where the error code alone would be vague (``purpose_missing``). One
request runs its resolvers in one thread, so the tally needs no lock.

Periods are listed by label with spaces as ``_`` (``2024/25_Q1``, ``YE_2024-06``):
audit list items hold no spaces, and labels hold no ``_``, so the mapping is reversible.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from gateway.audit.events import Disclosure


def period_item(label: str) -> str:
    """A period label as an audit list item (``2024/25 Q1`` -> ``2024/25_Q1``)."""
    return label.replace(" ", "_")


@dataclass(slots=True)
class DisclosureTally:
    rows: int | None = None
    cells: int | None = None
    suppressed: int | None = None
    forces: set[str] = field(default_factory=set)
    periods: set[str] = field(default_factory=set)
    reads: set[str] = field(default_factory=set)
    reason: str | None = None

    def add(
        self,
        read: str,
        *,
        rows: int = 0,
        cells: int | None = None,
        suppressed: int | None = None,
        forces: Iterable[str | None] = (),
        periods: Iterable[str] = (),
    ) -> None:
        """Record that a ``read`` (``indicators``, ``audit``...) served this much."""
        self.reads.add(read)
        self.rows = (self.rows or 0) + rows
        if cells is not None:
            self.cells = (self.cells or 0) + cells
        if suppressed is not None:
            self.suppressed = (self.suppressed or 0) + suppressed
        self.forces.update(force for force in forces if force)
        self.periods.update(periods)

    def disclosure(self, response_sha256: str | None) -> Disclosure:
        return Disclosure(
            rows=self.rows,
            cells=self.cells,
            suppressed_cells=self.suppressed,
            response_sha256=response_sha256,
        )
