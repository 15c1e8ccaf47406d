"""Input formats: a force's uploaded bytes -> a header and numbered raw rows.

``get_format(name)`` / ``format_for_content_type(value)`` give an ``InputFormat`` whose
``parse(chunks)`` returns a ``Parsed``; ``load_mapping`` reads a force's mapping file for
``mapped-csv``. The row and problem design is described in ``adapters.formats.base``; the
formats, the mapping file keys and every error code in ``docs/formats.md``.
"""

from adapters.formats.base import (
    MAX_FIELD_CHARS,
    MAX_ROW_CHARS,
    InputFormat,
    NumberedRow,
    Parsed,
    RawRow,
)
from adapters.formats.mapping import Mapping, ValueMap, load_mapping
from adapters.formats.registry import (
    CONTENT_TYPES,
    FORMAT_NAMES,
    format_for_content_type,
    get_format,
)

__all__ = [
    "CONTENT_TYPES",
    "FORMAT_NAMES",
    "MAX_FIELD_CHARS",
    "MAX_ROW_CHARS",
    "InputFormat",
    "Mapping",
    "NumberedRow",
    "Parsed",
    "RawRow",
    "ValueMap",
    "format_for_content_type",
    "get_format",
    "load_mapping",
]
