"""Helpers for the indicator tests: typed records, hypothesis strategies, real ingestion.

Records are generated typed (``Rec``), written out as the strings a force would send, and
pushed through the real ``adapters.store.ingest.ingest`` with the rollup hook, so the
rollups under test are maintained by the production path. Every generated record passes
validation (warnings allowed); dates end on 2024-12-31 and submissions arrive from
2025-01-01, so "today" never cuts a record off.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Final, Protocol, TypeVar

from hypothesis import strategies as st
from sqlalchemy import Engine, text

from adapters.indicators.query import IndicatorQuery
from adapters.indicators.rollup import RollupHook
from adapters.store.ingest import IngestResult, SubmissionRequest, ingest
from schema.indicators.catalogue import Dimension, IndicatorId, OffenceScope
from schema.periods import Granularity, month_end, periods_starting_between
from schema.record import FIELD_NAMES

FIRST_DAY = dt.date(2022, 1, 1)
FIRST_ARRIVAL = dt.datetime(2025, 1, 1, 9, 0, tzinfo=dt.UTC)
LAST_DAY = FIRST_ARRIVAL.date()  # "today" for the first submission
# Ten hours west of UTC, FIRST_ARRIVAL is still 31 December: as at that moment, a date of
# 1 January is after T's own date, so the cohort cutoff (T.date()) matters.
WEST: Final = dt.timezone(dt.timedelta(hours=-10))
# Days where indicators change value: month ends and starts (periods, snapshots), and the
# days 365 and 366 before a month end (open_over_365_days counts "more than 365 days").
_MONTH_ENDS: Final = [month_end(y, m) for y in (2022, 2023, 2024) for m in range(1, 13)]
EDGES: Final = sorted(
    {
        day
        for end in _MONTH_ENDS
        for day in (
            end,
            end + dt.timedelta(days=1),
            end - dt.timedelta(days=365),
            end - dt.timedelta(days=366),
        )
        if FIRST_DAY <= day <= LAST_DAY
    }
    | {LAST_DAY}
)
OFFENCE_CODES = ("19C", "19F", "19D", "19H", "17A", "20A", "71", "88E")
OUTCOMES = ("1", "1A", "2", "9", "14", "15", "16", "18")
SUSPECTS = ("s1", "s2", "s3", "s4", "s5")
STAMPS = tuple(dt.datetime(2024, 12, 1, h, tzinfo=dt.UTC) for h in range(4))


@dataclass(frozen=True, slots=True)
class Rec:
    """One record version as a force sends it, typed; ``zero_outcome`` sends "0" for open."""

    crime_ref: str
    offence_code: str
    recorded_date: dt.date
    reported_date: dt.date | None = None
    offence_date: dt.date | None = None
    victim_age_band: str | None = None
    victim_sex: str | None = None
    relationship: str | None = None
    suspect_ref: str | None = None
    suspect_identified_date: dt.date | None = None
    cps_referral_date: dt.date | None = None
    outcome_type: str | None = None
    outcome_date: dt.date | None = None
    isva_referral: bool | None = None
    sarc_referral: bool | None = None
    victim_device_seized_date: dt.date | None = None
    victim_device_returned_date: dt.date | None = None
    record_status: str | None = None
    updated_at: dt.datetime | None = None
    zero_outcome: bool = False

    def raw(self) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for name in FIELD_NAMES:
            value = getattr(self, name)
            if isinstance(value, bool):
                out[name] = "true" if value else "false"
            elif isinstance(value, dt.date):  # datetimes too: isoformat keeps the offset
                out[name] = value.isoformat()
            else:
                out[name] = value
        if self.outcome_type is None and self.zero_outcome:
            out["outcome_type"] = "0"
        return out

    def content(self) -> tuple[object, ...]:
        """What the store compares: every field but the "0"/empty spelling of open."""
        return tuple(getattr(self, f.name) for f in fields(self) if f.name != "zero_outcome")


@dataclass(frozen=True, slots=True)
class Submission:
    force: str
    received_at: dt.datetime
    records: tuple[Rec, ...]


class Rows:
    """A ``ParsedInput``: the standard's header, then numbered raw rows."""

    def __init__(self, records: Sequence[Rec]) -> None:
        self.header = FIELD_NAMES
        self._rows = [r.raw() for r in records]

    def __iter__(self) -> Iterator[tuple[int, Mapping[str, str | None]]]:
        return iter(enumerate(self._rows, start=1))


def push(engine: Engine, submission: Submission, *, dry_run: bool = False) -> IngestResult:
    """Ingest one submission through the real path, with the rollup hook."""
    digest = hashlib.sha256(repr(submission).encode()).hexdigest()
    request = SubmissionRequest(
        submission.force, f"key-{digest[:16]}", "tester", "csv", dry_run=dry_run
    )
    return ingest(
        engine,
        request,
        Rows(submission.records),
        lambda: digest,
        now=lambda: submission.received_at,
        hooks=[RollupHook()],
    )


def _capped(day: dt.date, plus: int) -> dt.date:
    return min(day + dt.timedelta(days=plus), LAST_DAY)


T = TypeVar("T")


class Picker(Protocol):
    """Where choices come from: hypothesis (shrinks well) or a seeded ``random.Random``."""

    def one_of(self, options: Sequence[T]) -> T: ...

    def number(self, low: int, high: int) -> int: ...


class DrawPicker:
    def __init__(self, draw: st.DrawFn) -> None:
        self._draw = draw

    def one_of(self, options: Sequence[T]) -> T:
        return self._draw(st.sampled_from(options))

    def number(self, low: int, high: int) -> int:
        return self._draw(st.integers(low, high))


