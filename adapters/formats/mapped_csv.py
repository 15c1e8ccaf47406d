"""``mapped-csv``: a force's own CSV export, turned into standard raw rows by its mapping.

The body is read exactly as ``standard-csv`` reads it (with the mapping's delimiter), then
each row is translated: source columns are renamed to standard fields, ``ignore``\\d columns
are dropped unread, dates are rewritten from the force's pattern to ISO ``YYYY-MM-DD``,
``updated_at`` to ISO 8601 with an offset, and local codes to standard codes. A column the
mapping does not mention passes through under its own name, so the validator still refuses
unknown and personal-data columns. ``header`` is the translated header.

A value that cannot be translated does not stop the file: its row gets a problem (codes
``invalid_date``, ``invalid_datetime``, ``unmapped_value``) naming the standard field and the
source column, and the value is left as sent so it could never pass for a good one. A local
code missing from a value map passes through unchanged for the validator to report, unless
the map is ``strict``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Final

from adapters.errors import FormatError
from adapters.formats.base import NumberedRow, Parsed, RawRow
from adapters.formats.dates import DateReader, DateTimeReader, readable
from adapters.formats.mapping import Mapping, ValueMap
from adapters.formats.standard_csv import CsvReader

NAME: Final = "mapped-csv"

# Turns one trimmed, non-empty source value into its standard text; raises _Untranslatable.
Translate = Callable[[str], str | None]


class _UntranslatableError(Exception):
    def __init__(self, code: str, expected: str) -> None:
        self.code = code
        self.expected = expected


@dataclass(frozen=True, slots=True)
class MappedCsvReader:
    """Reads a force's own CSV export through its mapping (``mapped-csv``)."""

    mapping: Mapping
    name: str = NAME

    def parse(self, chunks: Iterable[bytes]) -> Parsed:
        source = CsvReader(self.name, self.mapping.delimiter).parse(chunks)
        plan = _plan(self.mapping, source.header)
        header = tuple(target for _, target, _ in plan)
        return Parsed(self.name, header, _translate(plan, source.rows))


_Step = tuple[str, str, Translate | None]  # (source column, standard name, translation)


def _plan(mapping: Mapping, header: tuple[str, ...]) -> list[_Step]:
    translations = _translations(mapping)
    plan: list[_Step] = []
    for column in header:
        name = column.strip()
        if name in mapping.ignore:
            continue
        target = mapping.columns.get(name, column)
        plan.append((column, target, translations.get(target)))
    return plan


def _translations(mapping: Mapping) -> dict[str, Translate]:
    found: dict[str, Translate] = {
        name: _date(DateReader(pattern)) for name, pattern in mapping.date_formats.items()
    }
    if mapping.datetime_format is not None or mapping.timezone is not None:
        found["updated_at"] = _datetime(DateTimeReader(mapping.datetime_format, mapping.timezone))
    for name, value_map in mapping.values.items():
        found[name] = _lookup(value_map)
    return found


def _date(reader: DateReader) -> Translate:
    expected = readable(reader.pattern)

    def translate(text: str) -> str | None:
        value = reader(text)
        if value is None:
            raise _UntranslatableError("invalid_date", f"a date written {expected}")
        return value

    return translate


def _datetime(reader: DateTimeReader) -> Translate:
    if reader.pattern is not None:
        expected = f"a date and time written {readable(reader.pattern)}"
    else:
        expected = "an ISO 8601 date and time"
    if reader.zone is None:
        expected += " with a UTC offset"

    def translate(text: str) -> str | None:
        value = reader(text)
        if value is None:
            raise _UntranslatableError("invalid_datetime", expected)
        return value

    return translate


def _lookup(value_map: ValueMap) -> Translate:
    table, key_of = value_map.table, value_map.lookup_key
    expected = f"one of the local values in the mapping's values.{value_map.field}.map"

    def translate(text: str) -> str | None:
        key = key_of(text)
        if key in table:
            return table[key]
        if value_map.strict:
            raise _UntranslatableError("unmapped_value", expected)
        return text

    return translate


def _translate(plan: list[_Step], rows: Iterator[NumberedRow]) -> Iterator[NumberedRow]:
    for number, source in rows:
        row = RawRow()
        problems: list[FormatError] = []
        for column, target, translate in plan:
            value = source[column]
            if value is not None and translate is not None and not source.problems:
                text = value.strip()
                try:
                    value = translate(text) if text else None
                except _UntranslatableError as exc:
                    problems.append(_problem(exc, number, column, target, text))
            row[target] = value
        if source.problems or problems:
            row.problems = (*source.problems, *problems)
        yield number, row


def _problem(
    exc: _UntranslatableError, number: int, column: str, target: str, text: str
) -> FormatError:
    shown = text if len(text) <= 40 else text[:37] + "..."
    named = target if column == target else f"{target} (column {column})"
    return FormatError(
        exc.code,
        f"row {number}, {named}: {shown!r} is not {exc.expected}",
        row=number,
        field=target,
    )
