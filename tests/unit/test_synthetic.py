"""The synthetic data generator: deterministic, standard-conformant, plausibly distributed.

The rule checks here are written independently of ``schema.validation`` (a second opinion);
the schema validator is also run over a sample and must report nothing at all.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import re
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from gateway.demo import synthetic
from gateway.demo.synthetic import Row, generate_files, generate_rows, update_rows, write_csv
from gateway.demo.volumes import (
    ANNUAL_VOLUMES,
    APPROX_POPULATION,
    NATIONAL_ANNUAL_SEXUAL_OFFENCES,
)
from schema import codelists
from schema.record import (
    AGE_BAND_RANGES,
    AGE_BANDS,
    FIELD_INDEX,
    FIELD_NAMES,
    OFFENCE_AGE_RANGES,
    RECORD_STATUSES,
    RELATIONSHIPS,
    VICTIM_SEXES,
)

END = dt.date(2024, 6, 30)
SAMPLE_FORCES = ("metropolitan", "west-yorkshire", "kent")
RAPE = frozenset({"19C", "19F", "19D", "19E", "19G", "19H"})
ADULT_RAPE = frozenset({"19C", "19F"})
CHARGED = frozenset({"1", "1A"})
REF = re.compile(r"^[A-Za-z0-9._:/-]{1,64}$")
DATE_FIELDS = (
    "recorded_date",
    "reported_date",
    "offence_date",
    "suspect_identified_date",
    "cps_referral_date",
    "outcome_date",
    "victim_device_seized_date",
    "victim_device_returned_date",
)
# (earlier, later): when both are given, earlier <= later (Record Standard v1).
DATE_ORDERS = (
    ("offence_date", "reported_date"),
    ("offence_date", "recorded_date"),
    ("offence_date", "suspect_identified_date"),
    ("recorded_date", "cps_referral_date"),
    ("recorded_date", "outcome_date"),
    ("victim_device_seized_date", "victim_device_returned_date"),
    ("reported_date", "recorded_date"),  # otherwise a warning
)


def field(row: Row, name: str) -> str:
    return row[FIELD_INDEX[name]]


@functools.cache
def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def days_between(row: Row, earlier: str, later: str) -> int:
    return (day(field(row, later)) - day(field(row, earlier))).days


def share(rows: Sequence[Row], test: Callable[[Row], bool]) -> float:
    assert rows, "empty sample"
    return sum(1 for r in rows if test(r)) / len(rows)


def band_contradicts(code: str, band: str) -> bool:
    """Own reading of the warning: the band lies wholly outside the code's age range."""
    if code not in OFFENCE_AGE_RANGES or band not in AGE_BAND_RANGES:
        return False
    youngest, oldest = OFFENCE_AGE_RANGES[code]
    low, high = AGE_BAND_RANGES[band]
    too_young = youngest is not None and high is not None and high < youngest
    too_old = oldest is not None and low > oldest
    return too_young or too_old


def violations(row: Row, end: dt.date) -> list[str]:
    """Every Record Standard v1 rule (errors and warnings) that the row breaks."""
    found: list[str] = []
    if len(row) != len(FIELD_NAMES) or not all(isinstance(v, str) for v in row):
        return ["shape"]
    if not REF.match(field(row, "crime_ref")):
        found.append("crime_ref")
    if field(row, "suspect_ref") and not REF.match(field(row, "suspect_ref")):
        found.append("suspect_ref")
    if field(row, "offence_code") not in codelists.offence_codes_by_code():
        found.append("offence_code")
    outcome = field(row, "outcome_type")
    if outcome and outcome not in codelists.outcome_types_by_code():
        found.append("outcome_type")
    if bool(outcome) != bool(field(row, "outcome_date")):
        found.append("outcome_type/outcome_date")
    dates = {}
    for name in DATE_FIELDS:
        if field(row, name):
            value = day(field(row, name))
            dates[name] = value
            if not dt.date(2000, 1, 1) <= value <= end:
                found.append(f"{name} range")
    if "recorded_date" not in dates:
        found.append("recorded_date required")
    found.extend(
        f"{a} > {b}" for a, b in DATE_ORDERS if a in dates and b in dates and dates[a] > dates[b]
    )
    if "victim_device_returned_date" in dates and "victim_device_seized_date" not in dates:
        found.append("returned without seized")
    choices = {
        "victim_age_band": AGE_BANDS,
        "victim_sex": VICTIM_SEXES,
        "relationship": RELATIONSHIPS,
        "record_status": RECORD_STATUSES,
        "isva_referral": ("true", "false"),
        "sarc_referral": ("true", "false"),
    }
    found.extend(
        name for name, allowed in choices.items() if field(row, name) not in (*allowed, "")
    )
    if band_contradicts(field(row, "offence_code"), field(row, "victim_age_band")):
        found.append("age band contradicts offence")
    stamp = dt.datetime.fromisoformat(field(row, "updated_at"))
    if stamp.utcoffset() is None:
        found.append("updated_at offset")
    if stamp.date() > end or any(stamp.date() < d for d in dates.values()):
        found.append("updated_at order")
    return found


