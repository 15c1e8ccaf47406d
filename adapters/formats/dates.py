"""A force's own date and date-time patterns: checked when a mapping loads, applied per value.

Patterns are ``strptime`` patterns (``%d/%m/%Y``, ``%Y%m%d``, ``%d-%b-%Y``...). A pattern is
accepted only if it reads back what it writes for a sample moment whose day is above 12, so
a pattern without a year, with day and month in one field, or with a bad directive is
refused at load. Month names (``%b``, ``%B``) are English: nothing here changes the locale.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Final
from zoneinfo import ZoneInfo

from adapters.errors import MappingError

# 27 November 2023, 13:45:56 UTC: day above 12, afternoon, so swaps and 12-hour clocks show.
_SAMPLE: Final = dt.datetime(2023, 11, 27, 13, 45, 56, tzinfo=dt.UTC)
_CACHE_LIMIT: Final = 100_000
_READABLE: Final = {
    "d": "dd",
    "m": "mm",
    "Y": "yyyy",
    "y": "yy",
    "b": "Mon",
    "B": "Month",
    "H": "HH",
    "I": "hh",
    "M": "MM",
    "S": "SS",
    "p": "AM/PM",
    "z": "+hh:mm",
    "f": "ffffff",
    "%": "%",
}
_DIRECTIVE: Final = re.compile(r"%(.)")


def readable(pattern: str) -> str:
    """``%d/%m/%Y`` -> ``dd/mm/yyyy (%d/%m/%Y)``, for messages to forces."""
    text = _DIRECTIVE.sub(lambda m: _READABLE.get(m.group(1), m.group(0)), pattern)
    return f"{text} ({pattern})"


def _round_trip(pattern: str, key: str) -> dt.datetime:
    if not pattern.strip():
        raise MappingError("must be a strptime pattern such as %d/%m/%Y", key=key)
    try:
        return dt.datetime.strptime(_SAMPLE.strftime(pattern), pattern)  # noqa: DTZ007 - local
    except (ValueError, re.error) as exc:  # a repeated directive is a regular expression error
        message = f"{pattern!r} is not a usable strptime pattern: {exc}"
        raise MappingError(message, key=key) from None


def check_date_pattern(pattern: str, key: str) -> None:
    """Refuse a date pattern that cannot read back a whole date."""
    if _round_trip(pattern, key).date() != _SAMPLE.date():
        raise MappingError(
            f"{pattern!r} does not read back a whole date: it needs the day, the month and "
            "the year (for example %d/%m/%Y)",
            key=key,
        )


def check_datetime_pattern(pattern: str, key: str) -> bool:
    """Refuse a date-time pattern that cannot read back a time to the minute.

    Returns whether the pattern carries the UTC offset (``%z``).
    """
    back = _round_trip(pattern, key)
    if (back.date(), back.hour, back.minute) != (_SAMPLE.date(), _SAMPLE.hour, _SAMPLE.minute):
        raise MappingError(
            f"{pattern!r} does not read back a date and time to the minute: it needs the day, "
            "month, year, hour (%H, or %I with %p) and minute (%M)",
            key=key,
        )
    return back.tzinfo is not None


class DateReader:
    """Reads dates in one pattern; returns ISO ``YYYY-MM-DD``, or None if it does not match."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._seen: dict[str, str | None] = {}

    def __call__(self, text: str) -> str | None:
        try:
            return self._seen[text]
        except KeyError:
            pass
        try:
            value: str | None = (
                dt.datetime.strptime(text, self.pattern).date().isoformat()  # noqa: DTZ007 - a date
            )
        except ValueError:
            value = None
        if len(self._seen) < _CACHE_LIMIT:
            self._seen[text] = value
        return value


class DateTimeReader:
    """Reads date-times in a pattern (or ISO 8601 when None); returns ISO 8601 with offset.

    A time without an offset is taken as local time in ``zone``; at the autumn change the
    repeated hour is read as the first (summer time) one. Returns None if the text does not
    match, or carries no offset and there is no zone.
    """

    def __init__(self, pattern: str | None, zone: ZoneInfo | None) -> None:
        self.pattern = pattern
        self.zone = zone

    def __call__(self, text: str) -> str | None:
        try:
            if self.pattern is None:
                value = dt.datetime.fromisoformat(text)
            else:
                value = dt.datetime.strptime(text, self.pattern)  # noqa: DTZ007 - zone below
        except ValueError:
            return None
        if value.tzinfo is None:
            if self.zone is None:
                return None
            value = value.replace(tzinfo=self.zone)
        return value.isoformat()
