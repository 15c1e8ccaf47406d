"""``standard-json``: a JSON array of objects, one object per record, read element by element.

The body is never held whole: a sliding buffer of decoded text is fed chunk by chunk and each
element is decoded with ``json.JSONDecoder.raw_decode`` as soon as it is complete, then
dropped. An element that is cut by a chunk boundary is retried once at least as much text
again has arrived, so the work stays linear; an element that runs past ``MAX_ROW_CHARS`` is
refused (``field_too_large``), which bounds memory. Values follow ``json_values``.

Errors raised (the body is refused): ``empty_body``; ``invalid_json`` with line, column and
character offset; ``wrong_shape`` when the top level is not an array or an element is not
an object; ``no_rows`` for ``[]``; ``invalid_encoding``; ``field_too_large``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final

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

NAME: Final = "standard-json"

_NOT_WHITESPACE: Final = re.compile(r"[^ \t\n\r]")
# An error this close to the end of the buffer may only mean the element is not complete yet.
_NEAR_END: Final = 16
_TOO_DEEP: Final = "arrays or objects nested too deeply"


class _Buffer:
    """Decoded text of the body, consumed from the front and refilled at the back."""

    def __init__(self, text: Utf8Text) -> None:
        self.pieces = iter(text)
        self.text = ""
        self.pos = 0
        self.offset = 0  # characters dropped from the front
        self.lines = 0  # line breaks dropped from the front
        self.line_start = 0  # offset of the first character of the line at the front
        self.eof = False
        self.row: int | None = None  # the row being read, for errors from the decoder
        self.decoder = make_decoder()

    def more(self) -> bool:
        """Append the next piece of text; False at the end of the body."""
        if self.eof:
            return False
        try:
            piece = next(self.pieces, None)
        except FormatError as exc:
            raise at_row(exc, self.row, self.line_at(len(self.text))) from None
        if piece is None:
            self.eof = True
            return False
        if self.pos:
            self.lines += self.text.count("\n", 0, self.pos)
            newline = self.text.rfind("\n", 0, self.pos)
            if newline >= 0:
                self.line_start = self.offset + newline + 1
            self.offset += self.pos
            self.text = self.text[self.pos :] + piece
            self.pos = 0
        else:
            self.text += piece
        return True

    def peek(self) -> str:
        """Skip white space; the next character, or "" at the end of the body."""
        while True:
            found = _NOT_WHITESPACE.search(self.text, self.pos)
            if found is not None:
                self.pos = found.start()
                return self.text[self.pos]
            self.pos = len(self.text)
            if not self.more():
                return ""

    def value(self, row: int | None) -> tuple[Any, int]:
        """Decode the JSON value at the current position: (value, length of its text)."""
        self.row = row
        while True:
            try:
                value, end = self.decoder.raw_decode(self.text, self.pos)
            except RecursionError:
                # Arrays or objects nested past the decoder's recursion limit: no field of
                # the standard holds either, so the body is refused however it goes on.
                raise self.syntax_error(_TOO_DEEP, self.pos, row) from None
            except json.JSONDecodeError as exc:
                unfinished = exc.msg.startswith("Unterminated string")
                if self.eof or not (unfinished or len(self.text) - exc.pos <= _NEAR_END):
                    raise self.syntax_error(exc.msg, exc.pos, row) from None
                held = len(self.text) - self.pos
                if held > MAX_ROW_CHARS:
                    raise row_too_large(row=row, line=self.line_at(self.pos)) from None
                while len(self.text) - self.pos < 2 * held and self.more():
                    pass
                continue
            span = end - self.pos
            self.pos = end
            return value, span

    def line_at(self, pos: int) -> int:
        return self.lines + self.text.count("\n", 0, pos) + 1

    def syntax_error(self, what: str, pos: int, row: int | None) -> FormatError:
        newline = self.text.rfind("\n", 0, pos)
        start = self.offset + newline + 1 if newline >= 0 else self.line_start
        column = self.offset + pos - start + 1
        line = self.line_at(pos)
        where = f"row {row}: " if row is not None else ""
        return FormatError(
            "invalid_json",
            f"{where}invalid JSON at line {line}, column {column}: {what}",
            row=row,
            line=line,
        )


@dataclass(frozen=True, slots=True)
class JsonReader:
    """Reads a JSON array of objects into raw rows (``standard-json``)."""

    name: str = NAME

    def parse(self, chunks: Iterable[bytes]) -> Parsed:
        text = Utf8Text(chunks)
        buffer = _Buffer(text)
        opening = buffer.peek()
        if opening != "[":
            raise _not_an_array(buffer, opening, text)
        buffer.pos += 1
        rows = _elements(buffer)
        first = next(rows, None)
        if first is None:
            raise FormatError("no_rows", "the array is empty: it holds no records")
        return Parsed(self.name, tuple(first[1]), resume(first, rows))


def _not_an_array(buffer: _Buffer, opening: str, text: Utf8Text) -> FormatError:
    if opening == "":
        if text.chars_read == 0:
            return empty_body()
        return FormatError("invalid_json", "the body holds only white space, no JSON")
    if opening == "{":
        return FormatError(
            "wrong_shape",
            "the body is a single JSON object; standard-json needs an array of objects "
            "([{...}, {...}]), and standard-ndjson takes one object per line",
        )
    value, _ = buffer.value(None)
    return FormatError(
        "wrong_shape", f"the body is {describe(value)}; standard-json needs an array of objects"
    )


def _elements(buffer: _Buffer) -> Iterator[NumberedRow]:
    number = 0
    following = buffer.peek()
    if following == "]":
        buffer.pos += 1
    while following != "]":
        value, span = buffer.value(number + 1)
        number += 1
        if not isinstance(value, dict):
            raise FormatError(
                "wrong_shape",
                f"row {number}: element {number} of the array is {describe(value)}; "
                "every element must be an object",
                row=number,
                line=buffer.line_at(buffer.pos),
            )
        escaped = buffer.text.find("\\", buffer.pos - span, buffer.pos) >= 0
        yield number, to_row(value, number, None, span, escaped=escaped)
        following = buffer.peek()
        if following == ",":
            buffer.pos += 1
            if buffer.peek() == "]":
                raise buffer.syntax_error("a comma before ]", buffer.pos, None)
        elif following == "]":
            buffer.pos += 1
        elif following == "":
            raise buffer.syntax_error("the array is never closed", buffer.pos, None)
        else:
            raise buffer.syntax_error("expected , or ] after the object", buffer.pos, number)
    if buffer.peek() != "":
        raise buffer.syntax_error("extra data after the array", buffer.pos, None)