@pytest.fixture(scope="module")
def sample() -> list[Row]:
    rows: list[Row] = []
    for force in SAMPLE_FORCES:
        rows.extend(generate_rows(force, years=3, seed=7, end=END))
    return rows


@pytest.fixture(scope="module")
def assigned(sample: list[Row]) -> list[Row]:
    return [r for r in sample if field(r, "outcome_type") and field(r, "record_status") == "active"]


@pytest.fixture(scope="module")
def assigned_last_year(assigned: list[Row]) -> list[Row]:
    start = END - dt.timedelta(days=365)
    return [r for r in assigned if day(field(r, "outcome_date")) > start]


# --- volumes ------------------------------------------------------------------------------


def test_every_force_has_a_volume_and_a_population() -> None:
    codes = {f.code for f in codelists.forces()}
    assert len(codes) == 43
    assert set(ANNUAL_VOLUMES) == codes
    assert set(APPROX_POPULATION) == codes
    assert all(v > 0 for v in ANNUAL_VOLUMES.values())


def test_volumes_are_the_documented_population_split_of_the_national_total() -> None:
    total_population = sum(APPROX_POPULATION.values())
    for code, population in APPROX_POPULATION.items():
        expected = round(NATIONAL_ANNUAL_SEXUAL_OFFENCES * population / total_population)
        assert ANNUAL_VOLUMES[code] == expected, code
    assert sum(ANNUAL_VOLUMES.values()) == pytest.approx(NATIONAL_ANNUAL_SEXUAL_OFFENCES, abs=50)


# --- determinism, independence, volume ----------------------------------------------------


def test_same_seed_gives_byte_identical_csv(tmp_path: Path) -> None:
    first = generate_files(tmp_path / "a", forces=["kent"], years=1, seed=3, end=END)
    second = generate_files(tmp_path / "b", forces=["kent"], years=1, seed=3, end=END)
    assert first[0].read_bytes() == second[0].read_bytes()


def test_different_seed_gives_different_rows() -> None:
    one = list(generate_rows("kent", years=1, seed=3, end=END))
    other = list(generate_rows("kent", years=1, seed=4, end=END))
    assert len(one) == len(other)
    assert sum(a != b for a, b in zip(one, other, strict=True)) > 0.9 * len(one)


def test_a_force_output_does_not_depend_on_which_other_forces_are_generated(
    tmp_path: Path,
) -> None:
    alone = generate_files(tmp_path / "a", forces=["dorset"], years=1, seed=5, end=END)
    together = generate_files(
        tmp_path / "b", forces=["kent", "dorset", "gwent"], years=1, seed=5, end=END
    )
    assert [p.name for p in together] == ["kent.csv", "dorset.csv", "gwent.csv"]
    assert alone[0].read_bytes() == together[1].read_bytes()


