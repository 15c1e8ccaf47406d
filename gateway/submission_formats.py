"""Which input format a push uses: its Content-Type, the force's configuration, or ``?format``.

``text/csv`` means the force's configured CSV format (``standard-csv`` unless the forces
configuration gives the force a ``mapped-csv`` mapping); ``?format=standard-csv`` lets a
force with a mapping still push a standard file. Mappings are loaded (and so checked) once.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from adapters.errors import FormatError, MappingError
from adapters.formats.base import InputFormat
from adapters.formats.mapping import Mapping, load_mapping
from adapters.formats.registry import FORMAT_NAMES, format_for_content_type, get_format
from gateway.forces_config import ForcesConfig


class UnsupportedFormatError(ValueError):
    """The request's Content-Type or ``format`` cannot be used for this force."""


@lru_cache(maxsize=64)
def _mapping(path: Path) -> Mapping:
    return load_mapping(path)


def choose_format(
    forces: ForcesConfig, force: str, content_type: str | None, explicit: str | None
) -> InputFormat:
    config = forces.get(force)
    if explicit is not None:
        if explicit not in FORMAT_NAMES:
            raise UnsupportedFormatError(
                f"format must be one of {', '.join(FORMAT_NAMES)}, not {explicit!r}."
            )
        if explicit == "mapped-csv" and config.mapping is None:
            raise UnsupportedFormatError(f"Force {force} has no mapping configured for mapped-csv.")
        return _by_name(explicit, config.mapping)
    if not content_type:
        raise UnsupportedFormatError(
            "Content-Type is required: text/csv, application/json or application/x-ndjson."
        )
    try:
        standard = format_for_content_type(content_type)
    except FormatError as exc:
        raise UnsupportedFormatError(exc.message) from None
    if standard.name == "standard-csv" and config.csv_format == "mapped-csv":
        return _by_name("mapped-csv", config.mapping)
    return standard


def _by_name(name: str, mapping_path: Path | None) -> InputFormat:
    try:
        mapping = _mapping(mapping_path) if name == "mapped-csv" and mapping_path else None
        return get_format(name, mapping=mapping)
    except (FormatError, MappingError) as exc:
        raise UnsupportedFormatError(str(exc)) from None
