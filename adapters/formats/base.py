"""The common shape of every input format: bytes in, a header and numbered raw rows out.

A format turns the chunks of an uploaded body (``Iterable[bytes]``, as they arrive from an
HTTP request or a file) into a ``Parsed``: the ``header`` (column names as they appear, for
the validator's header checks) and ``rows``, an iterator of ``(row_number, RawRow)``.

- ``row_number`` is the 1-based data row: the header and skipped blank lines are not counted.
- A ``RawRow`` is a ``dict`` of column name -> string or ``None``. Empty strings are ``None``;
  surrounding whitespace is kept (the validator trims). Every value is text: JSON ``true``
  is ``"true"``, ``12`` is ``"12"``.
- CSV rows hold every header column. JSON and NDJSON rows hold exactly the keys of their own
  object: ``header`` is the keys of the first object, a key absent from a row is absent from
  its dict (read it as ``None``), and a key outside the header appears only in its row, so
  unknown keys can be reported per row.
- ``RawRow.problems`` holds the row's own ``FormatError``\\s (wrong field count, a JSON float,
  a date that does not match the force's pattern...): the row is refused with those errors
  and must not be validated further, while parsing carries on. Empty for a clean row.
- A ``FormatError`` *raised* by ``parse()`` or while iterating ``rows`` refuses the whole
  body: its structure is broken (encoding, quoting, JSON syntax, shape, size).

``parse()`` reads up to the first data row before it returns, so an empty body, a missing
header or a header without rows is raised at once. ``rows`` can be iterated once; stopping
early is fine (``close()`` releases the underlying chunk iterator).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Final, Protocol

from adapters.errors import FormatError

# Any single value longer than this is refused (the standard has no free-text fields).
MAX_FIELD_CHARS: Final = 10_000
# A row whose raw text runs past this without ending is refused: it holds an oversized field
# or a quote that is never closed. It bounds the memory any one row can take.
MAX_ROW_CHARS: Final = 2_000_000


class RawRow(dict[str, str | None]):
    """One parsed row: column name -> string or ``None``, plus the row's own problems."""

    problems: tuple[FormatError, ...] = ()


NumberedRow = tuple[int, RawRow]


class Parsed:
    """A parsed body: the header, then the numbered rows, read lazily and once."""

    __slots__ = ("format_name", "header", "rows")

    def __init__(self, format_name: str, header: tuple[str, ...], rows: Iterator[NumberedRow]):
        self.format_name = format_name
        self.header = header
        self.rows = rows

    def __iter__(self) -> Iterator[NumberedRow]:
        return self.rows

    def close(self) -> None:
        """Stop reading: closes the row generator and, through it, the chunk iterator."""
        close = getattr(self.rows, "close", None)
        if close is not None:
            close()


class InputFormat(Protocol):
    """A named input format; ``parse`` turns body chunks into a ``Parsed``."""

    @property
    def name(self) -> str: ...

    def parse(self, chunks: Iterable[bytes]) -> Parsed: ...


def field_too_large(*, row: int | None, line: int | None, field: str | None = None) -> FormatError:
    where = f"row {row}" if row is not None else "the header"
    column = f" (column {field})" if field is not None else ""
    return FormatError(
        "field_too_large",
        f"{where}{column} holds a value over {MAX_FIELD_CHARS:,} characters; no field of the "
        "standard is that long",
        row=row,
        field=field,
        line=line,
    )


def row_too_large(*, row: int | None, line: int | None) -> FormatError:
    where = f"row {row}" if row is not None else "the header"
    return FormatError(
        "field_too_large",
        f"{where} runs past {MAX_ROW_CHARS:,} characters without ending: a value is far too "
        "long or a quote is never closed",
        row=row,
        line=line,
    )


def at_row(error: FormatError, row: int | None, line: int | None) -> FormatError:
    """Fill in where a structural error struck, if the place that raised it could not know."""
    if error.row is None and row is not None:
        error.row = row
        error.message = f"row {row}: {error.message}"
    if error.line is None:
        error.line = line
    return error


def resume(first: NumberedRow, rest: Iterator[NumberedRow]) -> Iterator[NumberedRow]:
    """The rows again, after ``parse()`` has read the first to check there is one."""
    yield first
    yield from rest


def empty_body() -> FormatError:
    return FormatError("empty_body", "the body is empty: no bytes were sent")