def test_row_counts_are_annual_volume_times_years_times_scale() -> None:
    met = list(generate_rows("metropolitan", years=0.5, seed=1, end=END, scale=0.5))
    wales = list(generate_rows("south-wales", years=0.5, seed=1, end=END, scale=0.5))
    assert len(met) == round(ANNUAL_VOLUMES["metropolitan"] * 0.25)
    assert len(wales) == round(ANNUAL_VOLUMES["south-wales"] * 0.25)
    expected_ratio = ANNUAL_VOLUMES["metropolitan"] / ANNUAL_VOLUMES["south-wales"]
    assert len(met) / len(wales) == pytest.approx(expected_ratio, rel=0.01)


def test_recorded_dates_cover_the_years_before_end(sample: list[Row]) -> None:
    recorded = [day(field(r, "recorded_date")) for r in sample]
    assert max(recorded) == END
    assert min(recorded) == END - dt.timedelta(days=round(3 * 365.25) - 1)
    per_year = Counter(d.year for d in recorded)
    assert per_year[2022] == pytest.approx(per_year[2023], rel=0.05)


def test_unknown_force_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown force"):
        generate_rows("atlantis", years=1, seed=1, end=END)


# --- the Record Standard ------------------------------------------------------------------


def test_every_row_satisfies_every_rule_of_the_standard(sample: list[Row]) -> None:
    broken = [(r, v) for r in sample if (v := violations(r, END))]
    assert broken == []


def test_rows_near_the_earliest_allowed_date_stay_within_it() -> None:
    rows = list(generate_rows("essex", years=3, seed=2, end=dt.date(2001, 6, 30)))
    assert rows
    assert [v for r in rows if (v := violations(r, dt.date(2001, 6, 30)))] == []


def test_schema_validator_reports_no_errors_and_no_warnings() -> None:
    validation = pytest.importorskip("schema.validation")
    issues = []
    for force in ("kent", "city-of-london", "dyfed-powys"):
        validator = validation.RecordValidator(today=END)  # one submission per force
        for number, row in enumerate(generate_rows(force, years=2, seed=11, end=END), 1):
            _record, found = validator.validate(number, dict(zip(FIELD_NAMES, row, strict=True)))
            issues.extend(found)
    assert issues == []


def test_crime_refs_are_unique_and_pseudonymised_per_force(sample: list[Row]) -> None:
    refs = [field(r, "crime_ref") for r in sample]
    assert len(set(refs)) == len(refs)
    assert all(re.fullmatch(r"E(01|10|32)-20\d\d-[0-9a-f]{8}", ref) for ref in refs)
    prefixes = {synthetic.ref_prefix(f.code) for f in codelists.forces()}
    assert len(prefixes) == 43


def test_suspect_refs_belong_to_one_force(sample: list[Row]) -> None:
    forces_of_suspect: dict[str, set[str]] = {}
    for r in sample:
        if field(r, "suspect_ref"):
            forces_of_suspect.setdefault(field(r, "suspect_ref"), set()).add(
                field(r, "crime_ref")[:3]
            )
    assert all(len(f) == 1 for f in forces_of_suspect.values())
    assert all(ref[:3] == next(iter(f)) for ref, f in forces_of_suspect.items())


def test_write_csv_writes_a_standard_utf8_csv(tmp_path: Path) -> None:
    rows = list(generate_rows("gwent", years=0.5, seed=1, end=END))
    path = tmp_path / "gwent.csv"
    assert write_csv(path, rows) == len(rows)
    with path.open(encoding="utf-8", newline="") as handle:
        read = list(csv.reader(handle))
    assert tuple(read[0]) == FIELD_NAMES
    assert [tuple(r) for r in read[1:]] == rows


def test_write_csv_output_is_what_csv_writer_writes_even_for_values_needing_quotes(
    tmp_path: Path,
) -> None:
    plain = list(generate_rows("gwent", years=0.2, seed=1, end=END))
    awkward = [(value, *plain[0][1:]) for value in ("a,b", 'say "hi"', "two\nlines", "cr\ronly")]
    for rows in (plain, plain + awkward):
        path = tmp_path / "out.csv"
        write_csv(path, rows)
        expected = io.StringIO(newline="")
        writer = csv.writer(expected)
        writer.writerow(FIELD_NAMES)
        writer.writerows(rows)
        assert path.read_bytes() == expected.getvalue().encode("utf-8")


