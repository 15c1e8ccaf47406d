"""The declared purpose of a consultation: the ``Soteria-Purpose`` request header.

The Data Protection Act 2018 s.62 log must show *why* data was consulted or disclosed, so
every request that reads case-derived data declares a purpose, and the audit event keeps
it. The header format::

    Soteria-Purpose: <code>
    Soteria-Purpose: <code>; <free text>

``<code>`` is one of the configured purpose codes (``Settings.purposes``), matched exactly
after trimming spaces. Everything after the first ``;``, trimmed, is the free text: at most
``MAX_TEXT_LENGTH`` characters of printable ASCII (space to ``~``). ASCII only because HTTP
field values are bytes that Starlette decodes as Latin-1: anything else would be stored
as mojibake in a legal record. Empty free text counts as none.

``parse_purpose`` returns a ``PurposeError`` rather than raising it: a bad header is an
ordinary client mistake that the caller answers with a 400 and records as a refusal.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Final

from gateway.audit.errors import PurposeError

HEADER: Final = "Soteria-Purpose"
MAX_TEXT_LENGTH: Final = 500
MAX_CODE_LENGTH: Final = 64
_CODE = re.compile(r"[a-z0-9][a-z0-9_-]*")
_PRINTABLE_ASCII = re.compile(r"[ -~]*")


@dataclass(frozen=True, slots=True)
class Purpose:
    """A declared purpose: a configured code and optional free text."""

    code: str
    text: str | None = None

    def header_value(self) -> str:
        """The header that declares this purpose (round-trips through ``parse_purpose``)."""
        return self.code if self.text is None else f"{self.code}; {self.text}"


def parse_purpose(
    header_value: str | None, allowed_codes: Collection[str]
) -> Purpose | PurposeError:
    """Parse a ``Soteria-Purpose`` value; a ``PurposeError`` says what is wrong with it."""
    if header_value is None or not header_value.strip():
        return PurposeError(
            "missing",
            f"Declare the purpose of this request in the {HEADER} header: one of "
            f"{_listing(allowed_codes)}, optionally followed by '; ' and a short explanation.",
        )
    code_part, separator, text_part = header_value.partition(";")
    code = code_part.strip()
    if len(code) > MAX_CODE_LENGTH or not _CODE.fullmatch(code):
        return PurposeError(
            "malformed",
            f"The {HEADER} header must start with a purpose code (lower-case letters, digits, "
            f"'-' or '_'), then optionally '; ' and free text; allowed codes: "
            f"{_listing(allowed_codes)}.",
        )
    if code not in allowed_codes:
        return PurposeError(
            "unknown_purpose",
            f"'{code}' is not a declared purpose; use one of {_listing(allowed_codes)}.",
        )
    text = text_part.strip() if separator else ""
    if len(text) > MAX_TEXT_LENGTH:
        return PurposeError(
            "text_too_long",
            f"The {HEADER} free text has {len(text)} characters; the limit is {MAX_TEXT_LENGTH}.",
        )
    if not _PRINTABLE_ASCII.fullmatch(text):
        return PurposeError(
            "text_not_printable",
            f"The {HEADER} free text may hold printable ASCII characters only "
            "(no control characters, tabs or non-ASCII letters).",
        )
    return Purpose(code=code, text=text or None)


def _listing(codes: Collection[str]) -> str:
    return ", ".join(f"'{c}'" for c in sorted(codes)) if codes else "(none configured)"
