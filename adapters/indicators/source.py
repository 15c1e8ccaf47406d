"""The local indicator source: partials, data versions and data quality of forces held here.

This is the interface the gateway calls. Every method takes the forces explicitly and every
statement filters by them, so force isolation does not depend on the GraphQL layer.

- Current figures (``as_at`` None) read the rollup tables, once per table for all the forces
  asked for: two statements whatever the number of forces, periods and indicators, returning
  compact rows (``reading``).
- Figures as at T are computed per force from the versions valid at T (``asat``).

Reads run in one snapshot (REPEATABLE READ on PostgreSQL, a read transaction on SQLite), so
the measures, the histograms and the data versions returned together always agree.

A force's *stamp* is what a cache of its figures is keyed by: its ``data_version`` (bumped in
the ingestion transaction of every submission that changes a record) and its last
submission time (a submission of unchanged rows moves only that). ``stamps`` reads all of
them in one indexed statement, so a cache can check it is current on every query.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Any, Final

from sqlalchemy import Connection, Engine, bindparam, select, text

from adapters.indicators import asat, dialect, reading
from adapters.indicators.measures import READINGS, ReadingKind
from adapters.indicators.models import indicator_rollup, indicator_rollup_days
from adapters.indicators.quality import DataQuality, read_quality
from adapters.indicators.query import ForcePartials, IndicatorQuery
from adapters.indicators.rollup import changed_months
from adapters.indicators.wire import SourceAnswer
from adapters.store.engine import single_statement_reads
from adapters.store.errors import UnknownForceError
from adapters.store.models import ForceRow
from adapters.store.sql_text import sql_text
from schema import codelists
from schema.periods import Period

Stamp = tuple[int, Hashable]  # (data_version, last submission time as stored)
_STAMPS: Final = "SELECT code, data_version, last_submission_at FROM forces"
_STAMP_OF: Final = "SELECT data_version, last_submission_at FROM forces WHERE code = :force"
_STAMPS_OF: Final = text(
    "SELECT code, data_version, last_submission_at FROM forces WHERE code IN :forces"
).bindparams(bindparam("forces", expanding=True))
_FEW_FORCES: Final = 8  # up to this many, their own stamps are read rather than all 43
_NEVER: Final[Stamp] = (0, None)  # a force row not seeded: no data, never submitted


def _checked(forces: Iterable[str]) -> list[str]:
    unique = list(dict.fromkeys(forces))
    for force in unique:
        if codelists.force(force) is None:
            raise UnknownForceError(force)
    return unique


class LocalIndicatorSource:
    """Indicator partials of the forces whose records this database holds."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._one_statement = single_statement_reads(engine)

    def _snapshot(self) -> Connection:
        conn = self._engine.connect()
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        return conn

    def partials(self, force: str, query: IndicatorQuery) -> ForcePartials:
        """One force's partials (see ``partials_many``)."""
        return self.partials_many([force], query)[force]

    def partials_many(
        self, forces: Sequence[str], query: IndicatorQuery
    ) -> dict[str, ForcePartials]:
        """Each force's partials for every (indicator, period label, bucket or None).

        Every combination is present, zeros included: whether a force has data at all for
        a period is ``quality``'s question, not a zero here.
        """
        return self.versioned_partials_many(forces, query)[0]

    def versioned_partials_many(
        self, forces: Sequence[str], query: IndicatorQuery
    ) -> tuple[dict[str, ForcePartials], dict[str, int]]:
        """``partials_many`` and the data version each force's partials were read at."""
        checked = _checked(forces)
        p = reading.plan(query)
        with self._snapshot() as conn, dialect.roomy_planner(conn, restore=False):
            versions = _data_versions(conn, checked)
            if query.as_at is None:
                return _current(conn, checked, query, p), versions
            result: dict[str, ForcePartials] = {}
            for force in checked:
                measure_rows, day_rows = asat.read(conn, force, p, query.as_at)
                result |= reading.assemble(query, p, [force], measure_rows, day_rows)
            return result, versions

    def answer(self, forces: Sequence[str], query: IndicatorQuery) -> SourceAnswer:
        """Partials, data quality and stamps of ``forces``, all read in one snapshot."""
        checked = _checked(forces)
        p = reading.plan(query)
        with self._snapshot() as conn, dialect.roomy_planner(conn, restore=False):
            stamps = _stamps(conn)
            if query.as_at is None:
                partials = _current(conn, checked, query, p)
            else:
                partials = {}
                for force in checked:
                    measure_rows, day_rows = asat.read(conn, force, p, query.as_at)
                    partials |= reading.assemble(query, p, [force], measure_rows, day_rows)
            quality = read_quality(conn, checked, query.periods)
        return SourceAnswer(partials, quality, {f: stamps.get(f, _NEVER) for f in checked})

    def refresh(
        self, force: str, query: IndicatorQuery, old: ForcePartials, version: int
    ) -> SourceAnswer | None:
        """The force's current answer from ``old``, its partials at data ``version``.

        Counts, ratios and snapshots are read again (the measure rows are few); histograms
        only for the periods holding a month that a version since changed
        (``rollup.changed_months``), the others kept from ``old``. None when the versions
        since are not all listed (a rebuild, or long ago): read the force in full.
        """
        checked = _checked([force])
        if query.as_at is not None:
            return None
        p = reading.plan(query)
        # One force's rollup rows, few: the planner settings for large groupings
        # (``dialect.roomy_planner``) would cost a round trip and gain nothing here.
        with self._snapshot() as conn:
            stamp = _stamp_of(conn, force)
            months = changed_months(conn, force, version, stamp[0])
            if months is None:
                return None
            params = reading.parameters(p, checked)
            measure_rows: Sequence[Any] = ()
            if p.measures:
                statement = reading.measure_statement(p, indicator_rollup.name)
                measure_rows = conn.execute(statement, params).tuples().all()
            touched = reading.touched_periods(p, months) if p.day_measures else set()
            day_rows: Sequence[Any] = ()
            if touched:
                statement = reading.day_statement(p, indicator_rollup_days.name, periods=touched)
                day_rows = conn.execute(statement, params).tuples().all()
            quality = read_quality(conn, checked, query.periods)
        fresh = dict(reading.assemble(query, p, checked, measure_rows, day_rows)[force])
        kept = {query.periods[i].label for i in range(len(query.periods))} - {
            query.periods[i].label for i in touched
        }
        for key in fresh:
            indicator, label, _ = key
            if label in kept and READINGS[indicator].kind is ReadingKind.DAYS:
                fresh[key] = old[key]
        # A submission outside this query's periods leaves its figures as they were: the
        # same object then says so to the tables built from it (which are then kept).
        answer: ForcePartials = old if fresh == old else fresh
        return SourceAnswer({force: answer}, quality, {force: stamp})

    def stamps(self, forces: Sequence[str]) -> dict[str, Stamp]:
        """Each force's stamp (data version, last submission time): one small statement,
        of the forces asked for when they are a few (every query checks them)."""
        checked = _checked(forces)
        with self._one_statement.connect() as conn:
            if len(checked) > _FEW_FORCES:
                stamps = _stamps(conn)
            else:
                rows = conn.execute(_STAMPS_OF, {"forces": checked})
                stamps = {str(code): (int(version), at) for code, version, at in rows}
        return {f: stamps.get(f, _NEVER) for f in checked}

    def data_version(self, force: str) -> int:
        """The force's counter, bumped by every submission that changes a record."""
        return self.data_versions([force])[force]

    def data_versions(self, forces: Sequence[str]) -> dict[str, int]:
        checked = _checked(forces)
        with self._one_statement.connect() as conn:
            return _data_versions(conn, checked)

    def quality(self, force: str, periods: Sequence[Period]) -> DataQuality:
        return self.quality_many([force], periods)[force]

    def quality_many(
        self, forces: Sequence[str], periods: Sequence[Period]
    ) -> dict[str, DataQuality]:
        """Quality of each force, from kept counts and index probes (no scan of records)."""
        checked = _checked(forces)
        with self._snapshot() as conn:
            return read_quality(conn, checked, periods)