# --- plausibility -------------------------------------------------------------------------


def test_offence_mix_is_mostly_other_sexual_with_adult_rape_dominating_rape(
    sample: list[Row],
) -> None:
    rape = [r for r in sample if field(r, "offence_code") in RAPE]
    assert 0.34 <= len(rape) / len(sample) <= 0.40
    assert 0.65 <= share(rape, lambda r: field(r, "offence_code") in ADULT_RAPE) <= 0.75
    assert share(sample, lambda r: field(r, "victim_sex") == "F") > 0.8
    codes = {field(r, "offence_code") for r in sample}
    assert codes == set(codelists.offence_codes_by_code())


def test_reports_follow_offences_and_a_quarter_are_historic(sample: list[Row]) -> None:
    both = [r for r in sample if field(r, "offence_date") and field(r, "reported_date")]
    historic = share(both, lambda r: days_between(r, "offence_date", "reported_date") > 365)
    assert 0.20 <= historic <= 0.30
    to_record = [days_between(r, "reported_date", "recorded_date") for r in both]
    assert 0.2 <= sum(d == 0 for d in to_record) / len(to_record) <= 0.4
    assert statistics.median(to_record) <= 2
    assert max(to_record) <= 30


def test_relationship_mix_matches_the_published_pattern(sample: list[Row]) -> None:
    def rel(name: str) -> float:
        return share(sample, lambda r: field(r, "relationship") == name)

    assert 0.25 <= rel("partner_or_ex_partner") <= 0.35
    assert 0.28 <= rel("acquaintance") <= 0.40
    assert 0.07 <= rel("family_member") <= 0.14
    assert 0.07 <= rel("stranger") <= 0.15


def test_most_cases_name_a_suspect_and_some_suspects_repeat(sample: list[Row]) -> None:
    named = [r for r in sample if field(r, "suspect_ref")]
    assert 0.75 <= len(named) / len(sample) <= 0.88
    assert share(named, lambda r: bool(field(r, "suspect_identified_date"))) > 0.85
    cases = Counter(field(r, "suspect_ref") for r in named)
    assert 0.09 <= share(named, lambda r: cases[field(r, "suspect_ref")] >= 2) <= 0.17


def test_assigned_outcome_mix_is_plausible(assigned_last_year: list[Row]) -> None:
    mix = Counter(field(r, "outcome_type") for r in assigned_last_year)
    total = len(assigned_last_year)
    assert 0.20 <= mix["15"] / total <= 0.35
    assert 0.20 <= mix["16"] / total <= 0.35
    assert 0.04 <= mix["14"] / total <= 0.10
    assert 0.05 <= mix["18"] / total <= 0.11
    assert 0 < mix["1A"] < mix["1"]
    small = ("21", "20", "10", "9", "2", "3", "8", "22")
    assert all(0 < mix[code] / total < 0.06 for code in small)


def test_rape_is_charged_less_often_than_other_sexual_offences(
    assigned_last_year: list[Row],
) -> None:
    rape = [r for r in assigned_last_year if field(r, "offence_code") in RAPE]
    other = [r for r in assigned_last_year if field(r, "offence_code") not in RAPE]
    rape_charged = share(rape, lambda r: field(r, "outcome_type") in CHARGED)
    other_charged = share(other, lambda r: field(r, "outcome_type") in CHARGED)
    assert 0.05 <= rape_charged <= 0.08
    assert rape_charged < other_charged <= 0.13


def test_outcomes_take_months_and_rape_charges_about_400_days(
    assigned_last_year: list[Row],
) -> None:
    to_outcome = [days_between(r, "recorded_date", "outcome_date") for r in assigned_last_year]
    assert 150 <= statistics.median(to_outcome) <= 250
    to_charge = [
        days_between(r, "recorded_date", "outcome_date")
        for r in assigned_last_year
        if field(r, "offence_code") in RAPE and field(r, "outcome_type") in CHARGED
    ]
    assert 350 <= statistics.median(to_charge) <= 470  # Home Office: 381-467 days


