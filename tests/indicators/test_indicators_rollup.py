"""The rollup tables stay exactly the ledger of the current active records.

Whatever sequence of submissions arrives (inserts, updates, cancellations, stale rows,
suspects moving between records), the rollups the hook maintained must equal the rollups
rebuilt from scratch; and figures move exactly as the records do.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy import Engine, text

from adapters.indicators.query import IndicatorQuery
from adapters.indicators.rollup import rebuild, rebuild_all
from adapters.indicators.source import LocalIndicatorSource
from adapters.store.errors import SubmissionRefusedError
from schema.indicators.catalogue import IndicatorId
from schema.indicators.partials import Partial
from schema.periods import Granularity, parse_period
from tests.indicators.indicator_testkit import (
    FIRST_ARRIVAL,
    Rec,
    Submission,
    histories,
    push,
    reset,
)

JAN, MAR = parse_period(Granularity.MONTH, "2024-01"), parse_period(Granularity.MONTH, "2024-03")
REPEAT_QUERY = IndicatorQuery((IndicatorId.REPEAT_SUSPECT_SHARE,), Granularity.MONTH, (JAN, MAR))


ROLLUPS = ("indicator_rollup", "indicator_rollup_days")


def _dump(
    engine: Engine, tables: tuple[str, ...] = (*ROLLUPS, "indicator_quality")
) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            table: sorted(
                conn.execute(
                    text(f"SELECT * FROM {table} WHERE force_code = :force"),
                    {"force": "kent"},
                ).tuples()
            )
            for table in tables
        }


def _send(engine: Engine, day: int, *records: Rec) -> None:
    push(engine, Submission("kent", FIRST_ARRIVAL + dt.timedelta(days=day), records))


def _repeat(engine: Engine) -> tuple[Partial, Partial]:
    got = LocalIndicatorSource(engine).partials("kent", REPEAT_QUERY)
    share = IndicatorId.REPEAT_SUSPECT_SHARE
    return got[(share, "2024-01", None)], got[(share, "2024-03", None)]


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=histories(max_submissions=5))
def test_maintained_rollups_equal_a_rebuild_from_scratch(
    engine: Engine, history: list[Submission]
) -> None:
    reset(engine)
    for submission in history:
        push(engine, submission)
    maintained = _dump(engine)
    with engine.begin() as conn:
        rebuild(conn, "kent")
    assert _dump(engine) == maintained


def test_cancelling_the_only_record_leaves_no_rollup_rows(engine: Engine) -> None:
    record = Rec(
        "c1", "19C", dt.date(2024, 1, 10), outcome_type="1", outcome_date=dt.date(2024, 2, 1)
    )
    _send(engine, 0, record)
    assert _dump(engine, ROLLUPS)["indicator_rollup"]
    _send(engine, 1, Rec("c1", "19C", dt.date(2024, 1, 10), record_status="cancelled"))
    assert _dump(engine, ROLLUPS) == {"indicator_rollup": [], "indicator_rollup_days": []}


def test_a_second_record_of_a_suspect_makes_the_first_a_repeat(engine: Engine) -> None:
    first = Rec("c1", "19C", dt.date(2024, 1, 10), suspect_ref="s1")
    _send(engine, 0, first)
    assert _repeat(engine) == (Partial(0, 1), Partial(0, 0))
    _send(engine, 1, Rec("c2", "20A", dt.date(2024, 3, 5), suspect_ref="s1"))
    assert _repeat(engine) == (Partial(1, 1), Partial(1, 1))


def test_moving_a_record_to_another_suspect_undoes_the_repeat(engine: Engine) -> None:
    _send(engine, 0, Rec("c1", "19C", dt.date(2024, 1, 10), suspect_ref="s1"))
    _send(engine, 1, Rec("c2", "20A", dt.date(2024, 3, 5), suspect_ref="s1"))
    _send(engine, 2, Rec("c2", "20A", dt.date(2024, 3, 5), suspect_ref="s2"))
    assert _repeat(engine) == (Partial(0, 1), Partial(0, 1))


def test_cancelling_a_record_undoes_the_repeat_of_its_suspect(engine: Engine) -> None:
    _send(engine, 0, Rec("c1", "19C", dt.date(2024, 1, 10), suspect_ref="s1"))
    _send(engine, 1, Rec("c2", "20A", dt.date(2024, 3, 5), suspect_ref="s1"))
    _send(
        engine,
        2,
        Rec("c2", "20A", dt.date(2024, 3, 5), suspect_ref="s1", record_status="transferred"),
    )
    assert _repeat(engine) == (Partial(0, 1), Partial(0, 0))


def test_a_stale_row_changes_no_figure(engine: Engine) -> None:
    newer = dt.datetime(2024, 12, 2, tzinfo=dt.UTC)
    _send(engine, 0, Rec("c1", "19C", dt.date(2024, 1, 10), suspect_ref="s1", updated_at=newer))
    before = _dump(engine)
    older = Rec("c1", "19C", dt.date(2024, 3, 10), updated_at=newer - dt.timedelta(days=1))
    _send(engine, 1, older)
    assert _dump(engine) == before


def test_dry_runs_and_refused_submissions_leave_the_rollups_alone(engine: Engine) -> None:
    _send(engine, 0, Rec("c1", "19C", dt.date(2024, 1, 10)))
    before = _dump(engine)
    change = Submission(
        "kent", FIRST_ARRIVAL + dt.timedelta(days=1), (Rec("c1", "19D", dt.date(2024, 1, 11)),)
    )
    push(engine, change, dry_run=True)
    assert _dump(engine) == before
    broken = Rec("c2", "19C", dt.date(2024, 1, 10), outcome_type="1")  # no outcome_date
    with pytest.raises(SubmissionRefusedError):
        _send(engine, 2, Rec("c1", "19D", dt.date(2024, 1, 11)), broken)
    assert _dump(engine) == before


def test_rebuild_all_restores_the_rollups_and_invalidates_cached_figures(engine: Engine) -> None:
    _send(engine, 0, Rec("c1", "19C", dt.date(2024, 1, 10), suspect_ref="s1"))
    _send(engine, 1, Rec("c2", "20A", dt.date(2024, 3, 5), suspect_ref="s1"))
    maintained = _dump(engine)
    source = LocalIndicatorSource(engine)
    version = source.data_version("kent")
    with engine.begin() as conn:
        for table in (*ROLLUPS, "indicator_quality"):
            conn.execute(text(f"DELETE FROM {table}"))
    rebuild_all(engine)
    assert _dump(engine) == maintained
    assert source.data_version("kent") == version + 1
