"""The source's interface: query checks, force isolation, completeness, versions, quality."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine

from adapters.indicators.errors import InvalidIndicatorQueryError
from adapters.indicators.quality import OPTIONAL_FIELDS
from adapters.indicators.query import IndicatorQuery
from adapters.indicators.source import LocalIndicatorSource
from adapters.store.errors import UnknownForceError
from schema.indicators.catalogue import (
    Dimension,
    IndicatorId,
    OffenceScope,
    buckets,
    indicator,
)
from schema.indicators.partials import Partial, value
from schema.periods import Granularity, parse_period, periods_starting_between
from tests.indicators.indicator_testkit import FIRST_ARRIVAL, Rec, Submission, push

QUARTERS = tuple(
    periods_starting_between(Granularity.QUARTER, dt.date(2023, 4, 1), dt.date(2025, 1, 1))
)
EVERYTHING = IndicatorQuery(tuple(IndicatorId), Granularity.QUARTER, QUARTERS)


def _send(engine: Engine, force: str, day: int, *records: Rec) -> None:
    push(engine, Submission(force, FIRST_ARRIVAL + dt.timedelta(days=day), records))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"indicators": ()}, "at least one indicator"),
        ({"periods": ()}, "at least one period"),
        ({"granularity": Granularity.MONTH}, "are not MONTH periods"),
        ({"periods": (QUARTERS[0], QUARTERS[0])}, "asked for twice"),
        ({"as_at": dt.datetime(2025, 1, 1)}, "needs a timezone"),
    ],
)
def test_a_malformed_query_is_refused_with_a_reason(
    arguments: dict[str, object], message: str
) -> None:
    fields: dict[str, object] = {
        "indicators": (IndicatorId.RECORDED_OFFENCES,),
        "granularity": Granularity.QUARTER,
        "periods": QUARTERS,
    }
    with pytest.raises(InvalidIndicatorQueryError, match=message):
        IndicatorQuery(**(fields | arguments))  # type: ignore[arg-type]


def test_an_unknown_force_is_refused(engine: Engine) -> None:
    source = LocalIndicatorSource(engine)
    with pytest.raises(UnknownForceError):
        source.partials("atlantis", EVERYTHING)
    with pytest.raises(UnknownForceError):
        source.partials_many(["kent", "atlantis"], EVERYTHING)
    with pytest.raises(UnknownForceError):
        source.quality("atlantis", QUARTERS)


def test_every_key_is_answered_and_empty_figures_are_zero_or_null(engine: Engine) -> None:
    query = IndicatorQuery(
        tuple(IndicatorId), Granularity.QUARTER, QUARTERS, breakdown=Dimension.VICTIM_SEX
    )
    got = LocalIndicatorSource(engine).partials("kent", query)
    keys = {
        (i, p.label, b)
        for i in IndicatorId
        for p in QUARTERS
        for b in (None, *buckets(Dimension.VICTIM_SEX))
    }
    assert set(got) == keys
    assert set(got.values()) == {Partial(0)}
    ratio = got[(IndicatorId.CHARGE_OUTCOME_SHARE, QUARTERS[0].label, None)]
    assert value(indicator(IndicatorId.CHARGE_OUTCOME_SHARE).unit, ratio) is None


def test_each_force_sees_only_its_own_records(engine: Engine) -> None:
    _send(engine, "kent", 0, Rec("c1", "19C", dt.date(2024, 5, 1)))
    _send(
        engine,
        "essex",
        0,
        Rec("c1", "19C", dt.date(2024, 5, 2)),
        Rec("c2", "19D", dt.date(2024, 5, 3)),
    )
    source = LocalIndicatorSource(engine)
    both = source.partials_many(["kent", "essex", "surrey"], EVERYTHING)
    key = (IndicatorId.RECORDED_OFFENCES, "2024/25 Q1", None)
    assert [both[f][key].numerator for f in ("kent", "essex", "surrey")] == [1, 2, 0]
    for force in ("kent", "essex", "surrey"):
        assert source.partials(force, EVERYTHING) == both[force]


def test_an_offence_group_breakdown_respects_the_scope(engine: Engine) -> None:
    records = [
        Rec(f"c{i}", code, dt.date(2024, 5, 1)) for i, code in enumerate(("19C", "19D", "20A"))
    ]
    _send(engine, "kent", 0, *records)
    query = IndicatorQuery(
        (IndicatorId.RECORDED_OFFENCES,),
        Granularity.QUARTER,
        (parse_period(Granularity.QUARTER, "2024/25 Q1"),),
        OffenceScope.ALL_RAPE,
        Dimension.OFFENCE_GROUP,
    )
    got = LocalIndicatorSource(engine).partials("kent", query)
    counts = {b: p.numerator for (_, _, b), p in got.items()}
    assert counts == {"adult_rape": 1, "child_rape": 1, "other_sexual": 0, "unknown": 0, None: 2}


def test_data_versions_move_with_changes_and_come_with_the_partials(engine: Engine) -> None:
    source = LocalIndicatorSource(engine)
    assert source.data_versions(["kent", "essex"]) == {"kent": 0, "essex": 0}
    _send(engine, "kent", 0, Rec("c1", "19C", dt.date(2024, 5, 1)))
    _send(engine, "kent", 1, Rec("c1", "19C", dt.date(2024, 5, 1)))  # unchanged: no new version
    partials, versions = source.versioned_partials_many(["kent"], EVERYTHING)
    assert versions == {"kent": 1}
    assert partials["kent"][(IndicatorId.RECORDED_OFFENCES, "2024/25 Q1", None)] == Partial(1)


def test_quality_of_a_force_that_never_submitted_is_missing_not_zero(engine: Engine) -> None:
    quality = LocalIndicatorSource(engine).quality("kent", QUARTERS)
    assert quality.last_submission_at is None
    assert (quality.records_held, quality.active_records) == (0, 0)
    assert set(quality.has_data.values()) == {False}
    assert set(quality.field_fill.values()) == {None}


def test_quality_reports_fill_shares_and_the_span_the_records_cover(engine: Engine) -> None:
    _send(
        engine,
        "kent",
        0,
        Rec("c1", "19C", dt.date(2023, 5, 1), victim_sex="F", isva_referral=True),
        Rec("c2", "19C", dt.date(2024, 1, 15), victim_sex="M"),
        Rec("c3", "19C", dt.date(2024, 8, 1), record_status="cancelled", victim_sex="F"),
    )
    quality = LocalIndicatorSource(engine).quality("kent", QUARTERS)
    assert quality.last_submission_at == FIRST_ARRIVAL
    assert (quality.records_held, quality.active_records) == (3, 2)
    assert (quality.first_recorded, quality.last_recorded) == (
        dt.date(2023, 5, 1),
        dt.date(2024, 8, 1),
    )
    assert quality.field_fill["victim_sex"] == 1.0
    assert quality.field_fill["isva_referral"] == 0.5
    assert quality.field_fill["outcome_type"] == 0.0
    assert set(quality.field_fill) == set(OPTIONAL_FIELDS)
    # Q1 2023/24 holds the first record; Q2 and Q3 have none but lie inside the span (true
    # zeros); 2024/25 Q2 holds the last (cancelled) record; Q3 and after are missing.
    covered = {label for label, has in quality.has_data.items() if has}
    assert covered == {
        "2023/24 Q1",
        "2023/24 Q2",
        "2023/24 Q3",
        "2023/24 Q4",
        "2024/25 Q1",
        "2024/25 Q2",
    }
