"""The comparison baseline of issue 4: the national table by direct GROUP BY over ``records``.

What a competent analyst would write against the store with no rollups: four statements,
each one pass over the active records (PostgreSQL may run it in parallel), grouped by
``GROUPING SETS`` into every force, every region and the nation at once, with exact medians
from ``percentile_cont(0.5)`` (the mean of the two middle values, as the standard says):

* cohort measures, by recorded_date in the period (recorded, cohort charged, CPS referred,
  suspect identified, repeat suspects, ISVA and SARC answers, days from offence to report);
* outcomes, by outcome_date in the period (assigned, charged, 14/16, 15, 18, days to charge
  and to outcome);
* device returns, by victim_device_returned_date in the period;
* snapshots at each period end (open, open over 365 days), pivoted: one pass counts every
  period end, rather than joining each record to every later period end.

Periods are a ``VALUES`` list joined by date range. The result maps ``(indicator, period
label, entity)`` to ``(numerator, denominator, value)`` exactly as the engine's exact table
reports them, so the benchmark checks that both agree on every cell before timing either.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import Connection, text

from adapters.indicators.measures import CHARGED_CODES
from schema.indicators.catalogue import IndicatorId
from schema.periods import Period

Entity = tuple[str, ...]
Figure = tuple[int | None, int | None, float | int | None]
Figures = dict[tuple[str, str, Entity], Figure]

_ACTIVE: Final = "COALESCE(r.record_status, 'active') = 'active'"
_ASSIGNED: Final = "r.outcome_type IS NOT NULL AND r.outcome_type <> '0'"
_CHARGED: Final = "r.outcome_type IN (" + ", ".join(f"'{c}'" for c in sorted(CHARGED_CODES)) + ")"
_MEDIAN: Final = "percentile_cont(0.5) WITHIN GROUP (ORDER BY {days})"
_GROUPS: Final = "GROUPING SETS ((p.label, r.force_code), (p.label, f.region), (p.label))"
_ENTITY: Final = "r.force_code, f.region, GROUPING(r.force_code, f.region)"


def _periods(periods: Sequence[Period]) -> str:
    rows = ", ".join(
        f"('{p.label}', DATE '{p.start.isoformat()}', DATE '{p.end.isoformat()}')" for p in periods
    )
    return f"p (label, start_date, end_date) AS (VALUES {rows})"


def _cohort(periods: Sequence[Period]) -> str:
    return f"""WITH {_periods(periods)},
        repeated AS (
            SELECT r.force_code, r.suspect_ref FROM records AS r
            WHERE {_ACTIVE} AND r.suspect_ref IS NOT NULL
            GROUP BY r.force_code, r.suspect_ref HAVING count(*) >= 2)
        SELECT p.label, {_ENTITY},
            count(*),
            count(*) FILTER (WHERE {_CHARGED}),
            count(r.cps_referral_date),
            count(r.suspect_identified_date),
            count(r.suspect_ref),
            count(x.suspect_ref),
            count(r.isva_referral),
            count(*) FILTER (WHERE r.isva_referral),
            count(r.sarc_referral),
            count(*) FILTER (WHERE r.sarc_referral),
            count(r.reported_date - r.offence_date),
            {_MEDIAN.format(days="r.reported_date - r.offence_date")}
        FROM records AS r
        JOIN p ON r.recorded_date BETWEEN p.start_date AND p.end_date
        JOIN forces AS f ON f.code = r.force_code
        LEFT JOIN repeated AS x
            ON x.force_code = r.force_code AND x.suspect_ref = r.suspect_ref
        WHERE {_ACTIVE}
        GROUP BY {_GROUPS}"""


def _outcomes(periods: Sequence[Period]) -> str:
    days = "r.outcome_date - r.recorded_date"
    return f"""WITH {_periods(periods)}
        SELECT p.label, {_ENTITY},
            count(*),
            count(*) FILTER (WHERE {_CHARGED}),
            count(*) FILTER (WHERE r.outcome_type IN ('14', '16')),
            count(*) FILTER (WHERE r.outcome_type = '15'),
            count(*) FILTER (WHERE r.outcome_type = '18'),
            {_MEDIAN.format(days=days)} FILTER (WHERE {_CHARGED}),
            {_MEDIAN.format(days=days)}
        FROM records AS r
        JOIN p ON r.outcome_date BETWEEN p.start_date AND p.end_date
        JOIN forces AS f ON f.code = r.force_code
        WHERE {_ACTIVE} AND {_ASSIGNED}
        GROUP BY {_GROUPS}"""


def _devices(periods: Sequence[Period]) -> str:
    days = "r.victim_device_returned_date - r.victim_device_seized_date"
    return f"""WITH {_periods(periods)}
        SELECT p.label, {_ENTITY},
            count(*),
            count(*) FILTER (WHERE {days} <= 1),
            {_MEDIAN.format(days=days)}
        FROM records AS r
        JOIN p ON r.victim_device_returned_date BETWEEN p.start_date AND p.end_date
        JOIN forces AS f ON f.code = r.force_code
        WHERE {_ACTIVE}
        GROUP BY {_GROUPS}"""


def _snapshots(periods: Sequence[Period]) -> str:
    columns = []
    for p in periods:
        end = f"DATE '{p.end.isoformat()}'"
        is_open = f"r.recorded_date <= {end} AND NOT ({_ASSIGNED} AND r.outcome_date <= {end})"
        columns.append(f"count(*) FILTER (WHERE {is_open})")
        columns.append(f"count(*) FILTER (WHERE {is_open} AND {end} - r.recorded_date > 365)")
    last = max(p.end for p in periods).isoformat()
    return f"""SELECT {_ENTITY}, {", ".join(columns)}
        FROM records AS r JOIN forces AS f ON f.code = r.force_code
        WHERE {_ACTIVE} AND r.recorded_date <= DATE '{last}'
          AND NOT ({_ASSIGNED} AND r.outcome_date <= DATE '{min(p.end for p in periods)}')
        GROUP BY GROUPING SETS ((r.force_code), (f.region), ())"""


def _entity(force: str | None, region: str | None, grouping: int) -> Entity:
    """The entity of a grouping set: ``GROUPING(force, region)`` has a bit per rolled-up key."""
    if grouping == 1:  # region rolled up: a force's row
        return ("force", str(force))
    if grouping == 2:  # force rolled up: a region's row
        return ("region", str(region))
    return ("national",)


def _ratio(n: int, d: int) -> Figure:
    return (n, d, n / d if d else None)


def _days(n: int, median: float | None) -> Figure:
    return (n, None, None if median is None else float(median))


def figures(conn: Connection, periods: Sequence[Period]) -> Figures:
    """Every cell's exact (numerator, denominator, value), forces, regions and the nation."""
    out: Figures = {}
    i = IndicatorId

    def put(indicator: IndicatorId, label: str, entity: Entity, figure: Figure) -> None:
        out[(indicator.value, label, entity)] = figure

    rows: Any = conn.execute(text(_cohort(periods))).tuples()
    for label, force, region, grouping, *v in rows:
        e = _entity(force, region, grouping)
        recorded, charged, cps, identified, with_ref, repeat, isva, isva_t, sarc, sarc_t = v[:10]
        put(i.RECORDED_OFFENCES, label, e, (recorded, None, recorded))
        put(i.CHARGE_RATE_COHORT, label, e, _ratio(charged, recorded))
        put(i.CPS_REFERRAL_RATE_COHORT, label, e, _ratio(cps, recorded))
        put(i.SUSPECT_IDENTIFIED_RATE_COHORT, label, e, _ratio(identified, recorded))
        put(i.REPEAT_SUSPECT_SHARE, label, e, _ratio(repeat, with_ref))
        put(i.ISVA_REFERRAL_RATE, label, e, _ratio(isva_t, isva))
        put(i.SARC_REFERRAL_RATE, label, e, _ratio(sarc_t, sarc))
        put(i.MEDIAN_DAYS_OFFENCE_TO_REPORT, label, e, _days(v[10], v[11]))
    rows = conn.execute(text(_outcomes(periods))).tuples()
    for label, force, region, grouping, *v in rows:
        e = _entity(force, region, grouping)
        assigned, charged, withdrawn, evidential, no_suspect, to_charge, to_outcome = v
        put(i.OUTCOMES_ASSIGNED, label, e, (assigned, None, assigned))
        put(i.CHARGE_OUTCOME_SHARE, label, e, _ratio(charged, assigned))
        put(i.VICTIM_WITHDRAWAL_SHARE, label, e, _ratio(withdrawn, assigned))
        put(i.EVIDENTIAL_DIFFICULTIES_SHARE, label, e, _ratio(evidential, assigned))
        put(i.NO_SUSPECT_SHARE, label, e, _ratio(no_suspect, assigned))
        put(i.MEDIAN_DAYS_TO_CHARGE, label, e, _days(charged, to_charge))
        put(i.MEDIAN_DAYS_TO_OUTCOME, label, e, _days(assigned, to_outcome))
    rows = conn.execute(text(_devices(periods))).tuples()
    for label, force, region, grouping, *v in rows:
        e = _entity(force, region, grouping)
        returned, within, median = v
        put(i.MEDIAN_DAYS_DEVICE_RETURN, label, e, _days(returned, median))
        put(i.DEVICE_RETURNED_WITHIN_1_DAY_SHARE, label, e, _ratio(within, returned))
    rows = conn.execute(text(_snapshots(periods))).tuples()
    for force, region, grouping, *v in rows:
        e = _entity(force, region, grouping)
        for k, p in enumerate(periods):
            put(i.OPEN_INVESTIGATIONS, p.label, e, (v[2 * k], None, v[2 * k]))
            put(i.OPEN_OVER_365_DAYS, p.label, e, (v[2 * k + 1], None, v[2 * k + 1]))
    return out