class RandomPicker:
    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def one_of(self, options: Sequence[T]) -> T:
        return self._random.choice(options)

    def number(self, low: int, high: int) -> int:
        return self._random.randint(low, high)


def _maybe(pick: Picker, value: T) -> T | None:
    return None if pick.one_of((True, False)) else value


def make_record(pick: Picker, crime_ref: str, suspects: Sequence[str] = SUSPECTS) -> Rec:
    """A valid record; many fields optional, dates often on the edges where figures turn."""
    if pick.one_of((False, True)):
        recorded = pick.one_of(EDGES)
    else:
        recorded = FIRST_DAY + dt.timedelta(days=pick.number(0, (LAST_DAY - FIRST_DAY).days))
    offence = _maybe(pick, recorded - dt.timedelta(days=pick.number(0, 900)))
    reported = None if offence is None else _maybe(pick, _capped(offence, pick.number(0, 30)))
    outcome = pick.one_of((None, "0", *OUTCOMES))
    outcome_date = None
    if outcome not in (None, "0"):
        if pick.one_of((False, True)):
            outcome_date = pick.one_of([d for d in EDGES if d >= recorded])
        else:
            outcome_date = _capped(recorded, pick.one_of((0, 1, 30, 200, 366, 400, 700)))
    seized = _maybe(pick, _capped(recorded, pick.number(0, 20)))
    returned = None
    if seized is not None:
        returned = _maybe(pick, _capped(seized, pick.one_of((0, 1, 2, 45))))
    return Rec(
        crime_ref=crime_ref,
        offence_code=pick.one_of(OFFENCE_CODES),
        recorded_date=recorded,
        reported_date=reported,
        offence_date=offence,
        victim_age_band=pick.one_of((None, "0-12", "18-24", "unknown")),
        victim_sex=pick.one_of((None, "F", "M", "U")),
        relationship=pick.one_of((None, "stranger", "family_member")),
        suspect_ref=pick.one_of((None, *suspects)),
        suspect_identified_date=_maybe(pick, _capped(offence or recorded, pick.number(0, 60))),
        cps_referral_date=_maybe(pick, _capped(recorded, pick.number(0, 90))),
        outcome_type=None if outcome in (None, "0") else outcome,
        outcome_date=outcome_date,
        isva_referral=pick.one_of((None, True, False)),
        sarc_referral=pick.one_of((None, True, False)),
        victim_device_seized_date=seized,
        victim_device_returned_date=returned,
        record_status=pick.one_of((None, "active", "active", "active", "cancelled", "transferred")),
        updated_at=pick.one_of((None, *STAMPS)),
        zero_outcome=outcome == "0",
    )


def make_history(
    pick: Picker,
    force: str = "kent",
    refs: int = 8,
    submissions: int = 1,
    suspects: Sequence[str] = SUSPECTS,
) -> list[Submission]:
    """A force's submissions a day apart, each sending some refs of a small pool."""
    pool = [f"c{i}" for i in range(refs)]
    out = []
    for i in range(submissions):
        chosen = sorted({pick.one_of(pool) for _ in range(pick.number(1, refs))})
        recs = tuple(make_record(pick, ref, suspects) for ref in chosen)
        out.append(Submission(force, FIRST_ARRIVAL + dt.timedelta(days=i), recs))
    return out


@st.composite
def histories(
    draw: st.DrawFn, force: str = "kent", refs: int = 8, max_submissions: int = 4
) -> list[Submission]:
    """Hypothesis's histories: 1 to ``max_submissions`` submissions over ``refs`` refs."""
    pick = DrawPicker(draw)
    return make_history(pick, force, refs, pick.number(1, max_submissions))


def reset(engine: Engine) -> None:
    """Empty what these tests write (hypothesis runs many examples per ``engine``)."""
    with engine.begin() as conn:
        for table in (
            "record_versions",
            "records",
            "submissions",
            "indicator_rollup",
            "indicator_rollup_days",
            "indicator_quality",
        ):
            conn.execute(text(f"DELETE FROM {table}"))
        conn.execute(text("UPDATE forces SET data_version = 0, last_submission_at = NULL"))


ALL_PERIODS: Final = {
    g: tuple(periods_starting_between(g, dt.date(2021, 1, 1), dt.date(2025, 6, 1)))
    for g in Granularity
}


@st.composite
def queries(draw: st.DrawFn, as_at: dt.datetime | None = None) -> IndicatorQuery:
    """Any granularity, a handful of its periods in any order, any scope and breakdown."""
    granularity = draw(st.sampled_from(Granularity))
    periods = draw(
        st.lists(st.sampled_from(ALL_PERIODS[granularity]), min_size=1, max_size=5, unique=True)
    )
    indicators = draw(
        st.just(tuple(IndicatorId))
        | st.lists(st.sampled_from(IndicatorId), min_size=1, max_size=5, unique=True).map(tuple)
    )
    return IndicatorQuery(
        indicators=indicators,
        granularity=granularity,
        periods=tuple(periods),
        scope=draw(st.sampled_from(OffenceScope)),
        breakdown=draw(st.none() | st.sampled_from(Dimension)),
        as_at=as_at,
    )


def moments(history: Sequence[Submission]) -> list[dt.datetime]:
    """As-at times worth asking: before anything, at and between each arrival."""
    times = [FIRST_ARRIVAL - dt.timedelta(hours=1)]
    for sub in history:
        at = sub.received_at
        times += [at, at.astimezone(WEST), at + dt.timedelta(hours=12)]
    return times


def cutoff(as_at: dt.datetime | None) -> dt.date:
    """The cohort cutoff the standard implies: T's date, or today for the current figures."""
    return dt.datetime.now(dt.UTC).date() if as_at is None else as_at.date()
