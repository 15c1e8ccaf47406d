"""Time as an injected dependency.

Token expiry, key retirement and rate limiting all depend on "now". Every component takes
a ``Clock`` (a callable returning an aware UTC datetime) so tests can move time forward
instead of sleeping, and so one process never mixes two notions of now.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The production clock."""
    return datetime.now(UTC)


def to_epoch(moment: datetime) -> int:
    """Whole seconds since the epoch, as JWT NumericDate claims use."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: every time in auth/ must be timezone-aware")
    return int(moment.timestamp())


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)
