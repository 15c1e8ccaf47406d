"""Indicator Catalogue v1 as data: ids, units, bases, pillars, scopes and breakdowns."""

from __future__ import annotations

import pytest

from schema import codelists
from schema.codelists import OffenceGroup
from schema.errors import CatalogueError
from schema.indicators.catalogue import (
    CATALOGUE,
    Basis,
    Dimension,
    IndicatorId,
    OffenceScope,
    Pillar,
    Unit,
    bucket_of,
    buckets,
    indicator,
    offence_groups,
)

# The standard's table, row by row: id, unit, basis, pillar.
STANDARD_TABLE = [
    ("recorded_offences", "count", "in-period", "volume"),
    ("outcomes_assigned", "count", "in-period", "volume"),
    ("charge_outcome_share", "ratio", "in-period", "suspect-focused"),
    ("charge_rate_cohort", "ratio", "cohort", "suspect-focused"),
    ("victim_withdrawal_share", "ratio", "in-period", "victim-centred"),
    ("evidential_difficulties_share", "ratio", "in-period", "suspect-focused"),
    ("no_suspect_share", "ratio", "in-period", "suspect-focused"),
    ("median_days_to_charge", "days", "in-period", "suspect-focused"),
    ("median_days_to_outcome", "days", "in-period", "victim-centred"),
    ("cps_referral_rate_cohort", "ratio", "cohort", "suspect-focused"),
    ("suspect_identified_rate_cohort", "ratio", "cohort", "suspect-focused"),
    ("repeat_suspect_share", "ratio", "cohort", "suspect-focused"),
    ("open_investigations", "count", "snapshot", "victim-centred"),
    ("open_over_365_days", "count", "snapshot", "victim-centred"),
    ("isva_referral_rate", "ratio", "cohort", "victim-centred"),
    ("sarc_referral_rate", "ratio", "cohort", "victim-centred"),
    ("median_days_device_return", "days", "in-period", "victim-centred"),
    ("device_returned_within_1_day_share", "ratio", "in-period", "victim-centred"),
    ("median_days_offence_to_report", "days", "cohort", "context-led"),
]


def test_catalogue_has_the_nineteen_indicators_in_standard_order() -> None:
    assert [i.id.value for i in CATALOGUE] == [row[0] for row in STANDARD_TABLE]
    assert [i.value for i in IndicatorId] == [row[0] for row in STANDARD_TABLE]


def test_units_bases_and_pillars_match_the_standard() -> None:
    actual = [(i.id.value, i.unit.value, i.basis.value, i.pillar.value) for i in CATALOGUE]
    assert actual == STANDARD_TABLE
    assert all(i.version == "1" for i in CATALOGUE)


def test_only_ratios_have_a_denominator_and_two_components() -> None:
    for entry in CATALOGUE:
        assert (entry.denominator is not None) == (entry.unit is Unit.RATIO)
        assert len(entry.components) == (2 if entry.unit is Unit.RATIO else 1)
        assert entry.title
        assert entry.numerator


def test_shared_counts_are_named_alike() -> None:
    # Disclosure control links cells through these names: they must agree across indicators.
    assigned = indicator(IndicatorId.OUTCOMES_ASSIGNED).components[0]
    for id_ in (
        IndicatorId.CHARGE_OUTCOME_SHARE,
        IndicatorId.VICTIM_WITHDRAWAL_SHARE,
        IndicatorId.EVIDENTIAL_DIFFICULTIES_SHARE,
        IndicatorId.NO_SUSPECT_SHARE,
    ):
        assert indicator(id_).components[1] == assigned
    assert indicator(IndicatorId.MEDIAN_DAYS_TO_OUTCOME).components == (assigned,)
    charged = indicator(IndicatorId.CHARGE_OUTCOME_SHARE).components[0]
    assert indicator(IndicatorId.MEDIAN_DAYS_TO_CHARGE).components == (charged,)
    recorded = indicator(IndicatorId.RECORDED_OFFENCES).components[0]
    for id_ in (
        IndicatorId.CHARGE_RATE_COHORT,
        IndicatorId.CPS_REFERRAL_RATE_COHORT,
        IndicatorId.SUSPECT_IDENTIFIED_RATE_COHORT,
    ):
        assert indicator(id_).components[1] == recorded
    returned = indicator(IndicatorId.MEDIAN_DAYS_DEVICE_RETURN).components[0]
    assert indicator(IndicatorId.DEVICE_RETURNED_WITHIN_1_DAY_SHARE).components[1] == returned
    # ...and counts that differ are named apart.
    numerators = [i.components[0] for i in CATALOGUE if i.unit is Unit.RATIO]
    assert len(set(numerators)) == len(numerators)
    assert charged != indicator(IndicatorId.CHARGE_RATE_COHORT).components[0]


