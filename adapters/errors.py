"""Errors raised by the adapters: input formats and per-force mappings.

The tree::

    AdapterError                  base of every adapter error; never raised itself
    ├── FormatError               the uploaded bytes cannot be read as the declared format,
    │                             or one row of them cannot be converted (see ``code``)
    └── MappingError              a per-force mapping file is wrong; refused when loaded

Both carry a human ``message`` written for the force that sent the data: no stack detail,
no paths on the server, no values beyond the offending field. ``FormatError.code`` is a
stable machine code (``docs/formats.md`` lists them all); ``row`` is the 1-based data row
(the header is not counted), ``line`` the 1-based physical line of the body, ``field`` the
column concerned, each ``None`` when it does not apply.

A ``FormatError`` is used two ways: raised, it means the whole body is refused (the parser
cannot trust what follows); attached to a row in ``RawRow.problems``, it means that one row
is refused and parsing carries on. Third-party errors (``UnicodeDecodeError``,
``csv.Error``, ``json.JSONDecodeError``, ``tomllib.TOMLDecodeError``) are translated where
they enter and never escape.
"""

from __future__ import annotations


class AdapterError(Exception):
    """Base of every adapter error."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class FormatError(AdapterError):
    """Input that cannot be read as its format, or one row that cannot be converted."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        row: int | None = None,
        field: str | None = None,
        line: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.row = row
        self.field = field
        self.line = line

    def __repr__(self) -> str:
        return (
            f"FormatError(code={self.code!r}, message={self.message!r}, row={self.row!r}, "
            f"field={self.field!r}, line={self.line!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FormatError):
            return NotImplemented
        return (self.code, self.message, self.row, self.field, self.line) == (
            other.code,
            other.message,
            other.row,
            other.field,
            other.line,
        )

    def __hash__(self) -> int:
        return hash((self.code, self.message, self.row, self.field, self.line))


class MappingError(AdapterError):
    """A per-force mapping file that is refused; ``key`` is the dotted TOML key at fault."""

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(f"{key}: {message}" if key else message)
        self.key = key
