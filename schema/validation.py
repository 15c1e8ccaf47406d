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
import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import CodeType
from typing import Final, NamedTuple

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
    code: str  # a Code, or a format's row-level code (adapters.errors.FormatError)
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

# A converter returns the typed value, or raises _InvalidError with the code and message,
# or _EmptyError when the text is only white space (treated as absent).


class _InvalidError(Exception):
    def __init__(self, code: Code, message: str) -> None:
        self.code = code
        self.message = message


class _EmptyError(Exception):
    pass


Converter = Callable[[str], RecordValue]


class _FieldConverter(NamedTuple):
    """A field's converter, and what lets the generated validator skip calling it."""

    convert: Converter
    # Text converted before, to its value: one dict hit instead of a call (codes repeat).
    known: Mapping[str, RecordValue] | None = None
    # ``fullmatch`` of text that is its own value (references): no call when it matches.
    pattern: Callable[[str], object] | None = None


def normalise_offence_code(value: str) -> str:
    return value.strip().upper().lstrip("0")


def normalise_outcome_type(value: str) -> str | None:
    code = value.strip().upper().lstrip("0")
    return code or None  # "0" and "" both mean open


def _stripped(value: str) -> str:
    text = value.strip()
    if not text:
        raise _EmptyError
    return text


def _ref(spec: FieldSpec) -> _FieldConverter:
    match = _REF_RE.fullmatch

    def convert(value: str) -> RecordValue:
        if match(value) is not None:
            return value
        text = _stripped(value)
        if match(text) is not None:
            return text
        if len(text) > REF_MAX_LENGTH:
            raise _InvalidError(
                Code.INVALID_REF, f"{spec.name} is {len(text)} characters; at most 64."
            )
        raise _InvalidError(
            Code.INVALID_REF, f"{spec.name} may contain only A-Z a-z 0-9 . _ : / -."
        )

    return _FieldConverter(convert, pattern=match)


def _lookup(
    table: dict[str, RecordValue],
    normalise: Callable[[str], str | None],
    fail: Callable[[str], _InvalidError],
) -> _FieldConverter:
    """A converter that is one dict hit for values seen before (codes repeat endlessly)."""

    def convert(value: str) -> RecordValue:
        try:
            return table[value]
        except KeyError:
            pass
        normal = normalise(_stripped(value))
        if normal is not None and normal not in table:
            raise fail(value)
        table[value] = normal
        return normal

    return _FieldConverter(convert, known=table)


def _offence_code(spec: FieldSpec) -> _FieldConverter:
    table: dict[str, RecordValue] = {c: c for c in codelists.offence_codes_by_code()}
    return _lookup(
        table,
        normalise_offence_code,
        lambda v: _InvalidError(
            Code.UNKNOWN_CODE, f"'{v}' is not a Home Office sexual offence code."
        ),
    )


def _outcome_type(spec: FieldSpec) -> _FieldConverter:
    table: dict[str, RecordValue] = {c: c for c in codelists.outcome_types_by_code()}
    table["0"] = None
    return _lookup(
        table,
        normalise_outcome_type,
        lambda v: _InvalidError(Code.UNKNOWN_CODE, f"'{v}' is not a Home Office outcome type."),
    )


def _choice(spec: FieldSpec) -> _FieldConverter:
    table: dict[str, RecordValue] = {c: c for c in spec.choices}
    listed = ", ".join(spec.choices)
    return _lookup(
        table,
        lambda v: v if v in table else "",
        lambda v: _InvalidError(Code.INVALID_CHOICE, f"{spec.name} '{v}' is not one of: {listed}."),
    )


def _boolean(spec: FieldSpec) -> _FieldConverter:
    table: dict[str, RecordValue] = {"true": True, "false": False}
    return _lookup(
        table,
        lambda v: v.lower() if v.lower() in table else "",
        lambda v: _InvalidError(
            Code.INVALID_BOOLEAN, f"{spec.name} must be true or false, not '{v}'."
        ),
    )


# Dates repeat (a few thousand distinct days in any file): parse each once per process.
_DATE_CACHE: dict[str, dt.date] = {}
_DATE_CACHE_MAX: Final = 100_000


def _date(spec: FieldSpec) -> _FieldConverter:
    cache = _DATE_CACHE

    def convert(value: str) -> RecordValue:
        try:
            return cache[value]
        except KeyError:
            pass
        text = _stripped(value)
        try:
            if len(text) != 10:
                raise ValueError
            parsed = dt.date.fromisoformat(text)
        except ValueError:
            raise _InvalidError(
                Code.INVALID_DATE, f"{spec.name} '{value}' is not a date in YYYY-MM-DD form."
            ) from None
        if len(cache) < _DATE_CACHE_MAX:
            cache[value] = parsed
        return parsed

    return _FieldConverter(convert, known=cache)


