"""Indicator Catalogue v1, offence scopes and breakdowns, as data.

The catalogue is declared once here and drives the GraphQL enum, the field descriptions (the
API documentation: each ``description`` restates the standard's definition in full), the
computation and disclosure control. Changing a definition means a new catalogue version,
never an edit in place: published figures must stay reproducible.

Each indicator also names its additive ``components``: the counts it is built from (a count
is one; a ratio is its numerator and denominator; a median is the number of values it is
taken over). Different indicators share components (``outcomes_assigned`` is the denominator
of four shares and the size of ``median_days_to_outcome``), and disclosure control must know
that, or suppressing a count in one indicator would be undone by showing it in another.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from schema import codelists, record
from schema.codelists import OffenceGroup
from schema.errors import CatalogueError

CATALOGUE_VERSION: Final = "1"

COMMON_RULES: Final = (
    "Period P = [start, end], dates inclusive. As-at T (default: now) selects, for every "
    "record, its latest version received at or before T. Only records with record_status "
    "active count, and only offence codes in the requested scope (default ALL_RASSO). "
    "Charged means outcome_type 1 or 1A; assigned means any outcome_type other than empty "
    "or 0. A ratio reports its numerator and denominator and is null when the denominator "
    "is 0. A median is the usual median in days (the mean of the two middle values when "
    "the count is even) and is null when there are no values."
)


class IndicatorId(StrEnum):
    RECORDED_OFFENCES = "recorded_offences"
    OUTCOMES_ASSIGNED = "outcomes_assigned"
    CHARGE_OUTCOME_SHARE = "charge_outcome_share"
    CHARGE_RATE_COHORT = "charge_rate_cohort"
    VICTIM_WITHDRAWAL_SHARE = "victim_withdrawal_share"
    EVIDENTIAL_DIFFICULTIES_SHARE = "evidential_difficulties_share"
    NO_SUSPECT_SHARE = "no_suspect_share"
    MEDIAN_DAYS_TO_CHARGE = "median_days_to_charge"
    MEDIAN_DAYS_TO_OUTCOME = "median_days_to_outcome"
    CPS_REFERRAL_RATE_COHORT = "cps_referral_rate_cohort"
    SUSPECT_IDENTIFIED_RATE_COHORT = "suspect_identified_rate_cohort"
    REPEAT_SUSPECT_SHARE = "repeat_suspect_share"
    OPEN_INVESTIGATIONS = "open_investigations"
    OPEN_OVER_365_DAYS = "open_over_365_days"
    ISVA_REFERRAL_RATE = "isva_referral_rate"
    SARC_REFERRAL_RATE = "sarc_referral_rate"
    MEDIAN_DAYS_DEVICE_RETURN = "median_days_device_return"
    DEVICE_RETURNED_WITHIN_1_DAY_SHARE = "device_returned_within_1_day_share"
    MEDIAN_DAYS_OFFENCE_TO_REPORT = "median_days_offence_to_report"


class Unit(StrEnum):
    COUNT = "count"
    RATIO = "ratio"
    DAYS = "days"


class Basis(StrEnum):
    IN_PERIOD = "in-period"  # events (outcomes, returns) dated in the period
    COHORT = "cohort"  # offences recorded in the period, followed to the as-at date
    SNAPSHOT = "snapshot"  # the state at the end of the period


class Pillar(StrEnum):
    VOLUME = "volume"
    VICTIM_CENTRED = "victim-centred"
    SUSPECT_FOCUSED = "suspect-focused"
    CONTEXT_LED = "context-led"


@dataclass(frozen=True, slots=True)
class Indicator:
    id: IndicatorId
    title: str
    description: str
    unit: Unit
    basis: Basis
    pillar: Pillar
    numerator: str  # COUNT: what is counted; DAYS: the records the median is taken over
    denominator: str | None  # RATIO only
    components: tuple[str, ...]  # names of the additive counts, see the module docstring
    version: str = CATALOGUE_VERSION

    @property
    def merges_over_months(self) -> bool:
        """True when a period's value is the merge of its months' partial results.

        A snapshot is the state at the period end, so it is the last month's value instead.
        """
        return self.basis is not Basis.SNAPSHOT


_ASSIGNED: Final = "records with an outcome assigned and outcome_date in P (outcomes_assigned)"
_RECORDED: Final = "records with recorded_date in P (recorded_offences)"


def _share(
    id_: IndicatorId, title: str, what: str, records: str, pillar: Pillar, *, part: str
) -> Indicator:
    return Indicator(
        id_,
        title,
        f"Share of the outcomes assigned in the period that are {what}: records "
        f"{records} with outcome_date in P, divided by records with any outcome assigned "
        "(outcome_type set and not 0) with outcome_date in P (outcomes_assigned), whatever "
        "their recorded_date.",
        Unit.RATIO,
        Basis.IN_PERIOD,
        pillar,
        f"records {records} with outcome_date in P",
        _ASSIGNED,
        (part, "assigned"),
    )


def _cohort(id_: IndicatorId, title: str, which: str, part: str) -> Indicator:
    return Indicator(
        id_,
        title,
        f"Of the offences recorded in the period, the share {which}: records with "
        f"recorded_date in P {which}, divided by records with recorded_date in P "
        "(recorded_offences). A cohort figure: it revises as investigations progress, so it "
        "is read with its as-at date T.",
        Unit.RATIO,
        Basis.COHORT,
        Pillar.SUSPECT_FOCUSED,
        f"records with recorded_date in P {which}",
        _RECORDED,
        (part, "recorded"),
    )


def _referral(id_: IndicatorId, title: str, service: str, part: str) -> Indicator:
    return Indicator(
        id_,
        title,
        f"Of the offences recorded in the period where the answer is known, the share whose "
        f"victim was referred to {service}: records with recorded_date in P and "
        f"{part}_referral true, divided by records with recorded_date in P and {part}_referral "
        "given (true or false). Records with no answer are in neither.",
        Unit.RATIO,
        Basis.COHORT,
        Pillar.VICTIM_CENTRED,
        f"records with recorded_date in P and {part}_referral true",
        f"records with recorded_date in P and {part}_referral given",
        (f"{part}_referred", f"{part}_known"),
    )


_CHARGED: Final = "charged (outcome_type 1 or 1A)"
_COUNT, _RATIO, _DAYS = Unit.COUNT, Unit.RATIO, Unit.DAYS
_IN_PERIOD, _COHORT, _SNAPSHOT = Basis.IN_PERIOD, Basis.COHORT, Basis.SNAPSHOT

# A data table, one entry per indicator in the standard's order; kept compact on purpose.
# fmt: off
CATALOGUE: Final[tuple[Indicator, ...]] = (
    Indicator(IndicatorId.RECORDED_OFFENCES, "Recorded offences",
              "Number of records with recorded_date in P.",
              _COUNT, _IN_PERIOD, Pillar.VOLUME,
              "records with recorded_date in P", None, ("recorded",)),
    Indicator(IndicatorId.OUTCOMES_ASSIGNED, "Outcomes assigned",
              "Number of records with an outcome assigned (outcome_type set and not 0) and "
              "outcome_date in P, whatever their recorded_date.",
              _COUNT, _IN_PERIOD, Pillar.VOLUME, _ASSIGNED, None, ("assigned",)),
    _share(IndicatorId.CHARGE_OUTCOME_SHARE, "Charge share of outcomes",
           "charges", _CHARGED, Pillar.SUSPECT_FOCUSED, part="charged"),
    _cohort(IndicatorId.CHARGE_RATE_COHORT, "Charge rate (cohort)",
            f"that are {_CHARGED} with outcome_date on or before T", "cohort_charged"),
    _share(IndicatorId.VICTIM_WITHDRAWAL_SHARE, "Victim withdrawal share of outcomes",
           "victim withdrawals",
           "with outcome_type 14 or 16 (evidential difficulties: the victim does not support, "
           "or withdraws support for, further action)",
           Pillar.VICTIM_CENTRED, part="victim_withdrawal"),
    _share(IndicatorId.EVIDENTIAL_DIFFICULTIES_SHARE, "Evidential difficulties share of outcomes",
           "evidential difficulties with the victim supporting action",
           "with outcome_type 15 (evidential difficulties: suspect identified, the victim "
           "supports action)",
           Pillar.SUSPECT_FOCUSED, part="evidential_difficulties"),
    _share(IndicatorId.NO_SUSPECT_SHARE, "No suspect identified share of outcomes",
           "investigations completed with no suspect identified",
           "with outcome_type 18 (investigation complete, no suspect identified)",
           Pillar.SUSPECT_FOCUSED, part="no_suspect"),
    Indicator(IndicatorId.MEDIAN_DAYS_TO_CHARGE, "Median days to charge",
              "Median of outcome_date minus recorded_date, in days, over records "
              f"{_CHARGED} with outcome_date in P.",
              _DAYS, _IN_PERIOD, Pillar.SUSPECT_FOCUSED,
              f"records {_CHARGED} with outcome_date in P", None, ("charged",)),
    Indicator(IndicatorId.MEDIAN_DAYS_TO_OUTCOME, "Median days to outcome",
              "Median of outcome_date minus recorded_date, in days, over records with any "
              "outcome assigned (outcome_type set and not 0) and outcome_date in P.",
              _DAYS, _IN_PERIOD, Pillar.VICTIM_CENTRED, _ASSIGNED, None, ("assigned",)),
    _cohort(IndicatorId.CPS_REFERRAL_RATE_COHORT, "CPS referral rate (cohort)",
            "that have a cps_referral_date on or before T", "cps_referred"),
    _cohort(IndicatorId.SUSPECT_IDENTIFIED_RATE_COHORT, "Suspect identified rate (cohort)",
            "that have a suspect_identified_date on or before T",
            "suspect_identified"),
    Indicator(IndicatorId.REPEAT_SUSPECT_SHARE, "Repeat suspect share",
              "Of the offences recorded in the period that have a suspect_ref, the share whose "
              "suspect_ref appears on 2 or more active records of the same force (any recorded "
              "date, any offence scope, as at T): records with recorded_date in P and such a "
              "suspect_ref, divided by records with recorded_date in P and a suspect_ref.",
              _RATIO, _COHORT, Pillar.SUSPECT_FOCUSED,
              "records with recorded_date in P and a suspect_ref on 2 or more active records",
              "records with recorded_date in P and a suspect_ref",
              ("repeat_suspect", "with_suspect_ref")),
    Indicator(IndicatorId.OPEN_INVESTIGATIONS, "Open investigations",
              "Number of investigations open at the end of the period: records with "
              "recorded_date on or before P.end and either no outcome assigned or outcome_date "
              "after P.end.",
              _COUNT, _SNAPSHOT, Pillar.VICTIM_CENTRED, "records open at P.end", None, ("open",)),
    Indicator(IndicatorId.OPEN_OVER_365_DAYS, "Open investigations over 365 days",
              "Number of the investigations open at the end of the period (as "
              "open_investigations) with P.end minus recorded_date greater than 365 days.",
              _COUNT, _SNAPSHOT, Pillar.VICTIM_CENTRED,
              "records open at P.end with P.end minus recorded_date over 365 days", None,
              ("open_over_365",)),
    _referral(IndicatorId.ISVA_REFERRAL_RATE, "ISVA referral rate",
              "an Independent Sexual Violence Adviser (ISVA)", "isva"),
    _referral(IndicatorId.SARC_REFERRAL_RATE, "SARC referral rate",
              "a Sexual Assault Referral Centre (SARC)", "sarc"),
    Indicator(IndicatorId.MEDIAN_DAYS_DEVICE_RETURN, "Median days to return a victim's device",
              "Median of victim_device_returned_date minus victim_device_seized_date, in days, "
              "over records with victim_device_returned_date in P.",
              _DAYS, _IN_PERIOD, Pillar.VICTIM_CENTRED,
              "records with victim_device_returned_date in P", None, ("device_returned",)),
    Indicator(IndicatorId.DEVICE_RETURNED_WITHIN_1_DAY_SHARE,
              "Victim devices returned within 1 day",
              "Of the victims' devices returned in the period, the share returned within one "
              "day: records with victim_device_returned_date in P and "
              "victim_device_returned_date minus victim_device_seized_date of at most 1 day, "
              "divided by all records with victim_device_returned_date in P.",
              _RATIO, _IN_PERIOD, Pillar.VICTIM_CENTRED,
              "records with victim_device_returned_date in P, returned at most 1 day after "
              "seizure",
              "records with victim_device_returned_date in P",
              ("device_returned_within_1_day", "device_returned")),
    Indicator(IndicatorId.MEDIAN_DAYS_OFFENCE_TO_REPORT, "Median days from offence to report",
              "Median of reported_date minus offence_date, in days, over records with "
              "recorded_date in P that have both reported_date and offence_date.",
              _DAYS, _COHORT, Pillar.CONTEXT_LED,
              "records with recorded_date in P and both reported_date and offence_date", None,
              ("with_offence_and_report_dates",)),
)
# fmt: on

_BY_ID: Final[dict[str, Indicator]] = {i.id.value: i for i in CATALOGUE}


def indicator(id_: IndicatorId | str) -> Indicator:
    """The catalogue entry for an id; ``CatalogueError`` names the ids that exist."""
    try:
        return _BY_ID[id_]
    except KeyError:
        raise CatalogueError(f"no indicator {id_!r} in catalogue v{CATALOGUE_VERSION}") from None


class OffenceScope(StrEnum):
    ALL_RASSO = "ALL_RASSO"
    ALL_RAPE = "ALL_RAPE"
    ADULT_RAPE = "ADULT_RAPE"
    CHILD_RAPE = "CHILD_RAPE"
    OTHER_SEXUAL = "OTHER_SEXUAL"


_SCOPE_GROUPS: Final[dict[OffenceScope, frozenset[OffenceGroup]]] = {
    OffenceScope.ALL_RASSO: frozenset(OffenceGroup),
    OffenceScope.ALL_RAPE: frozenset({OffenceGroup.ADULT_RAPE, OffenceGroup.CHILD_RAPE}),
    OffenceScope.ADULT_RAPE: frozenset({OffenceGroup.ADULT_RAPE}),
    OffenceScope.CHILD_RAPE: frozenset({OffenceGroup.CHILD_RAPE}),
    OffenceScope.OTHER_SEXUAL: frozenset({OffenceGroup.OTHER_SEXUAL}),
}


def offence_groups(scope: OffenceScope) -> frozenset[OffenceGroup]:
    """The offence groups a scope selects (groups map to Home Office codes in codelists)."""
    return _SCOPE_GROUPS[scope]


class Dimension(StrEnum):
    OFFENCE_GROUP = "OFFENCE_GROUP"
    VICTIM_AGE_BAND = "VICTIM_AGE_BAND"
    VICTIM_SEX = "VICTIM_SEX"
    RELATIONSHIP = "RELATIONSHIP"


UNKNOWN_BUCKET: Final = "unknown"

# Missing is its own bucket, never dropped, so the buckets always add up to the total.
# VICTIM_SEX keeps the recorded "U" (unknown to the force) apart from a missing value.
_BUCKETS: Final[dict[Dimension, tuple[str, ...]]] = {
    Dimension.OFFENCE_GROUP: (*(g.value for g in OffenceGroup), UNKNOWN_BUCKET),
    Dimension.VICTIM_AGE_BAND: record.AGE_BANDS,
    Dimension.VICTIM_SEX: (*record.VICTIM_SEXES, UNKNOWN_BUCKET),
    Dimension.RELATIONSHIP: record.RELATIONSHIPS,
}

# The record field each breakdown reads.
DIMENSION_FIELDS: Final[dict[Dimension, str]] = {
    Dimension.OFFENCE_GROUP: "offence_code",
    Dimension.VICTIM_AGE_BAND: "victim_age_band",
    Dimension.VICTIM_SEX: "victim_sex",
    Dimension.RELATIONSHIP: "relationship",
}


def buckets(dimension: Dimension) -> tuple[str, ...]:
    """The buckets of a breakdown in display order; ``unknown`` is always last."""
    return _BUCKETS[dimension]


def bucket_of(dimension: Dimension, value: str | None) -> str:
    """The bucket a record value falls in; a missing value (None) is ``unknown``.

    For OFFENCE_GROUP the value may be a group name or a Home Office offence code. A value
    outside the code lists is a bug upstream (records are validated), so it raises rather
    than hiding in ``unknown``.
    """
    if value is None:
        return UNKNOWN_BUCKET
    if value in _BUCKETS[dimension]:
        return value
    if dimension is Dimension.OFFENCE_GROUP:
        code = codelists.offence_codes_by_code().get(value)
        if code is not None:
            return code.group.value
    raise CatalogueError(f"{value!r} is not a {dimension} value")
