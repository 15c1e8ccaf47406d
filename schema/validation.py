"""Validation of rows against Record Standard v1.

Every problem is reported, not only the first: an ``Issue`` names the 1-based data row,
the field, a stable machine code and a plain-English message. Errors refuse the
submission; warnings are accepted and reported (STANDARD.md says which is which).

The validator is the hot path of ingestion (a million rows must stream through it), so
converters are plain closures chosen once per field, and a valid row costs no allocation
beyond its output tuple.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from schema import codelists
from schema.record import (
    AGE_BAND_RANGES,
    EARLIEST_RECORDED_DATE,
    FIELD_INDEX,
    FIELD_NAMES,
    FIELDS,
    OFFENCE_AGE_RANGES,
    REF_MAX_LENGTH,
    REQUIRED_FIELDS,
    FieldSpec,
    Kind,
    Record,
    RecordValue,
)


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class Code(StrEnum):
    """Stable machine codes; clients may switch on them."""

    MISSING_COLUMN = "missing_column"
    UNKNOWN_COLUMN = "unknown_column"
    DUPLICATE_COLUMN = "duplicate_column"
    PERSONAL_DATA_COLUMN = "personal_data_column"
    REQUIRED = "required"
    INVALID_REF = "invalid_ref"
    UNKNOWN_CODE = "unknown_code"
    INVALID_DATE = "invalid_date"
    DATE_OUT_OF_RANGE = "date_out_of_range"
    INVALID_DATETIME = "invalid_datetime"
    INVALID_BOOLEAN = "invalid_boolean"
    INVALID_CHOICE = "invalid_choice"
    DATE_ORDER = "date_order"
    OUTCOME_DATE_WITHOUT_OUTCOME = "outcome_date_without_outcome"
    OUTCOME_WITHOUT_DATE = "outcome_without_date"
    RETURNED_WITHOUT_SEIZED = "device_returned_without_seized"
    DUPLICATE_IN_SUBMISSION = "duplicate_in_submission"
    # warnings
    REPORTED_AFTER_RECORDED = "reported_after_recorded"
    AGE_BAND_CONTRADICTS_OFFENCE = "age_band_contradicts_offence"
    STALE = "stale"  # older than the stored version: accepted, not applied


@dataclass(frozen=True, slots=True)
class Issue:
    row: int | None  # 1-based data row; None for a problem with the header
    field: str | None
    code: Code
    message: str
    severity: Severity = Severity.ERROR

    def as_dict(self) -> dict[str, object]:
        return {
            "row": self.row,
            "field": self.field,
            "code": str(self.code),
            "message": self.message,
            "severity": str(self.severity),
        }


# Column names that look like personal data. The standard holds none, and a force that
# sends one has mis-configured its export: refuse the whole file and say why.
_PERSONAL_PATTERNS: Final = (
    (
        re.compile(r"(^|_)(first|fore|given|sur|last|family|full|middle|maiden)_?names?($|_)"),
        "a person's name",
    ),
    (re.compile(r"(^|_)names?($|_)"), "a person's name"),
    (re.compile(r"(^|_)(dob|date_of_birth|birth_?date|birthday|born)($|_)"), "a date of birth"),
    (re.compile(r"(^|_)(address|addr|street|house|town|city)($|_)|address"), "an address"),
    (re.compile(r"(^|_)(post_?code|postal_?code|zip_?code|zip)($|_)"), "a postcode"),
    (re.compile(r"(phone|mobile|tel|telephone|landline)"), "a phone number"),
    (re.compile(r"(e_?mail)"), "an email address"),
    (
        re.compile(r"(^|_)(nhs|ni|national_insurance|passport|driving_licence)(_|$)"),
        "an identity number",
    ),
)


def _normalise_column(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def personal_data_kind(column: str) -> str | None:
    """What personal data a column name looks like, or None."""
    norm = _normalise_column(column)
    if norm in FIELD_INDEX:
        return None
    for pattern, kind in _PERSONAL_PATTERNS:
        if pattern.search(norm):
            return kind
    return None


def check_columns(columns: Sequence[str]) -> list[Issue]:
    """Header problems: personal-data, unknown, duplicate and missing required columns."""
    issues: list[Issue] = []
    seen: set[str] = set()
    for column in columns:
        name = column.strip()
        if name in seen:
            issues.append(
                Issue(None, name, Code.DUPLICATE_COLUMN, f"Column '{name}' appears more than once.")
            )
            continue
        seen.add(name)
        if name in FIELD_INDEX:
            continue
        kind = personal_data_kind(name)
        if kind is not None:
            issues.append(
                Issue(
                    None,
                    name,
                    Code.PERSONAL_DATA_COLUMN,
                    f"Column '{name}' looks like {kind}. The RASSO record standard "
                    "holds no personal data: remove the column from the export.",
                )
            )
        else:
            issues.append(
                Issue(
                    None,
                    name,
                    Code.UNKNOWN_COLUMN,
                    f"Column '{name}' is not a field of Record Standard v1.",
                )
            )
    issues.extend(
        Issue(None, required, Code.MISSING_COLUMN, f"Required column '{required}' is missing.")
        for required in REQUIRED_FIELDS
        if required not in seen
    )
    return issues


_REF_RE: Final = re.compile(r"[A-Za-z0-9._:/-]{1,64}")
_TRUE: Final = frozenset({"true"})
_FALSE: Final = frozenset({"false"})

# A converter returns the typed value, or raises _Invalid with the code and message.


class _InvalidError(Exception):
    def __init__(self, code: Code, message: str) -> None:
        self.code = code
        self.message = message


Converter = Callable[[str], RecordValue]


def normalise_offence_code(value: str) -> str:
    return value.strip().upper().lstrip("0")


def normalise_outcome_type(value: str) -> str | None:
    code = value.strip().upper().lstrip("0")
    return code or None  # "0" and "" both mean open


def _ref(spec: FieldSpec) -> Converter:
    def convert(value: str) -> RecordValue:
        if _REF_RE.fullmatch(value) is None:
            if len(value) > REF_MAX_LENGTH:
                raise _InvalidError(
                    Code.INVALID_REF, f"{spec.name} is {len(value)} characters; at most 64."
                )
            raise _InvalidError(
                Code.INVALID_REF, f"{spec.name} may contain only A-Z a-z 0-9 . _ : / -."
            )
        return value

    return convert


def _offence_code(spec: FieldSpec) -> Converter:
    known = codelists.offence_codes_by_code()

    def convert(value: str) -> RecordValue:
        code = normalise_offence_code(value)
        if code not in known:
            raise _InvalidError(
                Code.UNKNOWN_CODE, f"'{value}' is not a Home Office sexual offence code."
            )
        return code

    return convert


def _outcome_type(spec: FieldSpec) -> Converter:
    known = codelists.outcome_types_by_code()

    def convert(value: str) -> RecordValue:
        code = normalise_outcome_type(value)
        if code is not None and code not in known:
            raise _InvalidError(Code.UNKNOWN_CODE, f"'{value}' is not a Home Office outcome type.")
        return code

    return convert


def _date(spec: FieldSpec) -> Converter:
    def convert(value: str) -> RecordValue:
        if len(value) != 10:
            raise _InvalidError(
                Code.INVALID_DATE, f"{spec.name} '{value}' is not a date in YYYY-MM-DD form."
            )
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise _InvalidError(
                Code.INVALID_DATE, f"{spec.name} '{value}' is not a date in YYYY-MM-DD form."
            ) from None

    return convert


def _datetime(spec: FieldSpec) -> Converter:
    def convert(value: str) -> RecordValue:
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            raise _InvalidError(
                Code.INVALID_DATETIME, f"{spec.name} '{value}' is not an ISO 8601 date-time."
            ) from None
        if parsed.tzinfo is None:
            raise _InvalidError(
                Code.INVALID_DATETIME, f"{spec.name} '{value}' has no UTC offset (e.g. +00:00)."
            )
        return parsed.astimezone(dt.UTC)

    return convert


def _boolean(spec: FieldSpec) -> Converter:
    def convert(value: str) -> RecordValue:
        lowered = value.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise _InvalidError(Code.INVALID_BOOLEAN, f"{spec.name} must be true or false.")

    return convert


def _choice(spec: FieldSpec) -> Converter:
    allowed = frozenset(spec.choices)
    listed = ", ".join(spec.choices)

    def convert(value: str) -> RecordValue:
        if value not in allowed:
            raise _InvalidError(
                Code.INVALID_CHOICE, f"{spec.name} '{value}' is not one of: {listed}."
            )
        return value

    return convert


_CONVERTERS: Final[dict[Kind, Callable[[FieldSpec], Converter]]] = {
    Kind.REF: _ref,
    Kind.OFFENCE_CODE: _offence_code,
    Kind.OUTCOME_TYPE: _outcome_type,
    Kind.DATE: _date,
    Kind.DATETIME: _datetime,
    Kind.BOOLEAN: _boolean,
    Kind.CHOICE: _choice,
}


def _age_contradiction(offence_code: str, band: str) -> str | None:
    offence_range = OFFENCE_AGE_RANGES.get(offence_code)
    band_range = AGE_BAND_RANGES.get(band)
    if offence_range is None or band_range is None:
        return None
    youngest, oldest = offence_range
    band_low, band_high = band_range
    if youngest is not None and band_high is not None and band_high < youngest:
        return f"offence {offence_code} needs a victim aged {youngest} or over"
    if oldest is not None and band_low > oldest:
        return f"offence {offence_code} needs a victim aged {oldest} or under"
    return None


_I = FIELD_INDEX
_DATE_ORDER_RULES: Final = (
    # (earlier field, later field, field reported, message); checked when both are present.
    ("offence_date", "reported_date", "offence_date", "offence_date is after reported_date"),
    ("offence_date", "recorded_date", "offence_date", "offence_date is after recorded_date"),
    (
        "offence_date",
        "suspect_identified_date",
        "suspect_identified_date",
        "suspect_identified_date is before offence_date",
    ),
    (
        "recorded_date",
        "cps_referral_date",
        "cps_referral_date",
        "cps_referral_date is before recorded_date",
    ),
    ("recorded_date", "outcome_date", "outcome_date", "outcome_date is before recorded_date"),
    (
        "victim_device_seized_date",
        "victim_device_returned_date",
        "victim_device_returned_date",
        "victim_device_returned_date is before victim_device_seized_date",
    ),
)


class RecordValidator:
    """Validates the rows of one submission (it remembers crime_refs to catch duplicates)."""

    def __init__(self, *, today: dt.date) -> None:
        self.today = today
        self._seen_refs: dict[str, int] = {}
        self._plan = tuple(
            (i, spec.name, spec.required, spec.default, _CONVERTERS[spec.kind](spec))
            for i, spec in enumerate(FIELDS)
        )
        self._date_rules = tuple(
            (_I[a], _I[b], field, message) for a, b, field, message in _DATE_ORDER_RULES
        )

    def validate(
        self, row: int, raw: Mapping[str, str | None]
    ) -> tuple[Record | None, list[Issue]]:
        """Typed record (None if any error) and every issue found in this row."""
        issues: list[Issue] = []
        values: list[RecordValue] = [None] * len(FIELD_NAMES)
        for index, name, required, default, convert in self._plan:
            text = raw.get(name)
            if text is not None:
                text = text.strip()
            if not text:
                if required:
                    issues.append(Issue(row, name, Code.REQUIRED, f"{name} is required."))
                elif default is not None:
                    values[index] = default
                continue
            try:
                values[index] = convert(text)
            except _InvalidError as invalid:
                issues.append(Issue(row, name, invalid.code, invalid.message))
        if len(raw) > len(FIELD_NAMES) or any(key not in _I for key in raw):
            issues.extend(
                Issue(
                    row, key, Code.UNKNOWN_COLUMN, f"'{key}' is not a field of Record Standard v1."
                )
                for key in raw
                if key not in _I
            )
        self._cross_field(row, values, issues)
        if issues and any(i.severity is Severity.ERROR for i in issues):
            return None, issues
        return tuple(values), issues

    def _cross_field(self, row: int, v: list[RecordValue], issues: list[Issue]) -> None:
        recorded = v[_I["recorded_date"]]
        if isinstance(recorded, dt.date) and not (EARLIEST_RECORDED_DATE <= recorded <= self.today):
            issues.append(
                Issue(
                    row,
                    "recorded_date",
                    Code.DATE_OUT_OF_RANGE,
                    f"recorded_date {recorded} is outside 2000-01-01 to {self.today}.",
                )
            )
        for field in (
            "reported_date",
            "offence_date",
            "suspect_identified_date",
            "cps_referral_date",
            "outcome_date",
            "victim_device_seized_date",
            "victim_device_returned_date",
        ):
            value = v[_I[field]]
            if isinstance(value, dt.date) and value > self.today:
                issues.append(
                    Issue(row, field, Code.DATE_OUT_OF_RANGE, f"{field} {value} is in the future.")
                )
        for earlier_i, later_i, field, message in self._date_rules:
            earlier, later = v[earlier_i], v[later_i]
            if isinstance(earlier, dt.date) and isinstance(later, dt.date) and earlier > later:
                issues.append(Issue(row, field, Code.DATE_ORDER, f"{message}."))
        outcome, outcome_date = v[_I["outcome_type"]], v[_I["outcome_date"]]
        if outcome is None and outcome_date is not None:
            issues.append(
                Issue(
                    row,
                    "outcome_date",
                    Code.OUTCOME_DATE_WITHOUT_OUTCOME,
                    "outcome_date is given but outcome_type is empty (open); "
                    "remove the date or give the outcome.",
                )
            )
        elif (
            outcome is not None
            and outcome_date is None
            and not any(i.field == "outcome_date" for i in issues)
        ):
            issues.append(
                Issue(
                    row,
                    "outcome_date",
                    Code.OUTCOME_WITHOUT_DATE,
                    f"outcome_type {outcome} needs an outcome_date.",
                )
            )
        if v[_I["victim_device_returned_date"]] is not None and (
            v[_I["victim_device_seized_date"]] is None
        ):
            issues.append(
                Issue(
                    row,
                    "victim_device_returned_date",
                    Code.RETURNED_WITHOUT_SEIZED,
                    "victim_device_returned_date needs victim_device_seized_date.",
                )
            )
        reported = v[_I["reported_date"]]
        if isinstance(reported, dt.date) and isinstance(recorded, dt.date) and reported > recorded:
            issues.append(
                Issue(
                    row,
                    "reported_date",
                    Code.REPORTED_AFTER_RECORDED,
                    "reported_date is after recorded_date.",
                    Severity.WARNING,
                )
            )
        band, offence = v[_I["victim_age_band"]], v[_I["offence_code"]]
        if isinstance(band, str) and isinstance(offence, str):
            why = _age_contradiction(offence, band)
            if why is not None:
                issues.append(
                    Issue(
                        row,
                        "victim_age_band",
                        Code.AGE_BAND_CONTRADICTS_OFFENCE,
                        f"victim_age_band {band} contradicts the offence code: {why}.",
                        Severity.WARNING,
                    )
                )
        crime_ref = v[_I["crime_ref"]]
        if isinstance(crime_ref, str):
            first = self._seen_refs.setdefault(crime_ref, row)
            if first != row:
                issues.append(
                    Issue(
                        row,
                        "crime_ref",
                        Code.DUPLICATE_IN_SUBMISSION,
                        f"crime_ref {crime_ref} already appears in row {first} of this submission.",
                    )
                )


def validate_rows(
    rows: Iterable[tuple[int, Mapping[str, str | None]]], *, today: dt.date
) -> tuple[list[Record], list[Issue]]:
    """Validate a whole (small) set of rows; convenient for tests and the CLI."""
    validator = RecordValidator(today=today)
    records: list[Record] = []
    issues: list[Issue] = []
    for number, raw in rows:
        record, found = validator.validate(number, raw)
        issues.extend(found)
        if record is not None:
            records.append(record)
    return records, issues
