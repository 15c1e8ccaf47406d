"""mapped-csv and mapping files: a force's own export turned into standard raw rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from adapters.errors import FormatError, MappingError
from adapters.formats import Mapping, RawRow, get_format, load_mapping
from schema.record import FIELD_NAMES
from schema.validation import check_columns, validate_rows

EXAMPLES = Path(__file__).resolve().parents[3] / "docs" / "examples"


def translate(mapping: Mapping, data: bytes) -> list[tuple[int, RawRow]]:
    return list(get_format("mapped-csv", mapping=mapping).parse([data]))


def example(force: str) -> tuple[tuple[str, ...], list[tuple[int, RawRow]]]:
    mapping = load_mapping(EXAMPLES / "mappings" / f"{force}.toml")
    data = (EXAMPLES / f"{force}-export.csv").read_bytes()
    parsed = get_format("mapped-csv", mapping=mapping).parse([data])
    return parsed.header, list(parsed)


def test_west_yorkshire_example_translates_to_standard_rows() -> None:
    header, rows = example("west-yorkshire")
    assert header == FIELD_NAMES
    assert len(rows) == 12
    assert all(row.problems == () for _, row in rows)
    by_ref = {row["crime_ref"]: row for _, row in rows}
    first = by_ref["WY/24/000101"]
    assert first["recorded_date"] == "2024-04-03"
    assert first["outcome_type"] == "1"
    assert first["isva_referral"] == "true"
    assert first["record_status"] == "active"
    assert first["updated_at"] == "2024-09-02T14:10:00+01:00"
    assert by_ref["WY/24/000102"]["outcome_type"] == "16"
    assert by_ref["WY/24/000102"]["relationship"] == "family_member"
    assert by_ref["WY/24/000103"]["outcome_type"] is None
    assert by_ref["WY/24/000104"]["updated_at"] == "2025-01-20T16:45:00+00:00"
    assert by_ref["WY/25/000012"]["victim_age_band"] == "0-12"
    assert by_ref["WY/25/000013"]["outcome_type"] == "14"
    assert by_ref["WY/25/000014"]["isva_referral"] is None
    assert by_ref["WY/25/000014"]["victim_age_band"] == "65+"
    # 01:30 on 26 October 2025 happens twice in London: the first (summer time) is taken.
    assert by_ref["WY/25/000016"]["updated_at"] == "2025-10-26T01:30:00+01:00"
    assert by_ref["WY/25/000018"]["record_status"] == "transferred"


def test_dyfed_powys_example_translates_to_standard_rows() -> None:
    header, rows = example("dyfed-powys")
    assert header == FIELD_NAMES
    assert len(rows) == 10
    first = rows[0][1]
    assert dict(first) == {
        "crime_ref": "DP-2024-1001", "offence_code": "19C", "recorded_date": "2024-04-12",
        "reported_date": "2024-04-11", "offence_date": "2024-04-10", "victim_age_band": "25-34",
        "victim_sex": "F", "relationship": "acquaintance", "suspect_ref": "DPS-301",
        "suspect_identified_date": "2024-04-13", "cps_referral_date": "2024-07-01",
        "outcome_type": "1", "outcome_date": "2024-08-20", "isva_referral": "true",
        "sarc_referral": "true", "victim_device_seized_date": "2024-04-12",
        "victim_device_returned_date": "2024-04-13", "record_status": "active",
        "updated_at": "2024-08-20T10:15:00+01:00",
    }  # fmt: skip
    statuses = [row["record_status"] for _, row in rows]
    assert statuses.count("cancelled") == 1
    assert statuses.count("transferred") == 1
    assert rows[4][1]["offence_date"] == "2015-12-12"
    assert rows[4][1]["outcome_type"] is None


@pytest.mark.parametrize("force", ["west-yorkshire", "dyfed-powys"])
def test_example_exports_are_valid_standard_records(force: str) -> None:
    header, rows = example(force)
    assert check_columns(header) == []
    records, issues = validate_rows(rows, today=dt.date(2026, 1, 1))
    assert issues == []
    assert len(records) == len(rows)


def test_standard_examples_hold_the_same_valid_records_in_every_format() -> None:
    parsed = {
        ext: [(n, dict(r)) for n, r in get_format(f"standard-{ext}").parse(
            [(EXAMPLES / f"standard.{ext}").read_bytes()]
        )]
        for ext in ("csv", "json", "ndjson")
    }  # fmt: skip
    assert parsed["csv"] == parsed["json"] == parsed["ndjson"]
    records, issues = validate_rows(parsed["csv"], today=dt.date(2026, 1, 1))
    assert (len(records), issues) == (5, [])


SMALL = """
date_format = "%d/%m/%Y"
[columns]
Ref = "crime_ref"
When = "recorded_date"
Result = "outcome_type"
[values.outcome_type]
strict = true
[values.outcome_type.map]
"Charged" = "1"
"Open" = ""
"""


def test_a_date_not_in_the_force_pattern_is_a_row_problem_and_the_value_is_kept() -> None:
    rows = translate(load_mapping(SMALL), b"Ref,When,Result\nA,2024-01-31,Charged\nB,31/01/2024,\n")
    bad, good = (row for _, row in rows)
    [problem] = bad.problems
    assert (problem.code, problem.row, problem.field) == ("invalid_date", 1, "recorded_date")
    assert "column When" in problem.message
    assert "dd/mm/yyyy (%d/%m/%Y)" in problem.message
    assert bad["recorded_date"] == "2024-01-31"
    assert bad["outcome_type"] == "1"
    assert (good.problems, good["recorded_date"]) == ((), "2024-01-31")


def test_an_impossible_date_is_a_row_problem() -> None:
    [(_, row)] = translate(load_mapping(SMALL), b"Ref,When\nA,30/02/2024\n")
    assert [p.code for p in row.problems] == ["invalid_date"]


def test_a_strict_value_map_refuses_an_unknown_local_value() -> None:
    [(_, row)] = translate(load_mapping(SMALL), b"Ref,When,Result\nA,01/01/2024, Bailed \n")
    [problem] = row.problems
    assert (problem.code, problem.field) == ("unmapped_value", "outcome_type")
    assert "'Bailed'" in problem.message
    assert row["outcome_type"] == " Bailed "


def test_a_lenient_value_map_passes_unknown_values_through_for_the_validator() -> None:
    mapping = load_mapping(SMALL.replace("strict = true", "strict = false"))
    [(_, row)] = translate(mapping, b"Ref,When,Result\nA,01/01/2024,Bailed\n")
    assert (row.problems, row["outcome_type"]) == ((), "Bailed")


def test_mapped_values_are_matched_trimmed_and_optionally_ignoring_case() -> None:
    mapping = load_mapping(
        '[values.victim_sex]\nignore_case = true\n[values.victim_sex.map]\nFemale = "F"\n'
    )
    [(_, row)] = translate(mapping, b"crime_ref,victim_sex\nA,  fEMALE \n")
    assert row["victim_sex"] == "F"


def test_ignored_columns_are_dropped_and_unmentioned_ones_pass_through() -> None:
    mapping = load_mapping('ignore = ["Officer"]\n[columns]\nRef = "crime_ref"\n')
    parsed = get_format("mapped-csv", mapping=mapping).parse(
        [b"Ref,Officer,Surname,offence_code\nA,PC 1,Smith,19C\n"]
    )
    assert parsed.header == ("crime_ref", "Surname", "offence_code")
    assert "personal_data_column" in [c.code for c in check_columns(parsed.header)]
    [(_, row)] = parsed
    assert dict(row) == {"crime_ref": "A", "Surname": "Smith", "offence_code": "19C"}


def test_a_row_with_the_wrong_field_count_keeps_its_problem_untranslated() -> None:
    [(_, row)] = translate(load_mapping(SMALL), b"Ref,When,Result\nA,notadate\n")
    assert [p.code for p in row.problems] == ["wrong_field_count"]


def test_updated_at_with_an_offset_keeps_it_and_without_one_takes_the_zone() -> None:
    mapping = load_mapping('datetime_format = "%Y%m%d %H%M%z"\n')
    [(_, row)] = translate(mapping, b"crime_ref,updated_at\nA,20240701 0930+0200\n")
    assert row["updated_at"] == "2024-07-01T09:30:00+02:00"
    iso = load_mapping('timezone = "Europe/London"\n')
    rows = translate(iso, b"crime_ref,updated_at\nA,2024-07-01T09:30\nB,2024-01-01T09:30Z\nC,x\n")
    assert [r["updated_at"] for _, r in rows] == [
        "2024-07-01T09:30:00+01:00",
        "2024-01-01T09:30:00+00:00",
        "x",
    ]
    assert [p.code for p in rows[2][1].problems] == ["invalid_datetime"]


def test_a_comma_in_a_semicolon_file_is_data() -> None:
    mapping = load_mapping('delimiter = ";"\n')
    [(_, row)] = translate(mapping, b"crime_ref;offence_code\nA,1;19C\n")
    assert dict(row) == {"crime_ref": "A,1", "offence_code": "19C"}


def test_the_loaded_mapping_exposes_its_settings() -> None:
    mapping = load_mapping(EXAMPLES / "mappings" / "west-yorkshire.toml")
    assert mapping.force == "west-yorkshire"
    assert mapping.columns["CrimeNo"] == "crime_ref"
    assert mapping.ignore == {"OIC", "District"}
    assert mapping.date_formats["offence_date"] == "%d/%m/%Y"
    assert mapping.timezone == ZoneInfo("Europe/London")
    assert mapping.values["outcome_type"].table["Under investigation"] is None
    assert mapping.values["outcome_type"].strict


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ("colums = {}", "colums", "did you mean 'columns'"),
        ('[columns]\nCrimeNo = "crime_reff"', "columns.CrimeNo", "did you mean 'crime_ref'"),
        ('[columns]\nA = "crime_ref"\nB = "crime_ref"', "columns.B", "already mapped"),
        ('ignore = ["A"]\n[columns]\nA = "crime_ref"', "columns.A", "also listed in ignore"),
        ("[columns]\nA = 3", "columns.A", "must be the name"),
        ('[columns]\nA = "crime_ref"\n" A" = "suspect_ref"', 'columns." A"', "mapped twice"),
        ('delimiter = ""', "delimiter", "one character"),
        ('ignore = ["A", ""]', "ignore", "list of column names"),
        ('date_format = "%d/%m"', "date_format", "whole date"),
        ('date_format = "%d/%Q/%Y"', "date_format", "not a usable strptime pattern"),
        ('date_format = "%m/%m/%Y"', "date_format", "not a usable strptime pattern"),
        ('[date_formats]\noutcome_type = "%Y"', "date_formats.outcome_type", "not a date field"),
        ('[date_formats]\noffence_dat = "%Y%m%d"', "date_formats.offence_dat", "not a field"),
        ('datetime_format = "%d/%m/%Y %H:%M"', "timezone", "is required"),
        ('datetime_format = "%d/%m/%Y %I:%M"\ntimezone = "UTC"', "datetime_format", "minute"),
        ('timezone = "Europe/Londres"', "timezone", "not a known IANA time zone"),
        ('force = "west-yorks"', "force", "did you mean 'west-yorkshire'"),
        ('delimiter = ";;"', "delimiter", "one character"),
        ("delimiter = '\"'", "delimiter", "one character"),
        ("mapping_version = 2", "mapping_version", "must be 1"),
        (
            '[values.outcome_type.map]\nCharged = "1Z"',
            "values.outcome_type.map.Charged",
            "'1Z' is not a standard outcome_type",
        ),
        (
            '[values.offence_code.map]\n"Rape 16+" = "19X"',
            'values.offence_code.map."Rape 16+"',
            "not a standard offence_code",
        ),
        (
            '[values.victim_age_band.map]\nadult = "18+"',
            "values.victim_age_band.map.adult",
            "not a standard victim_age_band",
        ),
        ('[values.relationship.map]\nex = "partner"', "values.relationship.map.ex", "one of"),
        (
            '[values.isva_referral.map]\nY = "yes"',
            "values.isva_referral.map.Y",
            "one of: false, true",
        ),
        ('[values.crime_ref.map]\nA = "B"', "values.crime_ref", "only to code fields"),
        ('[values.victim_sexx.map]\nA = "F"', "values.victim_sexx", "did you mean 'victim_sex'"),
        (
            '[values.victim_sex]\nstrikt = true\n[values.victim_sex.map]\nA = "F"',
            "values.victim_sex.strikt",
            "unknown key",
        ),
        (
            '[values.victim_sex]\nstrict = "yes"\n[values.victim_sex.map]\nA = "F"',
            "values.victim_sex.strict",
            "true or false",
        ),
        ("[values.victim_sex]\nstrict = true", "values.victim_sex.map", "must be a table"),
        (
            '[values.victim_sex]\nignore_case = true\n[values.victim_sex.map]\nf = "F"\nF = "F"',
            "values.victim_sex.map.F",
            "mapped twice",
        ),
        ('[values.victim_sex.map]\n" " = "F"', 'values.victim_sex.map." "', "empty local value"),
    ],
)
def test_a_wrong_mapping_is_refused_at_load_naming_the_key(text: str, key: str, words: str) -> None:
    with pytest.raises(MappingError) as caught:
        load_mapping(text)
    assert caught.value.key == key
    assert caught.value.message.startswith(f"{key}: ")
    assert words in caught.value.message


def test_a_mapping_that_is_not_toml_is_refused() -> None:
    with pytest.raises(MappingError) as caught:
        load_mapping("columns = [")
    assert caught.value.key is None
    assert "not valid TOML" in caught.value.message


def test_a_missing_mapping_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match=r"cannot read the mapping file nothing\.toml"):
        load_mapping(tmp_path / "nothing.toml")


def test_mapped_csv_needs_a_mapping() -> None:
    with pytest.raises(MappingError):
        get_format("mapped-csv")


def test_mapped_csv_reports_structural_errors_like_standard_csv() -> None:
    with pytest.raises(FormatError) as caught:
        translate(load_mapping(SMALL), b"Ref,When\n")
    assert caught.value.code == "header_only"


def test_source_column_names_are_matched_trimmed() -> None:
    mapping = load_mapping('ignore = ["Officer"]\n[columns]\nRef = "crime_ref"\n')
    parsed = get_format("mapped-csv", mapping=mapping).parse([b" Ref ,Officer \nA,PC 1\n"])
    assert parsed.header == ("crime_ref",)
    assert [dict(r) for _, r in parsed] == [{"crime_ref": "A"}]
