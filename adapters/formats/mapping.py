"""Per-force mapping files: how a force's own CSV export becomes Record Standard v1 rows.

A mapping is a TOML file (reference: ``docs/formats.md``; examples under
``docs/examples/mappings/``). ``load_mapping`` checks every key against the standard when the
file is loaded, so a wrong mapping never meets data: an unknown key or standard field, a code
the standard does not have, a date pattern that cannot read back a date, or an unknown time
zone raises ``MappingError`` whose ``key`` is the dotted TOML key at fault.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from adapters.errors import MappingError
from adapters.formats.dates import check_date_pattern, check_datetime_pattern
from schema import codelists
from schema.record import FIELDS_BY_NAME, Kind

MAPPING_VERSION: Final = 1
_TOP_KEYS: Final = frozenset(
    {
        "mapping_version",
        "force",
        "description",
        "delimiter",
        "date_format",
        "datetime_format",
        "timezone",
        "ignore",
        "columns",
        "date_formats",
        "values",
    }
)
_VALUE_MAP_KEYS: Final = frozenset({"strict", "ignore_case", "map"})


@dataclass(frozen=True, slots=True)
class ValueMap:
    """Local values of one standard field -> standard values (``None``: absent)."""

    field: str
    table: MappingProxyType[str, str | None]  # keys trimmed, and casefolded if ignore_case
    strict: bool = False  # refuse a local value missing from the table (else pass it through)
    ignore_case: bool = False

    def lookup_key(self, value: str) -> str:
        key = value.strip()
        return key.casefold() if self.ignore_case else key


@dataclass(frozen=True, slots=True)
class Mapping:
    """A loaded, checked mapping; see ``docs/formats.md`` for each key."""

    force: str | None
    description: str
    delimiter: str
    columns: MappingProxyType[str, str]  # source column -> standard field
    ignore: frozenset[str]  # source columns dropped unread
    date_formats: MappingProxyType[str, str]  # standard date field -> strptime pattern
    datetime_format: str | None  # strptime pattern for updated_at; None: ISO 8601
    timezone: ZoneInfo | None  # for updated_at values without a UTC offset
    values: MappingProxyType[str, ValueMap]  # standard field -> its value map


def load_mapping(source: Path | str) -> Mapping:
    """Load and check a mapping: a ``Path`` is read as a file, a ``str`` is the TOML text."""
    if isinstance(source, Path):
        try:
            text = source.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise MappingError(f"cannot read the mapping file {source.name}: {exc}") from None
    else:
        text = source
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"the mapping is not valid TOML: {exc}") from None
    return _build(doc)


def _build(doc: dict[str, Any]) -> Mapping:
    _no_unknown_keys(doc, _TOP_KEYS, "", "top-level key")
    version = doc.get("mapping_version", MAPPING_VERSION)
    if version != MAPPING_VERSION or isinstance(version, bool):
        raise MappingError(f"must be {MAPPING_VERSION}", key="mapping_version")
    force = _optional_str(doc, "force")
    if force is not None and codelists.force(force) is None:
        known = (f.code for f in codelists.forces())
        raise MappingError(
            f"{force!r} is not a force code{_did_you_mean(force, known)}", key="force"
        )
    delimiter = _optional_str(doc, "delimiter")
    if delimiter is None:
        delimiter = ","
    elif len(delimiter) != 1 or delimiter in '"\r\n':
        raise MappingError("must be one character, not a quote or a line break", key="delimiter")
    ignore = _ignore(doc.get("ignore", []))
    columns = _columns(_table(doc, "columns"), ignore)
    default_date = _optional_str(doc, "date_format")
    if default_date is not None:
        check_date_pattern(default_date, "date_format")
    date_formats = _date_formats(_table(doc, "date_formats"), default_date)
    datetime_format = _optional_str(doc, "datetime_format")
    zone = _zone(_optional_str(doc, "timezone"))
    if datetime_format is not None:
        with_offset = check_datetime_pattern(datetime_format, "datetime_format")
        if not with_offset and zone is None:
            raise MappingError(
                "is required: datetime_format has no UTC offset (%z), so the time zone of "
                "the force's clock times must be given (for example Europe/London)",
                key="timezone",
            )
    values = {name: _value_map(name, spec) for name, spec in _table(doc, "values").items()}
    return Mapping(
        force=force,
        description=_optional_str(doc, "description") or "",
        delimiter=delimiter,
        columns=MappingProxyType(columns),
        ignore=ignore,
        date_formats=MappingProxyType(date_formats),
        datetime_format=datetime_format,
        timezone=zone,
        values=MappingProxyType(values),
    )


def _key(*parts: str) -> str:
    """A dotted TOML key, quoting the parts that are not bare keys."""
    bare = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
    return ".".join(p if p and all(c in bare for c in p) else f'"{p}"' for p in parts)


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _no_unknown_keys(
    table: dict[str, Any], allowed: frozenset[str], prefix: str, what: str
) -> None:
    for name in table:
        if name not in allowed:
            key = f"{prefix}.{_key(name)}" if prefix else _key(name)
            hint = _did_you_mean(name, allowed)
            listed = ", ".join(sorted(allowed))
            raise MappingError(f"unknown {what}{hint}; allowed: {listed}", key=key)


def _optional_str(doc: dict[str, Any], name: str) -> str | None:
    value = doc.get(name)
    if value is not None and not isinstance(value, str):
        raise MappingError("must be a string", key=name)
    return value


def _table(doc: dict[str, Any], name: str) -> dict[str, Any]:
    value = doc.get(name, {})
    if not isinstance(value, dict):
        raise MappingError("must be a table", key=name)
    return value


def _standard_field(name: str, key: str) -> str:
    if name not in FIELDS_BY_NAME:
        hint = _did_you_mean(name, FIELDS_BY_NAME)
        raise MappingError(f"{name!r} is not a field of Record Standard v1{hint}", key=key)
    return name


def _ignore(value: object) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise MappingError("must be a list of column names", key="ignore")
    return frozenset(v.strip() for v in value)


def _columns(table: dict[str, Any], ignore: frozenset[str]) -> dict[str, str]:
    columns: dict[str, str] = {}
    targets: dict[str, str] = {}
    for source, target in table.items():
        key = f"columns.{_key(source)}"
        if not isinstance(target, str):
            raise MappingError("must be the name of a standard field (a string)", key=key)
        _standard_field(target, key)
        if not source.strip() or source.strip() in columns:
            raise MappingError("the column name is empty or mapped twice", key=key)
        if source.strip() in ignore:
            raise MappingError("the column is also listed in ignore", key=key)
        if target in targets:
            raise MappingError(
                f"{target} is already mapped from columns.{_key(targets[target])}", key=key
            )
        targets[target] = source
        columns[source.strip()] = target
    return columns


def _date_formats(table: dict[str, Any], default: str | None) -> dict[str, str]:
    formats = {f.name: default for f in FIELDS_BY_NAME.values() if f.kind is Kind.DATE and default}
    for name, pattern in table.items():
        key = f"date_formats.{_key(name)}"
        if FIELDS_BY_NAME[_standard_field(name, key)].kind is not Kind.DATE:
            raise MappingError(f"{name} is not a date field", key=key)
        if not isinstance(pattern, str):
            raise MappingError("must be a strptime pattern such as %d/%m/%Y", key=key)
        check_date_pattern(pattern, key)
        formats[name] = pattern
    return formats


def _zone(name: str | None) -> ZoneInfo | None:
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise MappingError(
            f"{name!r} is not a known IANA time zone (for example Europe/London)", key="timezone"
        ) from None


def _allowed_values(name: str) -> frozenset[str] | None:
    """The standard values a value map for this field may produce, or None if it has none."""
    spec = FIELDS_BY_NAME[name]
    if spec.kind is Kind.OFFENCE_CODE:
        return frozenset(codelists.offence_codes_by_code())
    if spec.kind is Kind.OUTCOME_TYPE:
        return frozenset(codelists.outcome_types_by_code()) | {"", "0"}
    if spec.kind is Kind.CHOICE:
        return frozenset(spec.choices) | {""}
    if spec.kind is Kind.BOOLEAN:
        return frozenset({"true", "false", ""})
    return None


def _value_map(name: str, spec: object) -> ValueMap:
    prefix = f"values.{_key(name)}"
    _standard_field(name, prefix)
    allowed = _allowed_values(name)
    if allowed is None:
        raise MappingError(
            "value maps apply only to code fields (offence_code, outcome_type, the choice "
            "fields and the true/false flags)",
            key=prefix,
        )
    if not isinstance(spec, dict):
        raise MappingError("must be a table with a map (and optionally strict)", key=prefix)
    _no_unknown_keys(spec, _VALUE_MAP_KEYS, prefix, "key")
    flags: dict[str, bool] = {}
    for flag in ("strict", "ignore_case"):
        flags[flag] = spec.get(flag, False)
        if not isinstance(flags[flag], bool):
            raise MappingError("must be true or false", key=f"{prefix}.{flag}")
    entries = spec.get("map")
    if not isinstance(entries, dict) or not entries:
        raise MappingError("must be a table of local value = standard value", key=f"{prefix}.map")
    table: dict[str, str | None] = {}
    for local, standard in entries.items():
        key = f"{prefix}.map.{_key(local)}"
        if not isinstance(standard, str) or standard not in allowed:
            choices = ", ".join(sorted(v for v in allowed if v))
            raise MappingError(
                f"{standard!r} is not a standard {name} (one of: {choices})", key=key
            )
        lookup = local.strip().casefold() if flags["ignore_case"] else local.strip()
        if not lookup:
            raise MappingError(
                "an empty local value cannot be mapped: it is always absent", key=key
            )
        if lookup in table:
            raise MappingError("the same local value is mapped twice", key=key)
        table[lookup] = standard or None
    return ValueMap(name, MappingProxyType(table), flags["strict"], flags["ignore_case"])