@pytest.mark.parametrize(
    ("id_", "phrases"),
    [
        ("recorded_offences", ["recorded_date in P"]),
        ("outcomes_assigned", ["outcome_date in P", "not 0"]),
        ("charge_outcome_share", ["1 or 1A", "outcome_date in P", "divided by"]),
        ("charge_rate_cohort", ["1 or 1A", "on or before T", "recorded_date in P"]),
        ("victim_withdrawal_share", ["14 or 16", "divided by"]),
        ("evidential_difficulties_share", ["outcome_type 15"]),
        ("no_suspect_share", ["outcome_type 18"]),
        ("median_days_to_charge", ["outcome_date minus recorded_date", "1 or 1A"]),
        ("median_days_to_outcome", ["outcome_date minus recorded_date", "any outcome"]),
        ("cps_referral_rate_cohort", ["cps_referral_date on or before T"]),
        ("suspect_identified_rate_cohort", ["suspect_identified_date on or before T"]),
        ("repeat_suspect_share", ["2 or more active records of the same force", "any offence"]),
        ("open_investigations", ["on or before P.end", "outcome_date after P.end"]),
        ("open_over_365_days", ["greater than 365 days"]),
        ("isva_referral_rate", ["isva_referral true", "isva_referral given"]),
        ("sarc_referral_rate", ["sarc_referral true", "sarc_referral given"]),
        ("median_days_device_return", ["victim_device_returned_date in P"]),
        ("device_returned_within_1_day_share", ["at most 1 day"]),
        ("median_days_offence_to_report", ["reported_date minus offence_date", "both"]),
    ],
)
def test_descriptions_restate_the_definition(id_: str, phrases: list[str]) -> None:
    description = indicator(id_).description
    for phrase in phrases:
        assert phrase in description
    assert description.endswith(".")


def test_lookup_by_id_or_string_and_unknown_ids() -> None:
    assert indicator("charge_rate_cohort") is indicator(IndicatorId.CHARGE_RATE_COHORT)
    with pytest.raises(CatalogueError, match="no indicator 'charge_rate'"):
        indicator("charge_rate")


def test_only_snapshots_do_not_merge_over_months() -> None:
    assert [i.id for i in CATALOGUE if not i.merges_over_months] == [
        IndicatorId.OPEN_INVESTIGATIONS,
        IndicatorId.OPEN_OVER_365_DAYS,
    ]
    assert all(i.basis is Basis.SNAPSHOT for i in CATALOGUE if not i.merges_over_months)
    assert Pillar.CONTEXT_LED in {i.pillar for i in CATALOGUE}


def test_offence_scopes_select_groups() -> None:
    assert offence_groups(OffenceScope.ALL_RASSO) == frozenset(OffenceGroup)
    assert offence_groups(OffenceScope.ALL_RAPE) == {
        OffenceGroup.ADULT_RAPE,
        OffenceGroup.CHILD_RAPE,
    }
    assert offence_groups(OffenceScope.ADULT_RAPE) == {OffenceGroup.ADULT_RAPE}
    assert offence_groups(OffenceScope.CHILD_RAPE) == {OffenceGroup.CHILD_RAPE}
    assert offence_groups(OffenceScope.OTHER_SEXUAL) == {OffenceGroup.OTHER_SEXUAL}


def test_adult_rape_scope_is_19c_and_19f() -> None:
    adult = offence_groups(OffenceScope.ADULT_RAPE)
    codes = {o.code for o in codelists.offence_codes() if o.group in adult}
    assert codes == {"19C", "19F"}


def test_breakdown_buckets() -> None:
    assert buckets(Dimension.OFFENCE_GROUP) == (
        "adult_rape",
        "child_rape",
        "other_sexual",
        "unknown",
    )
    assert buckets(Dimension.VICTIM_SEX) == ("F", "M", "X", "U", "unknown")
    assert buckets(Dimension.VICTIM_AGE_BAND)[0] == "0-12"
    assert buckets(Dimension.RELATIONSHIP)[0] == "partner_or_ex_partner"
    for dimension in Dimension:
        values = buckets(dimension)
        assert values[-1] == "unknown"
        assert len(set(values)) == len(values)


@pytest.mark.parametrize("dimension", list(Dimension))
def test_missing_value_is_its_own_unknown_bucket(dimension: Dimension) -> None:
    assert bucket_of(dimension, None) == "unknown"
    for value in buckets(dimension):
        assert bucket_of(dimension, value) == value


def test_recorded_unknown_sex_is_not_missing() -> None:
    assert bucket_of(Dimension.VICTIM_SEX, "U") == "U"
    assert bucket_of(Dimension.VICTIM_SEX, None) == "unknown"


def test_offence_codes_fall_in_their_group() -> None:
    assert bucket_of(Dimension.OFFENCE_GROUP, "19C") == "adult_rape"
    assert bucket_of(Dimension.OFFENCE_GROUP, "19H") == "child_rape"
    assert bucket_of(Dimension.OFFENCE_GROUP, "88E") == "other_sexual"


@pytest.mark.parametrize(
    ("dimension", "value"),
    [
        (Dimension.VICTIM_SEX, "f"),
        (Dimension.VICTIM_AGE_BAND, "16-24"),
        (Dimension.RELATIONSHIP, "ex_partner"),
        (Dimension.OFFENCE_GROUP, "99Z"),
    ],
)
def test_values_outside_the_code_lists_are_refused(dimension: Dimension, value: str) -> None:
    with pytest.raises(CatalogueError, match=repr(value)):
        bucket_of(dimension, value)
