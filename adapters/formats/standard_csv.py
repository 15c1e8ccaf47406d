"""``standard-csv``: RFC 4180 CSV in UTF-8, one header line naming the standard's fields.

UTF-8 with or without a byte order mark; comma-separated (``mapped-csv`` may choose another
delimiter); fields quoted with ``"`` and quotes doubled inside them; quoted fields may hold
commas and line breaks; lines end in CRLF or LF. A line with no characters, or whose fields
are all empty, is skipped (spreadsheets add them) and not counted as a row.

The body is read chunk by chunk: the stdlib ``csv`` reader pulls lines from batches split out
of each decoded piece, so memory is bounded by one chunk plus one row whatever the body's
size. The 10,000-character field limit is checked here, never through the process-global
``csv.field_size_limit`` (which is only read, never changed): a row whose text runs past
``MAX_ROW_CHARS`` without ending is refused before it is held in memory.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from itertools import chain, compress
from typing import TYPE_CHECKING, Final, Literal, overload

from adapters.errors import FormatError
from adapters.formats.base import (
    MAX_FIELD_CHARS,
    MAX_ROW_CHARS,
    NumberedRow,
    Parsed,
    RawRow,
    at_row,
    empty_body,
    field_too_large,
    row_too_large,
)
from adapters.formats.decoding import Utf8Text

if TYPE_CHECKING:
    from _csv import Reader

NAME: Final = "standard-csv"

ListRow = tuple[int, RawRow | list[str]]  # a data row as ``CsvParsed.as_lists`` gives it

# str.splitlines also breaks at these; the csv module does not, so text holding any of them
# is split with the slower regular expression instead. (Eight ``in`` tests are some fifty
# times faster than one regular expression search for the same characters.)
_OTHER_BREAKS: Final = ("\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")
_LINE: Final = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def _split_lines(text: str) -> list[str]:
    for other in _OTHER_BREAKS:
        if other in text:
            return _LINE.findall(text)
    return text.splitlines(keepends=True)


class _Lines:
    """Batches of lines for ``csv.reader``; refuses a row that never ends."""

    def __init__(self, text: Utf8Text) -> None:
        self.text = text
        self.long_line = False  # a line over MAX_FIELD_CHARS has been seen: check every field
        self.record_line = 0  # set by the row loop: reader.line_num at the last record

    def batches(self) -> Iterator[list[str]]:
        rest = ""  # an unfinished last line, held until the next piece completes it
        stalled = 0  # characters handed on since a record last completed
        seen = -1
        for piece in self.text:
            text = rest + piece if rest else piece
            lines = _split_lines(text)
            rest = lines.pop() if lines[-1][-1] != "\n" else ""
            if self.record_line != seen:
                seen, stalled = self.record_line, 0
            stalled += len(text) - len(rest)
            if stalled + len(rest) > MAX_ROW_CHARS:
                raise row_too_large(row=None, line=None)
            if lines:
                if not self.long_line and max(map(len, lines)) > MAX_FIELD_CHARS:
                    self.long_line = True
                yield lines
        if rest:
            self.long_line = self.long_line or len(rest) > MAX_FIELD_CHARS
            yield [rest]


def _is_blank(values: list[str]) -> bool:
    """An empty or all-whitespace line, or a row whose fields are all empty."""
    return not any(values) or (len(values) == 1 and values[0].isspace())


def _csv_error(exc: csv.Error, row: int | None, line: int) -> FormatError:
    text = str(exc)
    where = f"row {row}" if row is not None else "the header"
    if "unexpected end of data" in text:
        return FormatError(
            "broken_quoting",
            f"{where} opens a quoted field that is never closed before the end of the body",
            row=row,
            line=line,
        )
    if "expected after" in text:
        return FormatError(
            "broken_quoting",
            f"{where}: a closing quote must be followed by the delimiter or the end of the line; "
            'write a quote inside a quoted field as two quotes ("")',
            row=row,
            line=line,
        )
    if "field larger than field limit" in text:
        return field_too_large(row=row, line=line)
    return FormatError("invalid_csv", f"{where} is not valid CSV: {text}", row=row, line=line)


@dataclass(frozen=True, slots=True)
class CsvReader:
    """Reads a CSV body into raw rows keyed by its own header (``standard-csv``'s parser)."""

    name: str = NAME
    delimiter: str = ","

    def parse(self, chunks: Iterable[bytes]) -> Parsed:
        text = Utf8Text(chunks)
        feed = _Lines(text)
        reader = csv.reader(
            chain.from_iterable(feed.batches()), delimiter=self.delimiter, strict=True
        )
        run = _Run(reader, feed, self.delimiter)
        try:
            header = run.header()
            first = run.first_row() if header is not None else None
        except csv.Error as exc:
            row = run.number + 1 if run.started else None
            raise _csv_error(exc, row, run.last_line + 1) from None
        except FormatError as exc:
            row = run.number + 1 if run.started else None
            raise at_row(exc, row, reader.line_num + 1) from None
        if header is None:
            if text.chars_read == 0:
                raise empty_body()
            raise FormatError("no_header", "the body holds only blank lines: no header")
        if first is None:
            raise FormatError("header_only", "the body holds a header but no data rows")
        return CsvParsed(self.name, header, run, first)


class CsvParsed(Parsed):
    """A parsed CSV body, whose rows can also be had as lists (``as_lists``).

    Iterating gives ``RawRow`` dicts, like every format. ``as_lists()`` gives the same rows
    with each clean row as the list of its values in header order (``""`` where a dict
    would hold ``None``), which spares building a dict per row when the reader can take
    lists (``adapters.checking``). A row with its own problems, or read the careful way
    (a quoted line break, blank fields, an oversized line), is still a ``RawRow``. Use one
    or the other: the body is read once.
    """

    __slots__ = ("_lists",)

    def __init__(self, format_name: str, header: tuple[str, ...], run: _Run, first: RawRow):
        super().__init__(format_name, header, run.rows(first))
        self._lists = run.rows(first, lists=True)

    def as_lists(self) -> Iterator[ListRow]:
        return self._lists

    def close(self) -> None:
        self._lists.close()
        super().close()


class _Run:
    """One pass over a body: header, then rows; the hot loop lives in ``rows``."""

    def __init__(self, reader: Reader, feed: _Lines, delimiter: str) -> None:
        self.reader = reader
        self.feed = feed
        self.delimiter = "a comma" if delimiter == "," else f"the delimiter {delimiter!r}"
        self.names: tuple[str, ...] = ()
        self.template: dict[str, str | None] = {}
        self.number = 0
        self.last_line = 0  # the line on which the last record (or blank line) ended
        self.started = False

    def header(self) -> tuple[str, ...] | None:
        for values in self.reader:
            if not values or (len(values) == 1 and values[0].isspace()):
                continue
            if max(map(len, values)) > MAX_FIELD_CHARS:
                raise field_too_large(row=None, line=self.line_num)
            if not any(v.strip() for v in values):
                raise FormatError(
                    "no_header",
                    "the first line has no column names: the body must start with a header",
                    line=self.line_num,
                )
            self.names = tuple(values)
            self.template = dict.fromkeys(self.names)
            self.last_line = self.line_num
            self.started = True
            return self.names
        return None

    @property
    def line_num(self) -> int:
        return self.reader.line_num

    def first_row(self) -> RawRow | None:
        for values in self.reader:
            start, self.last_line = self.last_line + 1, self.line_num
            self.feed.record_line = self.last_line
            row = self.convert(values, start)
            if row is not None:
                return row
        return None

    def convert(self, values: list[str], line: int) -> RawRow | None:
        """The careful path: blank lines, wrong field counts and oversized fields."""
        if _is_blank(values):
            return None
        number = self.number + 1
        if max(map(len, values)) > MAX_FIELD_CHARS:
            pairs = zip(self.names, values, strict=False)
            name = next((n for n, v in pairs if len(v) > MAX_FIELD_CHARS), None)
            raise field_too_large(row=number, line=line, field=name)
        row = RawRow(self.template)
        row.update(compress(zip(self.names, values, strict=False), values))
        if len(values) != len(self.names):
            row.problems = (
                FormatError(
                    "wrong_field_count",
                    f"row {number} has {len(values)} fields but the header has "
                    f"{len(self.names)}; quote any value that holds {self.delimiter}",
                    row=number,
                    line=line,
                ),
            )
        return row

    @overload
    def rows(self, first: RawRow) -> Generator[NumberedRow]: ...
    @overload
    def rows(self, first: RawRow, *, lists: Literal[True]) -> Generator[ListRow]: ...

    def rows(self, first: RawRow, *, lists: bool = False) -> Generator[ListRow]:
        """The numbered rows from ``first`` on; clean rows as lists if ``lists``."""
        reader, feed, names, template = self.reader, self.feed, self.names, self.template
        row: RawRow | list[str] | None
        width = len(names)
        self.number = number = 1
        yield number, first
        prev = self.last_line
        try:
            for values in reader:
                line = reader.line_num
                feed.record_line = line
                if line - prev != 1 or len(values) != width or feed.long_line or not any(values):
                    start, prev = prev + 1, line
                    self.number = number
                    row = self.convert(values, start)
                    if row is None:
                        continue
                elif lists:
                    prev = line
                    row = values
                else:
                    prev = line
                    row = RawRow(template)
                    row.update(compress(zip(names, values, strict=False), values))
                number += 1
                yield number, row
        except csv.Error as exc:
            raise _csv_error(exc, number + 1, prev + 1) from None
        except FormatError as exc:
            raise at_row(exc, number + 1, self.line_num + 1) from None