def _datetime(spec: FieldSpec) -> _FieldConverter:
    parse, utc = dt.datetime.fromisoformat, dt.UTC

    def convert(value: str) -> RecordValue:
        try:
            parsed = parse(value)  # text without surrounding white space: no strip needed
        except ValueError:
            try:
                parsed = parse(_stripped(value))
            except ValueError:
                raise _InvalidError(
                    Code.INVALID_DATETIME, f"{spec.name} '{value}' is not an ISO 8601 date-time."
                ) from None
        if parsed.tzinfo is None:
            raise _InvalidError(
                Code.INVALID_DATETIME, f"{spec.name} '{value}' has no UTC offset (e.g. +00:00)."
            )
        return parsed.astimezone(utc)

    return _FieldConverter(convert)


_CONVERTERS: Final[dict[Kind, Callable[[FieldSpec], _FieldConverter]]] = {
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


_FIELD_SET: Final = frozenset(FIELD_NAMES)
_RECORDED = _I["recorded_date"]
_REPORTED = _I["reported_date"]
_OUTCOME = _I["outcome_type"]
_OUTCOME_DATE = _I["outcome_date"]
_SEIZED = _I["victim_device_seized_date"]
_RETURNED = _I["victim_device_returned_date"]
_AGE_BAND = _I["victim_age_band"]
_OFFENCE = _I["offence_code"]
_CRIME_REF = _I["crime_ref"]
_DATE_POSITIONS: Final = tuple(i for i, f in enumerate(FIELDS) if f.kind is Kind.DATE)


# Offence code -> the age bands that contradict it (the warning ``_cross_field`` gives).
_CONTRADICTING_BANDS: Final = {
    code: frozenset(band for band in AGE_BAND_RANGES if _age_contradiction(code, band))
    for code in OFFENCE_AGE_RANGES
}
_NO_BANDS: Final = frozenset[str]()

RowValidator = Callable[[int, object], tuple[Record | None, list[Issue]]]


def _field_source(i: int, name: str, required: bool, field: _FieldConverter) -> list[str]:
    """The generated lines that convert field ``i`` from the text ``t`` into ``v{i}``."""
    missing = (
        f"issues.append(Issue(row, {name!r}, Code.REQUIRED, {name + ' is required.'!r}))"
        if required
        else "pass"
    )
    if field.known is not None:
        body = [
            "            try:",
            f"                v{i} = known_{i}[t]",
            "            except KeyError:",
            f"                v{i} = convert_{i}(t)",
        ]
    elif field.pattern is not None:
        body = [f"            v{i} = t if match_{i}(t) is not None else convert_{i}(t)"]
    else:
        body = [f"            v{i} = convert_{i}(t)"]
    return [
        "    if t:",
        "        try:",
        *body,
        "        except _InvalidError as e:",
        f"            v{i} = None",
        f"            issues.append(Issue(row, {name!r}, e.code, e.message))",
        "        except _EmptyError:",
        f"            v{i} = default_{i}",
        f"            {missing}",
        "    else:",
        f"        v{i} = default_{i}",
        f"        {missing}",
    ]


def _clean_row_test() -> str:
    """A condition on ``v0``... that holds exactly when ``_cross_field`` would add no issue.

    Only used for a row whose fields all converted without an issue (so the conditions
    that depend on earlier issues cannot apply); the duplicate check is made separately.
    """
    v = [f"v{i}" for i in range(len(FIELDS))]
    recorded = v[_RECORDED]
    terms = [f"({recorded} is None or earliest <= {recorded} <= today)"]
    terms += [f"({v[i]} is None or {v[i]} <= today)" for i in _DATE_POSITIONS if i != _RECORDED]
    for earlier, later, _field, _message in _DATE_ORDER_RULES:
        a, b = v[_I[earlier]], v[_I[later]]
        terms.append(f"({a} is None or {b} is None or {a} <= {b})")
    outcome, outcome_date = v[_OUTCOME], v[_OUTCOME_DATE]
    terms.append(f"(({outcome} is None) is ({outcome_date} is None))")
    terms.append(f"({v[_RETURNED]} is None or {v[_SEIZED]} is not None)")
    reported = v[_REPORTED]
    terms.append(f"({reported} is None or {recorded} is None or {reported} <= {recorded})")
    band = v[_AGE_BAND]
    terms.append(f"({band} is None or {band} not in contradicting.get({v[_OFFENCE]}, no_bands))")
    return " and ".join(terms)


def _compile_validator(
    plan: tuple[tuple[str, bool, str | None, _FieldConverter], ...],
    *,
    today: dt.date,
    seen: dict[str, int],
    finish: Callable[
        [int, object, list[RecordValue], list[Issue]], tuple[Record | None, list[Issue]]
    ],
    reported: frozenset[str] | None,
    positions: Sequence[int | None] | None = None,
) -> RowValidator:
    """Straight-line code validating one row, generated from ``FIELDS``.

    Ingestion validates every row of every push, so the per-field loop is unrolled (one
    local per field, no per-field tuple unpacking), a value converted before is one dict
    hit, and a clean row -- no issue in any field, no cross-field rule broken, not a
    duplicate -- returns straight from here. Any other row goes to ``finish`` with its
    values and issues, which runs the plain rules (``RecordValidator._finish``), so the
    issues and their order are exactly the rules', whichever path a row takes.

    Rows are dicts (``raw.get(name)``) or, with ``positions`` (each field's column in the
    header, None if absent), lists in header order; then ``reported`` is None, since a
    list cannot hold a column its header does not name.
    """
    lines = ["def validate(row, raw):"]
    if positions is None:
        lines.append("    get = raw.get")
    lines.append("    issues = []")
    names = []
    for i, (name, required, _default, field) in enumerate(plan):
        if positions is None:
            lines.append(f"    t = get({name!r})")
        elif positions[i] is None:
            lines.append("    t = None")
        else:
            lines.append(f"    t = raw[{positions[i]}]")
        lines += _field_source(i, name, required, field)
        names.append(f"v{i}")
    values = ", ".join(names)
    clean = "not issues" if reported is None else "not issues and reported_superset(raw)"
    crime_ref = names[_CRIME_REF]
    lines += [
        f"    if {clean} and {_clean_row_test()}:",
        f"        if {crime_ref} is None or seen({crime_ref}, row) == row:",
        f"            return ({values},), issues",
        f"    return finish(row, raw, [{values}], issues)",
    ]
    namespace: dict[str, object] = {
        "Issue": Issue,
        "Code": Code,
        "_InvalidError": _InvalidError,
        "_EmptyError": _EmptyError,
        "today": today,
        "earliest": EARLIEST_RECORDED_DATE,
        "contradicting": _CONTRADICTING_BANDS,
        "no_bands": _NO_BANDS,
        "seen": seen.setdefault,
        "finish": finish,
        "reported_superset": reported.issuperset if reported is not None else None,
    }
    for i, (_name, _required, default, field) in enumerate(plan):
        namespace[f"convert_{i}"] = field.convert
        namespace[f"known_{i}"] = field.known
        namespace[f"match_{i}"] = field.pattern
        namespace[f"default_{i}"] = default
    exec(_compiled("\n".join(lines)), namespace)  # noqa: S102
    return namespace["validate"]  # type: ignore[return-value]


@functools.lru_cache(maxsize=64)
def _compiled(source: str) -> CodeType:
    """The validator's code object: compiling is most of building a validator, and every
    submission builds one (the source differs only by the file's column order)."""
    return compile(source, "<record-validator>", "exec")


class RecordValidator:
    """Validates the rows of one submission (it remembers crime_refs to catch duplicates).

    ``validate`` takes a row as a mapping of column name to text; ``validate_list`` (when
    ``takes_lists``) a row as a list of texts in the order of the ``header`` given here,
    which spares a format that reads lists (CSV) building a dict per row. Both give the
    same record and issues for the same row.
    """

    def __init__(self, *, today: dt.date, header: Sequence[str] = ()) -> None:
        self.today = today
        # Header columns outside the standard are reported once, by ``check_columns``;
        # only keys a row adds beyond its header (JSON objects) are reported per row.
        self._reported = _FIELD_SET | frozenset(header)
        self._seen_refs: dict[str, int] = {}
        self._plan = tuple(
            (spec.name, spec.required, spec.default, _CONVERTERS[spec.kind](spec))
            for spec in FIELDS
        )
        self._date_rules = tuple(
            (_I[a], _I[b], field, message) for a, b, field, message in _DATE_ORDER_RULES
        )
        self._validate = _compile_validator(
            self._plan,
            today=today,
            seen=self._seen_refs,
            finish=self._finish,
            reported=self._reported,
        )
        columns = list(header)
        self.takes_lists = bool(columns) and len(set(columns)) == len(columns)
        self._validate_list: RowValidator | None = None
        if self.takes_lists:
            positions = [columns.index(n) if n in columns else None for n in FIELD_NAMES]
            self._validate_list = _compile_validator(
                self._plan,
                today=today,
                seen=self._seen_refs,
                finish=self._finish,
                reported=None,
                positions=positions,
            )

    def validate(
        self, row: int, raw: Mapping[str, str | None]
    ) -> tuple[Record | None, list[Issue]]:
        """Typed record (None if any error) and every issue found in this row."""
        return self._validate(row, raw)

    def validate_list(self, row: int, values: Sequence[str]) -> tuple[Record | None, list[Issue]]:
        """``validate`` for a row given as its texts in header order (needs ``takes_lists``)."""
        if self._validate_list is None:
            raise ValueError("this validator was given no header, or one with a repeated name")
        return self._validate_list(row, values)

    def _finish(
        self, row: int, raw: object, values: list[RecordValue], issues: list[Issue]
    ) -> tuple[Record | None, list[Issue]]:
        """The rules, in order, for a row that is not plainly clean (see _compile_validator)."""
        if isinstance(raw, Mapping) and not self._reported.issuperset(raw):
            issues.extend(
                Issue(
                    row, key, Code.UNKNOWN_COLUMN, f"'{key}' is not a field of Record Standard v1."
                )
                for key in raw
                if key not in self._reported
            )
        self._cross_field(row, values, issues)
        if issues and any(i.severity is Severity.ERROR for i in issues):
            return None, issues
        return tuple(values), issues

    def _cross_field(self, row: int, v: list[RecordValue], issues: list[Issue]) -> None:
        today = self.today
        recorded = v[_RECORDED]
        if recorded is not None and not (EARLIEST_RECORDED_DATE <= recorded <= today):  # type: ignore[operator]
            issues.append(
                Issue(
                    row,
                    "recorded_date",
                    Code.DATE_OUT_OF_RANGE,
                    f"recorded_date {recorded} is outside 2000-01-01 to {today}.",
                )
            )
        for i in _DATE_POSITIONS:
            value = v[i]
            if value is not None and i != _RECORDED and value > today:  # type: ignore[operator]
                issues.append(
                    Issue(
                        row,
                        FIELD_NAMES[i],
                        Code.DATE_OUT_OF_RANGE,
                        f"{FIELD_NAMES[i]} {value} is in the future.",
                    )
                )
        for earlier_i, later_i, field, message in self._date_rules:
            earlier, later = v[earlier_i], v[later_i]
            if earlier is not None and later is not None and earlier > later:  # type: ignore[operator]
                issues.append(Issue(row, field, Code.DATE_ORDER, f"{message}."))
        outcome, outcome_date = v[_OUTCOME], v[_OUTCOME_DATE]
        if outcome is None:
            if outcome_date is not None:
                issues.append(
                    Issue(
                        row,
                        "outcome_date",
                        Code.OUTCOME_DATE_WITHOUT_OUTCOME,
                        "outcome_date is given but outcome_type is empty (open); "
                        "remove the date or give the outcome.",
                    )
                )
        elif outcome_date is None and not any(i.field == "outcome_date" for i in issues):
            issues.append(
                Issue(
                    row,
                    "outcome_date",
                    Code.OUTCOME_WITHOUT_DATE,
                    f"outcome_type {outcome} needs an outcome_date.",
                )
            )
        if v[_RETURNED] is not None and v[_SEIZED] is None:
            issues.append(
                Issue(
                    row,
                    "victim_device_returned_date",
                    Code.RETURNED_WITHOUT_SEIZED,
                    "victim_device_returned_date needs victim_device_seized_date.",
                )
            )
        reported = v[_REPORTED]
        if reported is not None and recorded is not None and reported > recorded:  # type: ignore[operator]
            issues.append(
                Issue(
                    row,
                    "reported_date",
                    Code.REPORTED_AFTER_RECORDED,
                    "reported_date is after recorded_date.",
                    Severity.WARNING,
                )
            )
        band = v[_AGE_BAND]
        if band is not None and band != "unknown":
            why = _age_contradiction(str(v[_OFFENCE]), str(band))
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
        crime_ref = v[_CRIME_REF]
        if crime_ref is not None:
            first = self._seen_refs.setdefault(crime_ref, row)  # type: ignore[arg-type]
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
