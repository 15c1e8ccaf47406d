"""``standard-ndjson``: one JSON object per line (LF or CRLF), blank lines skipped.

Each line is decoded on its own as it arrives, so memory holds one chunk and one line. Values
follow ``json_values``. Errors raised (the body is refused), each with its line number:
``empty_body``; ``no_rows`` when every line is blank; ``invalid_json`` (a line that is not
one complete JSON value, or holds more than one); ``wrong_shape`` (a line whose value is not
an object); ``invalid_encoding``; ``field_too_large`` (a line over ``MAX_ROW_CHARS``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final

from adapters.errors import FormatError
from adapters.formats.base import (
    MAX_ROW_CHARS,
    NumberedRow,
    Parsed,
    at_row,
    empty_body,
    resume,
    row_too_large,
)
from adapters.formats.decoding import Utf8Text
from adapters.formats.json_values import describe, make_decoder, to_row

NAME: Final = "standard-ndjson"

_NOT_WHITESPACE: Final = re.compile(r"[^ \t\r]")


@dataclass(frozen=True, slots=True)
class NdjsonReader:
    """Reads newline-delimited JSON objects into raw rows (``standard-ndjson``)."""

    name: str = NAME

    def parse(self, chunks: Iterable[bytes]) -> Parsed:
        text = Utf8Text(chunks)
        rows = _rows(text)
        first = next(rows, None)
        if first is None:
            if text.chars_read == 0:
                raise empty_body()
            raise FormatError("no_rows", "every line of the body is blank: it holds no records")
        return Parsed(self.name, tuple(first[1]), resume(first, rows))


def _rows(text: Utf8Text) -> Iterator[NumberedRow]:
    decode = make_decoder().raw_decode
    content = _NOT_WHITESPACE.search
    number = line = 0
    rest = ""
    pieces = iter(text)
    while True:
        try:
            piece = next(pieces, None)
        except FormatError as exc:
            raise at_row(exc, number + 1, line + 1) from None
        if piece is None:
            if not rest:
                return
            lines = [rest]
            rest = ""
        else:
            lines = (rest + piece if rest else piece).split("\n")
            rest = lines.pop()
            if len(rest) > MAX_ROW_CHARS:
                raise row_too_large(row=number + 1, line=line + len(lines) + 1)
        for source in lines:
            line += 1
            if source[:1] == "{":
                start = 0
            else:
                found = content(source)
                if found is None:
                    continue
                start = found.start()
            try:
                value, end = decode(source, start)
            except json.JSONDecodeError as exc:
                raise _syntax_error(exc.msg, exc.pos, number + 1, line) from None
            if end != len(source) and content(source, end) is not None:
                raise _syntax_error("more than one value on the line", end, number + 1, line)
            number += 1
            if not isinstance(value, dict):
                raise FormatError(
                    "wrong_shape",
                    f"row {number}: line {line} holds {describe(value)}; every line must "
                    "hold one JSON object",
                    row=number,
                    line=line,
                )
            yield number, to_row(value, number, line, len(source))


def _syntax_error(what: str, pos: int, row: int, line: int) -> FormatError:
    return FormatError(
        "invalid_json",
        f"row {row}: invalid JSON on line {line} at column {pos + 1}: {what}",
        row=row,
        line=line,
    )
