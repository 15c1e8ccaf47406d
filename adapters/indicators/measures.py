"""The additive measures every indicator is read from, and how each indicator reads them.

An indicator is never stored. What is stored (``rollup``) or computed as at a past moment
(``asat``) are *measures*: counts of active records, each dated by a month basis, keyed by
(force, offence group, breakdown bucket, month). Every indicator of the catalogue is then a
sum of measures over the months of a period (``RATIO``, ``COUNT``), a histogram of day counts
over those months (``DAYS``), or a difference of two cumulative sums up to the period end
(``SNAPSHOT``). Sums and histograms add, so partials stay mergeable across months and forces.

Conditions are SQL over the columns ``ledger`` derives for each record (``*_month``,
``*_days``, ``rep``); ``:cutoff`` is the as-at date for cohort measures (9999-12-31 for the
current figures: every stored date is on or before the day it was received).

The two snapshot helpers make ``open_over_365_days`` exact with monthly keys. A record is
open for more than 365 days at a month end E when ``recorded + 366 <= E < outcome_date``; as
E is a month end, ``recorded + 366 <= E`` holds exactly from the month of ``recorded + 366``
(``aged``), and the record stops counting from the month of
``max(recorded + 366, outcome_date)`` (``aged_closed``), so the count at E is
``cumsum(aged) - cumsum(aged_closed)`` up to E's month.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from schema import codelists
from schema.indicators.catalogue import IndicatorId

# The date a record is counted by; each is a column ``ledger`` derives (a month index,
# year * 12 + month - 1, NULL when the record has no such date).
RECORDED: Final = "recorded_month"
OUTCOME: Final = "outcome_month"  # NULL unless an outcome is assigned
RETURNED: Final = "returned_month"
AGED: Final = "aged_month"  # the month of recorded_date + 366 days
AGED_CLOSED: Final = "aged_closed_month"  # max(aged_month, outcome_month); assigned only


def _sql_list(codes: frozenset[str]) -> str:
    return "(" + ", ".join(f"'{c}'" for c in sorted(codes)) + ")"


# Outcome 1A counts as charged: every outcome type whose base code is 1.
CHARGED_CODES: Final = frozenset(o.code for o in codelists.outcome_types() if o.base_code == "1")
_CHARGED: Final = f"outcome_type IN {_sql_list(CHARGED_CODES)}"


@dataclass(frozen=True, slots=True)
class Measure:
    """One additive count: records whose ``basis`` month is set and ``condition`` holds.

    ``weight`` names the ledger column each record counts with (``ledger``: ``w`` for every
    measure but the repeat flag, which the rollup maintains per suspect with ``wr``).
    """

    name: str
    basis: str
    condition: str = ""  # SQL over a ledger row; empty: every record with the basis date
    weight: str = "w"


@dataclass(frozen=True, slots=True)
class DayMeasure:
    """One exact day-count distribution: ``days`` of the records counted, by basis month."""

    name: str
    basis: str
    days: str  # the ledger column holding the day count
    condition: str = ""


MEASURES: Final[tuple[Measure, ...]] = (
    Measure("recorded", RECORDED),
    Measure("cohort_charged", RECORDED, f"{_CHARGED} AND outcome_date <= :cutoff"),
    Measure("cps_referred", RECORDED, "cps_referral_date <= :cutoff"),
    Measure("suspect_identified", RECORDED, "suspect_identified_date <= :cutoff"),
    Measure("with_suspect_ref", RECORDED, "suspect_ref IS NOT NULL"),
    # rep: 1 when the suspect_ref is on two or more active records of the force.
    Measure("repeat_suspect", RECORDED, "rep = 1", weight="wr"),
    Measure("isva_given", RECORDED, "isva_referral IS NOT NULL"),
    Measure("isva_referred", RECORDED, "isva_referral = TRUE"),
    Measure("sarc_given", RECORDED, "sarc_referral IS NOT NULL"),
    Measure("sarc_referred", RECORDED, "sarc_referral = TRUE"),
    Measure("assigned", OUTCOME),
    Measure("charged", OUTCOME, _CHARGED),
    Measure("victim_withdrawal", OUTCOME, "outcome_type IN ('14', '16')"),
    Measure("evidential_difficulties", OUTCOME, "outcome_type = '15'"),
    Measure("no_suspect", OUTCOME, "outcome_type = '18'"),
    Measure("device_returned", RETURNED),
    Measure("device_returned_within_1_day", RETURNED, "device_days <= 1"),
    Measure("aged", AGED),
    Measure("aged_closed", AGED_CLOSED),
)
MEASURES_BY_NAME: Final = {m.name: m for m in MEASURES}
MEASURE_NAMES: Final = tuple(m.name for m in MEASURES)
REPEAT: Final = MEASURES_BY_NAME["repeat_suspect"]
# Everything but the repeat flag, which the rollup maintains per suspect (see ``rollup``).
RECORD_MEASURES: Final = tuple(m for m in MEASURES if m is not REPEAT)

DAY_MEASURES: Final[tuple[DayMeasure, ...]] = (
    DayMeasure("days_to_charge", OUTCOME, "outcome_days", _CHARGED),
    DayMeasure("days_to_outcome", OUTCOME, "outcome_days"),
    DayMeasure("days_device_return", RETURNED, "device_days"),
    DayMeasure("days_offence_to_report", RECORDED, "report_days", "report_days IS NOT NULL"),
)
DAY_MEASURES_BY_NAME: Final = {m.name: m for m in DAY_MEASURES}


class ReadingKind(StrEnum):
    COUNT = "count"  # sum of ``first`` over the period's months
    RATIO = "ratio"  # sums of ``first`` / ``second`` over the period's months
    DAYS = "days"  # histogram ``first`` merged over the period's months
    SNAPSHOT = "snapshot"  # cumsum(first) - cumsum(second) up to the period end's month


@dataclass(frozen=True, slots=True)
class Reading:
    kind: ReadingKind
    first: str
    second: str | None = None


_C, _R, _D, _S = ReadingKind.COUNT, ReadingKind.RATIO, ReadingKind.DAYS, ReadingKind.SNAPSHOT
_I = IndicatorId

READINGS: Final[dict[IndicatorId, Reading]] = {
    _I.RECORDED_OFFENCES: Reading(_C, "recorded"),
    _I.OUTCOMES_ASSIGNED: Reading(_C, "assigned"),
    _I.CHARGE_OUTCOME_SHARE: Reading(_R, "charged", "assigned"),
    _I.CHARGE_RATE_COHORT: Reading(_R, "cohort_charged", "recorded"),
    _I.VICTIM_WITHDRAWAL_SHARE: Reading(_R, "victim_withdrawal", "assigned"),
    _I.EVIDENTIAL_DIFFICULTIES_SHARE: Reading(_R, "evidential_difficulties", "assigned"),
    _I.NO_SUSPECT_SHARE: Reading(_R, "no_suspect", "assigned"),
    _I.MEDIAN_DAYS_TO_CHARGE: Reading(_D, "days_to_charge"),
    _I.MEDIAN_DAYS_TO_OUTCOME: Reading(_D, "days_to_outcome"),
    _I.CPS_REFERRAL_RATE_COHORT: Reading(_R, "cps_referred", "recorded"),
    _I.SUSPECT_IDENTIFIED_RATE_COHORT: Reading(_R, "suspect_identified", "recorded"),
    _I.REPEAT_SUSPECT_SHARE: Reading(_R, "repeat_suspect", "with_suspect_ref"),
    _I.OPEN_INVESTIGATIONS: Reading(_S, "recorded", "assigned"),
    _I.OPEN_OVER_365_DAYS: Reading(_S, "aged", "aged_closed"),
    _I.ISVA_REFERRAL_RATE: Reading(_R, "isva_referred", "isva_given"),
    _I.SARC_REFERRAL_RATE: Reading(_R, "sarc_referred", "sarc_given"),
    _I.MEDIAN_DAYS_DEVICE_RETURN: Reading(_D, "days_device_return"),
    _I.DEVICE_RETURNED_WITHIN_1_DAY_SHARE: Reading(
        _R, "device_returned_within_1_day", "device_returned"
    ),
    _I.MEDIAN_DAYS_OFFENCE_TO_REPORT: Reading(_D, "days_offence_to_report"),
}


def measures_for(indicators: tuple[IndicatorId, ...]) -> tuple[str, ...]:
    """The summed measures the indicators read, in ``MEASURES`` order."""
    wanted = {
        name
        for i in indicators
        if READINGS[i].kind is not ReadingKind.DAYS
        for name in (READINGS[i].first, READINGS[i].second)
        if name is not None
    }
    return tuple(m for m in MEASURE_NAMES if m in wanted)


def day_measures_for(indicators: tuple[IndicatorId, ...]) -> tuple[str, ...]:
    """The day histograms the indicators read, in ``DAY_MEASURES`` order."""
    wanted = {READINGS[i].first for i in indicators if READINGS[i].kind is ReadingKind.DAYS}
    return tuple(m.name for m in DAY_MEASURES if m.name in wanted)
