"""Validation of a parsed body, shared by the push path and ``soteria validate``.

A row the format could not read (``RawRow.problems``) is reported with the format's own
errors and not validated further; every other row goes through the record validator.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Protocol

from adapters.errors import FormatError
from adapters.formats.standard_csv import CsvParsed
from schema.record import Record
from schema.validation import Issue, RecordValidator, check_columns

RawRow = Mapping[str, str | None]


class ParsedInput(Protocol):
    """What a format hands over (``adapters.formats.base.Parsed``): header, then rows."""

    @property
    def header(self) -> Sequence[str]: ...

    def __iter__(self) -> Iterator[tuple[int, RawRow]]: ...


def header_issues(parsed: ParsedInput) -> list[Issue]:
    return check_columns(parsed.header)


def _format_issue(row: int, problem: FormatError) -> Issue:
    return Issue(row, problem.field, problem.code, problem.message)


def checked_rows(
    parsed: ParsedInput, today: dt.date
) -> Iterator[tuple[int, Record | None, list[Issue]]]:
    """(row number, record or None, issues) for every data row, in order.

    A CSV body's clean rows are validated as lists (``CsvParsed.as_lists``): the same
    records and issues, without a dict per row.
    """
    validator = RecordValidator(today=today, header=parsed.header)
    validate, validate_list = validator.validate, validator.validate_list
    rows: Iterable[tuple[int, RawRow | list[str]]] = parsed
    if isinstance(parsed, CsvParsed) and validator.takes_lists:
        rows = parsed.as_lists()
    for number, raw in rows:
        if isinstance(raw, list):
            record, issues = validate_list(number, raw)
            yield number, record, issues
            continue
        problems = getattr(raw, "problems", ())
        if problems:
            yield number, None, [_format_issue(number, p) for p in problems]
        else:
            record, issues = validate(number, raw)
            yield number, record, issues
