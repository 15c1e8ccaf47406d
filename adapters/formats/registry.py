"""The formats by name and by media type.

``get_format("standard-csv")`` and the others return an ``InputFormat``; ``mapped-csv`` needs
the force's loaded ``Mapping``. ``format_for_content_type("text/csv; charset=utf-8")`` picks a
standard format from a request's ``Content-Type``. An unknown name or media type raises
``FormatError`` (``unknown_format``, ``unsupported_media_type``) with a message for the client.
"""

from __future__ import annotations

from typing import Final

from adapters.errors import FormatError, MappingError
from adapters.formats import mapped_csv, standard_csv, standard_json, standard_ndjson
from adapters.formats.base import InputFormat
from adapters.formats.mapped_csv import MappedCsvReader
from adapters.formats.mapping import Mapping
from adapters.formats.standard_csv import CsvReader
from adapters.formats.standard_json import JsonReader
from adapters.formats.standard_ndjson import NdjsonReader

FORMAT_NAMES: Final = (
    standard_csv.NAME,
    standard_json.NAME,
    standard_ndjson.NAME,
    mapped_csv.NAME,
)
CONTENT_TYPES: Final = {
    "text/csv": standard_csv.NAME,
    "application/json": standard_json.NAME,
    "application/x-ndjson": standard_ndjson.NAME,
}
_STANDARD: Final[dict[str, InputFormat]] = {
    standard_csv.NAME: CsvReader(),
    standard_json.NAME: JsonReader(),
    standard_ndjson.NAME: NdjsonReader(),
}


def get_format(name: str, *, mapping: Mapping | None = None) -> InputFormat:
    """The input format called ``name``; ``mapped-csv`` needs the force's ``mapping``."""
    if name == mapped_csv.NAME:
        if mapping is None:
            raise MappingError("the mapped-csv format needs the force's mapping file")
        return MappedCsvReader(mapping)
    found = _STANDARD.get(name)
    if found is None:
        raise FormatError(
            "unknown_format", f"unknown format {name!r}; known: {', '.join(FORMAT_NAMES)}"
        )
    return found


def format_for_content_type(content_type: str) -> InputFormat:
    """The standard format for a ``Content-Type`` header value (parameters allowed)."""
    media_type, _, params = content_type.partition(";")
    name = CONTENT_TYPES.get(media_type.strip().lower())
    if name is None:
        raise FormatError(
            "unsupported_media_type",
            f"unsupported media type {media_type.strip()!r}; send one of "
            f"{', '.join(CONTENT_TYPES)}",
        )
    for param in params.split(";"):
        key, _, value = param.partition("=")
        charset = value.strip().strip('"').lower()
        if key.strip().lower() == "charset" and charset not in {"utf-8", "utf8"}:
            raise FormatError(
                "unsupported_media_type", f"charset {charset!r} is not supported; send UTF-8"
            )
    return _STANDARD[name]