def test_recent_cases_are_mostly_open_and_old_ones_mostly_closed(sample: list[Row]) -> None:
    active = [r for r in sample if field(r, "record_status") == "active"]

    def open_share(low: int, high: int) -> float:
        cohort = [r for r in active if low <= (END - day(field(r, "recorded_date"))).days < high]
        return share(cohort, lambda r: not field(r, "outcome_type"))

    assert open_share(0, 90) > 0.8
    assert open_share(730, 1100) < 0.15


def test_cps_referrals_come_before_outcomes_and_every_charge(sample: list[Row]) -> None:
    assert 0.13 <= share(sample, lambda r: bool(field(r, "cps_referral_date"))) <= 0.20
    charged = [r for r in sample if field(r, "outcome_type") in CHARGED]
    assert all(field(r, "cps_referral_date") for r in charged)
    referred_and_closed = [
        r for r in sample if field(r, "cps_referral_date") and field(r, "outcome_date")
    ]
    assert all(
        field(r, "cps_referral_date") <= field(r, "outcome_date") for r in referred_and_closed
    )


def test_referral_flags_are_mostly_given(sample: list[Row]) -> None:
    for name in ("isva_referral", "sarc_referral"):
        values = Counter(field(r, name) for r in sample)
        assert 0.1 <= values[""] / len(sample) <= 0.25
        assert values["true"] > 0
        assert values["false"] > 0


def test_a_third_of_rape_victims_devices_are_seized_and_most_returned(
    sample: list[Row],
) -> None:
    rape = [r for r in sample if field(r, "offence_code") in RAPE]
    assert 0.25 <= share(rape, lambda r: bool(field(r, "victim_device_seized_date"))) <= 0.35
    seized = [r for r in sample if field(r, "victim_device_seized_date")]
    returned = [r for r in seized if field(r, "victim_device_returned_date")]
    assert 0.7 <= len(returned) / len(seized) <= 0.95
    days = [
        days_between(r, "victim_device_seized_date", "victim_device_returned_date")
        for r in returned
    ]
    assert min(days) == 0
    assert max(days) <= 240
    assert 0.15 <= sum(d <= 1 for d in days) / len(days) <= 0.4


def test_a_few_records_are_cancelled_or_transferred(sample: list[Row]) -> None:
    statuses = Counter(field(r, "record_status") for r in sample)
    assert 0.01 <= (statuses["cancelled"] + statuses["transferred"]) / len(sample) <= 0.025
    assert statuses["cancelled"] > statuses["transferred"] > 0


# --- updates ------------------------------------------------------------------------------


def test_updates_move_cases_forward_with_later_timestamps() -> None:
    rows = list(generate_rows("sussex", years=2, seed=9, end=END))
    later = END + dt.timedelta(days=60)
    updated = list(update_rows(rows, seed=1, fraction=0.2, end=later))
    assert updated == list(update_rows(rows, seed=1, fraction=0.2, end=later))
    assert 0.15 * len(rows) <= len(updated) <= 0.25 * len(rows)
    before = {field(r, "crime_ref"): r for r in rows}
    newly_assigned = newly_named = 0
    for row in updated:
        old = before[field(row, "crime_ref")]
        assert violations(row, later) == []
        assert field(row, "updated_at") > field(old, "updated_at")
        assert row[:3] == old[:3]  # crime_ref, offence_code, recorded_date never change
        newly_assigned += bool(field(row, "outcome_type")) and not field(old, "outcome_type")
        newly_named += bool(field(row, "suspect_ref")) and not field(old, "suspect_ref")
        if field(row, "outcome_type") in CHARGED:
            assert field(row, "cps_referral_date")
    assert newly_assigned > 0.05 * len(updated)
    assert newly_named > 0


def test_updates_skip_rows_that_cannot_move_forward() -> None:
    rows = list(generate_rows("gwent", years=1, seed=9, end=END))
    assert list(update_rows(rows, seed=1, fraction=1.0, end=END - dt.timedelta(days=400))) == []
    with pytest.raises(ValueError, match="fraction"):
        update_rows(rows, seed=1, fraction=1.5, end=END)
