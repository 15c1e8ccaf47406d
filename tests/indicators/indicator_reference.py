"""An independent reference for the Indicator Catalogue v1, in plain Python.

It shares no code with ``adapters.indicators``: it replays the submissions the way the
standard describes the store (a later version replaces the record unless it is older than
the stored one; every version is kept), takes each record's latest version received at or
before T, and computes every indicator straight from its definition in STANDARD.md, per
period, with no months, rollups or cumulative sums. Only the code lists and the catalogue's
bucket rules (``bucket_of``, ``buckets``, ``offence_groups``) are shared: they are data.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

from adapters.indicators.query import IndicatorQuery, PartialKey
from schema import codelists
from schema.indicators.catalogue import (
    DIMENSION_FIELDS,
    IndicatorId,
    bucket_of,
    buckets,
    offence_groups,
)
from schema.indicators.partials import Partial
from schema.periods import Period
from tests.indicators.indicator_testkit import Rec, Submission

History = dict[tuple[str, str], list[tuple[dt.datetime, Rec]]]
Held = tuple[str, Rec]  # (force, record version)
I = IndicatorId  # noqa: E741 - a table of indicator ids reads better short


def replay(submissions: Iterable[Submission]) -> History:
    """Every applied version of every (force, crime_ref), with the moment it was received."""
    history: History = {}
    for sub in sorted(submissions, key=lambda s: s.received_at):
        for rec in sub.records:
            versions = history.setdefault((sub.force, rec.crime_ref), [])
            if versions:
                stored = versions[-1][1]
                if stored.updated_at and rec.updated_at and rec.updated_at < stored.updated_at:
                    continue  # stale: not applied
                if stored.content() == rec.content():
                    continue  # unchanged: no new version
            versions.append((sub.received_at, rec))
    return history


def state_at(history: History, as_at: dt.datetime | None) -> list[Held]:
    """Each record's latest version received at or before ``as_at`` (None: the latest)."""
    held = []
    for (force, _), versions in history.items():
        seen = [rec for received, rec in versions if as_at is None or received <= as_at]
        if seen:
            held.append((force, seen[-1]))
    return held


def _group(rec: Rec) -> str:
    return codelists.offence_codes_by_code()[rec.offence_code].group.value


def _within(day: dt.date | None, period: Period) -> bool:
    return day is not None and period.start <= day <= period.end


def _charged(rec: Rec) -> bool:
    return rec.outcome_type in ("1", "1A")


def _assigned(rec: Rec) -> bool:
    return rec.outcome_type not in (None, "0")


def _on_or_before(day: dt.date | None, cutoff: dt.date) -> bool:
    return day is not None and day <= cutoff


def _values(
    records: Sequence[Held], period: Period, cutoff: dt.date, repeat: set[tuple[str, str]]
) -> dict[IndicatorId, Partial]:
    """Every indicator of the catalogue for these records, read from its definition."""
    recorded = [(f, r) for f, r in records if _within(r.recorded_date, period)]
    out = [r for _, r in records if _assigned(r) and _within(r.outcome_date, period)]
    returned = [r for _, r in records if _within(r.victim_device_returned_date, period)]
    end = period.end

    def device_days(r: Rec) -> int:
        assert r.victim_device_returned_date is not None
        assert r.victim_device_seized_date is not None
        return (r.victim_device_returned_date - r.victim_device_seized_date).days

    def open_at_end(r: Rec) -> bool:
        closed = _assigned(r) and r.outcome_date is not None and r.outcome_date <= end
        return r.recorded_date <= end and not closed

    def outcome_days(r: Rec) -> int:
        assert r.outcome_date is not None
        return (r.outcome_date - r.recorded_date).days

    def share(codes: tuple[str, ...]) -> Partial:
        return Partial(sum(r.outcome_type in codes for r in out), len(out))

    def cohort(done: Callable[[Rec], bool]) -> Partial:
        return Partial(sum(done(r) for _, r in recorded), len(recorded))

    def referral(given: list[bool | None]) -> Partial:
        known = [g for g in given if g is not None]
        return Partial(sum(known), len(known))

    with_ref = [(f, r.suspect_ref) for f, r in recorded if r.suspect_ref is not None]
    return {
        I.RECORDED_OFFENCES: Partial(len(recorded)),
        I.OUTCOMES_ASSIGNED: Partial(len(out)),
        I.CHARGE_OUTCOME_SHARE: share(("1", "1A")),
        I.CHARGE_RATE_COHORT: cohort(
            lambda r: _charged(r) and _on_or_before(r.outcome_date, cutoff)
        ),
        I.VICTIM_WITHDRAWAL_SHARE: share(("14", "16")),
        I.EVIDENTIAL_DIFFICULTIES_SHARE: share(("15",)),
        I.NO_SUSPECT_SHARE: share(("18",)),
        I.MEDIAN_DAYS_TO_CHARGE: Partial.days(outcome_days(r) for r in out if _charged(r)),
        I.MEDIAN_DAYS_TO_OUTCOME: Partial.days(outcome_days(r) for r in out),
        I.CPS_REFERRAL_RATE_COHORT: cohort(lambda r: _on_or_before(r.cps_referral_date, cutoff)),
        I.SUSPECT_IDENTIFIED_RATE_COHORT: cohort(
            lambda r: _on_or_before(r.suspect_identified_date, cutoff)
        ),
        I.REPEAT_SUSPECT_SHARE: Partial(sum(key in repeat for key in with_ref), len(with_ref)),
        I.OPEN_INVESTIGATIONS: Partial(sum(open_at_end(r) for _, r in records)),
        I.OPEN_OVER_365_DAYS: Partial(
            sum(open_at_end(r) and (end - r.recorded_date).days > 365 for _, r in records)
        ),
        I.ISVA_REFERRAL_RATE: referral([r.isva_referral for _, r in recorded]),
        I.SARC_REFERRAL_RATE: referral([r.sarc_referral for _, r in recorded]),
        I.MEDIAN_DAYS_DEVICE_RETURN: Partial.days(device_days(r) for r in returned),
        I.DEVICE_RETURNED_WITHIN_1_DAY_SHARE: Partial(
            sum(device_days(r) <= 1 for r in returned), len(returned)
        ),
        I.MEDIAN_DAYS_OFFENCE_TO_REPORT: Partial.days(
            (r.reported_date - r.offence_date).days
            for _, r in recorded
            if r.reported_date and r.offence_date
        ),
    }


def expected(
    held: Sequence[Held], query: IndicatorQuery, cutoff: dt.date
) -> dict[PartialKey, Partial]:
    """The partials the engine must return for these records (one force or several)."""
    active = [(f, r) for f, r in held if r.record_status in (None, "active")]
    per_suspect = Counter((f, r.suspect_ref) for f, r in active if r.suspect_ref is not None)
    repeat = {key for key, n in per_suspect.items() if n >= 2}
    groups = {g.value for g in offence_groups(query.scope)}
    in_scope = [(f, r) for f, r in active if _group(r) in groups]
    dimension = query.breakdown
    chosen: list[str | None] = [None]
    if dimension is not None:
        chosen += list(buckets(dimension))
    result: dict[PartialKey, Partial] = {}
    for bucket in chosen:
        records = in_scope
        if dimension is not None and bucket is not None:
            field = DIMENSION_FIELDS[dimension]
            records = [
                (f, r) for f, r in in_scope if bucket_of(dimension, getattr(r, field)) == bucket
            ]
        for period in query.periods:
            values = _values(records, period, cutoff, repeat)
            for indicator in query.indicators:
                result[(indicator, period.label, bucket)] = values[indicator]
    return result
