"""Incremental UTF-8 decoding of body chunks.

``Utf8Text(chunks)`` iterates the decoded text of a body, piece by piece, holding at most one
chunk plus the bytes of a character split across two chunks. A byte order mark at the very
start is dropped. A byte sequence that is not UTF-8 (or a body that ends inside a
character) raises ``FormatError`` code ``invalid_encoding`` with its byte offset, after
every piece of valid text before it has been handed on, so the reader of the text knows
which line or row it is in. ``UnicodeDecodeError`` never escapes.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator

from adapters.errors import FormatError

_BOM = "\ufeff"
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


class Utf8Text:
    """The text of a UTF-8 body; ``bytes_read`` counts the bytes taken from the chunks."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks
        self.bytes_read = 0
        self.chars_read = 0

    def __iter__(self) -> Iterator[str]:
        decode = codecs.utf_8_decode
        pending = b""  # the first bytes of a character cut by a chunk boundary
        offset = 0  # byte offset of the start of ``pending`` in the body
        at_start = True
        for chunk in self._chunks:
            if not chunk:
                continue
            self.bytes_read += len(chunk)
            data = pending + chunk if pending else chunk
            try:
                text, used = decode(data, "strict", False)
            except UnicodeDecodeError as exc:
                good = bytes(data[: exc.start]).decode("utf-8")
                if at_start:
                    good = good.removeprefix(_BOM)
                if good:
                    self.chars_read += len(good)
                    yield good
                raise _invalid(data, offset, exc.start, exc.end) from None
            pending = data[used:]
            offset += used
            if at_start and text:
                at_start = False
                text = text.removeprefix(_BOM)
            if text:
                self.chars_read += len(text)
                yield text
        if pending:
            raise _invalid(pending, offset, 0, len(pending), truncated=True)


def _invalid(
    data: bytes, offset: int, start: int, end: int, *, truncated: bool = False
) -> FormatError:
    position = offset + start
    bad = " ".join(f"0x{b:02x}" for b in data[start:end])
    if truncated:
        why = f"the body ends in the middle of a character ({bad})"
    else:
        why = f"the bytes {bad} are not UTF-8"
    hint = "save or export the file as UTF-8"
    if position == 0 and bytes(data[:2]) in _UTF16_BOMS:
        hint = "the body looks like UTF-16; export it as UTF-8"
    elif not truncated:
        hint = "the file may be Windows-1252 or Latin-1; export it as UTF-8"
    return FormatError(
        "invalid_encoding",
        f"invalid UTF-8 at byte offset {position:,} (counting from 0): {why}; {hint}",
    )
