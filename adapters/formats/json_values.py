"""JSON objects to raw rows: the value rules shared by ``standard-json`` and ``standard-ndjson``.

- a string is kept as it is (``""`` becomes ``None``); ``null`` is ``None``;
- ``true`` / ``false`` become ``"true"`` / ``"false"``;
- an integer becomes its decimal text (the standard library decoder keeps the digits as
  sent, so no size limit can trip);
- a number with a fraction or exponent, ``NaN``, ``Infinity``, an object or an array is a row
  problem ``invalid_value_type`` naming the field; the field is ``None`` in the row;
- a key repeated within one object is a row problem ``duplicate_key`` (the last value is kept).

A row keeps exactly its object's keys; see ``adapters.formats.base``.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, Final

from adapters.errors import FormatError
from adapters.formats.base import MAX_FIELD_CHARS, RawRow, field_too_large

_PLAIN_TYPES: Final = frozenset({str, type(None)})
_TYPE_NAMES: Final = {
    float: "a number with a fraction or an exponent",
    dict: "an object",
    list: "an array",
}


class _Integer(str):
    """An integer's text as the decoder read it."""


class _Duplicated(dict[str, Any]):
    """An object in which some key was repeated; ``repeated`` names them."""

    repeated: tuple[str, ...] = ()


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    dup = _Duplicated(obj)
    counts = Counter(key for key, _ in pairs)
    dup.repeated = tuple(key for key, n in counts.items() if n > 1)
    return dup


def make_decoder() -> json.JSONDecoder:
    """A decoder whose integers stay text and whose objects report repeated keys."""
    return json.JSONDecoder(parse_int=_Integer, object_pairs_hook=_object)


def to_row(
    obj: dict[str, Any], number: int, line: int | None, span: int, *, escaped: bool = True
) -> RawRow:
    """The raw row of one decoded JSON object, whose source text was ``span`` characters.

    ``escaped=False`` promises the source held no backslash (or was read by orjson, which
    refuses a lone surrogate), so no string can hold an unpaired surrogate.
    """
    if escaped:
        _refuse_lone_surrogates(obj, number, line)
    values = obj.values()
    if (
        span <= MAX_FIELD_CHARS  # no string in it can be longer than its source
        and type(obj) is dict
        and _PLAIN_TYPES.issuperset(map(type, values))
        and "" not in values
    ):
        return RawRow(obj)
    return _careful(obj, number, line)


def _refuse_lone_surrogates(obj: dict[str, Any], number: int, line: int | None) -> None:
    """``"\\ud800"`` is valid JSON but no character: it could not be stored or shown."""
    for key, value in obj.items():
        for text in (key, value):
            if isinstance(text, str) and not text.isascii():
                try:
                    text.encode("utf-8")
                except UnicodeEncodeError:
                    raise FormatError(
                        "invalid_json",
                        f"row {number}: a \\u escape of half a surrogate pair (\\ud800 to "
                        "\\udfff) without its other half is not a character",
                        row=number,
                        line=line,
                    ) from None


def _careful(obj: dict[str, Any], number: int, line: int | None) -> RawRow:
    row = RawRow()
    problems: list[FormatError] = []
    for key, value in obj.items():
        kind = type(value)
        if kind is str:
            if len(value) > MAX_FIELD_CHARS:
                raise _too_large(obj, number, line)
            row[key] = value or None
        elif value is None:
            row[key] = None
        elif kind is _Integer or kind is int:
            row[key] = str(value)
        elif kind is bool:
            row[key] = "true" if value else "false"
        else:
            row[key] = None
            what = _TYPE_NAMES.get(kind, kind.__name__)
            problems.append(
                FormatError(
                    "invalid_value_type",
                    f"row {number}, field {key}: {what} is not allowed; every value must be "
                    'a string, an integer, true, false or null (send codes as strings, "1")',
                    row=number,
                    field=key,
                    line=line,
                )
            )
    if isinstance(obj, _Duplicated):
        problems.extend(
            FormatError(
                "duplicate_key",
                f"row {number}: the key {key} appears more than once in the object",
                row=number,
                field=key,
                line=line,
            )
            for key in obj.repeated
        )
    if problems:
        row.problems = tuple(problems)
    return row


def _too_large(obj: dict[str, Any], number: int, line: int | None) -> FormatError:
    field = next(
        (k for k, v in obj.items() if isinstance(v, str) and len(v) > MAX_FIELD_CHARS), None
    )
    return field_too_large(row=number, line=line, field=field)


def describe(value: object) -> str:
    """How a decoded JSON value is named in a ``wrong_shape`` message."""
    if isinstance(value, bool):
        return "true or false"
    if value is None:
        return "null"
    if isinstance(value, _Integer | int):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return _TYPE_NAMES.get(type(value), "a value")
