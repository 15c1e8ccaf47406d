"""Whatever the batch size, a push stores what the upsert rules say, and the rollups follow.

On PostgreSQL a push whose force is free merges every ``BATCH_ROWS`` rows on a worker
thread while it reads on; rows it knows to be new (a force's first push, or crime_refs the
probe does not find) are COPYed straight into ``records``, the others staged and
classified. With batches of one to a few rows, hypothesis histories take every branch: a
first push in several batches, probed batches that are all new, mixed or mostly stored
(which stops the probe), and the rows left at the end. On SQLite there are no batches;
the same rules must hold.

The expected store is computed here from the rules alone (new inserts; a changed row
updates and keeps the old version; an identical row is unchanged; an older ``updated_at``
is stale and not applied), and the rollups kept by the hook must equal a rebuild.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select, text

from adapters.indicators.rollup import rebuild
from adapters.store import ingest as ingest_module
from adapters.store.errors import SubmissionRefusedError
from adapters.store.models import record_versions, records
from schema.record import FIELD_NAMES
from tests.indicators.indicator_testkit import (
    FIRST_ARRIVAL,
    Rec,
    Submission,
    histories,
    push,
    reset,
)

FORCE = "kent"
_UPDATED_AT = FIELD_NAMES.index("updated_at")
_STATUS = FIELD_NAMES.index("record_status")

Content = tuple[Any, ...]


def _content(record: Rec) -> Content:
    values = list(record.content())
    if values[_STATUS] is None:
        values[_STATUS] = "active"  # the standard's default
    return tuple(values)


def _expect(model: dict[str, tuple[Content, int]], submission: Submission) -> Counter[str]:
    """Apply ``submission`` to ``model`` (crime_ref -> (content, version)) by the rules."""
    counts: Counter[str] = Counter()
    for record in submission.records:
        new = _content(record)
        stored = model.get(record.crime_ref)
        if stored is None:
            model[record.crime_ref] = (new, 1)
            counts["inserted"] += 1
            continue
        old, version = stored
        old_at, new_at = old[_UPDATED_AT], new[_UPDATED_AT]
        if old_at is not None and new_at is not None and new_at < old_at:
            counts["stale"] += 1
        elif new == old:
            counts["unchanged"] += 1
        else:
            model[record.crime_ref] = (new, version + 1)
            counts["updated"] += 1
    return counts


def _rollups(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    tables = ("indicator_rollup", "indicator_rollup_days", "indicator_quality")
    with engine.connect() as conn:
        return {
            table: sorted(
                conn.execute(
                    text(f"SELECT * FROM {table} WHERE force_code = :force"), {"force": FORCE}
                ).tuples()
            )
            for table in tables
        }


def _stored(engine: Engine) -> dict[str, tuple[Content, int]]:
    columns = [records.c[name] for name in FIELD_NAMES]
    with engine.connect() as conn:
        rows = conn.execute(
            select(*columns, records.c.version).where(records.c.force_code == FORCE)
        ).tuples()
        return {row[0]: (tuple(row[:-1]), row[-1]) for row in rows}


def _versions_kept(engine: Engine) -> int:
    with engine.connect() as conn:
        query = select(func.count()).select_from(record_versions)
        return int(conn.execute(query.where(record_versions.c.force_code == FORCE)).scalar_one())


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=histories(refs=12, max_submissions=4), batch_rows=st.integers(1, 4))
def test_batched_pushes_store_what_the_rules_say(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, history: list[Submission], batch_rows: int
) -> None:
    reset(engine)
    monkeypatch.setattr(ingest_module, "BATCH_ROWS", batch_rows)
    model: dict[str, tuple[Content, int]] = {}
    for submission in history:
        wanted = _expect(model, submission)
        receipt = push(engine, submission).receipt
        got = {name: getattr(receipt, name) for name in ("inserted", "updated", "unchanged")}
        got["stale"] = receipt.stale
        assert got == {name: wanted[name] for name in got}
    assert _stored(engine) == model
    assert _versions_kept(engine) == sum(version - 1 for _content, version in model.values())
    maintained = _rollups(engine)
    with engine.begin() as conn:
        rebuild(conn, FORCE)
    assert _rollups(engine) == maintained


def test_an_error_after_merged_batches_stores_nothing(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches already merged (new rows COPYed in, updates applied) are rolled back."""
    monkeypatch.setattr(ingest_module, "BATCH_ROWS", 2)
    first = Submission(
        FORCE,
        FIRST_ARRIVAL,
        tuple(Rec(f"c{i}", "19C", _day(i)) for i in range(5)),
    )
    push(engine, first)
    before, rollups = _stored(engine), _rollups(engine)
    changed = [Rec(f"c{i}", "20A", _day(i)) for i in range(3)]
    new = [Rec(f"n{i}", "19C", _day(i)) for i in range(4)]
    broken = Rec("n9", "19C", _day(1), outcome_type="1")  # an outcome without its date
    second = Submission(FORCE, FIRST_ARRIVAL + dt.timedelta(days=1), (*changed, *new, broken))
    with pytest.raises(SubmissionRefusedError):
        push(engine, second)
    assert _stored(engine) == before
    assert _versions_kept(engine) == 0
    assert _rollups(engine) == rollups


def _day(i: int) -> dt.date:
    return dt.date(2024, 1, 10) + dt.timedelta(days=i)