def _data_versions(conn: Connection, forces: list[str]) -> dict[str, int]:
    rows = conn.execute(
        select(ForceRow.code, ForceRow.data_version).where(ForceRow.code.in_(forces))
    ).tuples()
    return {code: int(version) for code, version in rows}


def _stamps(conn: Connection) -> dict[str, Stamp]:
    return {str(code): (int(version), at) for code, version, at in conn.exec_driver_sql(_STAMPS)}


def _stamp_of(conn: Connection, force: str) -> Stamp:
    """One force's stamp, as ``_stamps`` reads it (untyped: the stored values as they are)."""
    row = conn.execute(sql_text(_STAMP_OF), {"force": force}).first()
    return _NEVER if row is None else (int(row[0]), row[1])


def _current(
    conn: Connection, forces: list[str], query: IndicatorQuery, p: reading.Plan
) -> dict[str, ForcePartials]:
    params = reading.parameters(p, forces)
    measure_rows: Sequence[Any] = ()
    day_rows: Sequence[Any] = ()
    if p.measures:
        statement = reading.measure_statement(p, indicator_rollup.name)
        measure_rows = conn.execute(statement, params).tuples().all()
    if p.day_measures:
        statement = reading.day_statement(p, indicator_rollup_days.name)
        day_rows = conn.execute(statement, params).tuples().all()
    return reading.assemble(query, p, forces, measure_rows, day_rows)
