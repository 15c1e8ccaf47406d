"""``standard-ndjson``: one JSON object per line (LF or CRLF), blank lines skipped.

Each line is decoded on its own as it arrives, so memory holds one chunk and one line. Values
follow ``json_values``. Lines are decoded with orjson (several times faster); a line orjson
refuses, or one that might repeat a key, is decoded again by the standard library, which
gives the error message, reads integers of any size and reports repeated keys.

Errors raised (the body is refused), each with its line number: ``empty_body``; ``no_rows``
when every line is blank; ``invalid_json`` (a line that is not one complete JSON value, or
holds more than one); ``wrong_shape`` (a line whose value is not an object);
``invalid_encoding``; ``field_too_large`` (a line over ``MAX_ROW_CHARS``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final

import orjson

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
_DECODER: Final = make_decoder()


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
    loads = orjson.loads
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
            if source[:1] != "{" and content(source) is None:
                continue
            number += 1
            try:
                value = loads(source)
            except orjson.JSONDecodeError:
                value = None
            if type(value) is dict and _keys_unique(source, value):
                row = to_row(value, number, line, len(source), escaped=False)
                if not row.problems:
                    yield number, row
                    continue
                # orjson reads a huge integer as a float: let the standard library judge.
            value = _careful_decode(source, number, line)
            yield number, to_row(value, number, line, len(source))


def _keys_unique(source: str, value: dict[str, Any]) -> bool:
    """Whether the line certainly repeats no key, judged without decoding it again.

    With no white space before any colon, every key is followed at once by ``":``, and ``":``
    can occur inside a string only after an escaped quote; so if ``":`` occurs exactly as
    often as the object has keys, no key was written twice. False means "not sure".
    """
    return (
        source.count('":') == len(value)
        and " :" not in source
        and "\t:" not in source
        and "\r:" not in source
    )


def _careful_decode(source: str, number: int, line: int) -> dict[str, Any]:
    """The standard library's decoder: precise errors, repeated keys, any size of integer."""
    found = _NOT_WHITESPACE.search(source)
    start = found.start() if found is not None else 0
    try:
        value, end = _DECODER.raw_decode(source, start)
    except RecursionError:  # nested past the decoder's limit; no field holds either
        raise _syntax_error("arrays or objects nested too deeply", start, number, line) from None
    except json.JSONDecodeError as exc:
        raise _syntax_error(exc.msg, exc.pos, number, line) from None
    if end != len(source) and _NOT_WHITESPACE.search(source, end) is not None:
        raise _syntax_error("more than one value on the line", end, number, line)
    if not isinstance(value, dict):
        raise FormatError(
            "wrong_shape",
            f"row {number}: line {line} holds {describe(value)}; every line must hold one "
            "JSON object",
            row=number,
            line=line,
        )
    return value


def _syntax_error(what: str, pos: int, row: int, line: int) -> FormatError:
    return FormatError(
        "invalid_json",
        f"row {row}: invalid JSON on line {line} at column {pos + 1}: {what}",
        row=row,
        line=line,
    )
