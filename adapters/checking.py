"""Validation of a parsed body, shared by the push path and ``soteria validate``.

A row the format could not read (``RawRow.problems``) is reported with the format's own
errors and not validated further; every other row goes through the record validator.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from typing import Protocol

from adapters.errors import FormatError
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
    """(row number, record or None, issues) for every data row, in order."""
    validator = RecordValidator(today=today, header=parsed.header)
    validate = validator.validate
    for number, raw in parsed:
        problems = getattr(raw, "problems", ())
        if problems:
            yield number, None, [_format_issue(number, p) for p in problems]
        else:
            record, issues = validate(number, raw)
            yield number, record, issues
