"""Deterministic synthetic RASSO records in Record Standard v1 (see docs/synthetic-data.md).

Every value is invented: no real case data is read or reproduced. The distributions are
set so that the indicators computed from them look like published national figures
(``shared/reference/SOURCES.md``), and every row passes every rule of the standard, with
no warnings.

Speed: rows are tuples of strings in ``FIELD_NAMES`` order, built without per-row objects;
every categorical or duration draw is one lookup in a 4,096-entry table indexed by
``getrandbits(12)``. Determinism: each force draws from its own ``random.Random`` seeded
with ``(seed, force)``, so a force's rows do not depend on which other forces are made.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import math
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from statistics import NormalDist
from typing import Final, NamedTuple, TypeVar

from gateway.demo.volumes import ANNUAL_VOLUMES
from schema import codelists
from schema.codelists import OffenceGroup
from schema.record import (
    AGE_BAND_RANGES,
    EARLIEST_RECORDED_DATE,
    FIELD_INDEX,
    FIELD_NAMES,
    FIELDS,
    OFFENCE_AGE_RANGES,
    Kind,
)

Row = tuple[str, ...]

# The generator builds each row literally in this order; fail at import, not silently,
# if the standard's field order ever changes.
_ROW_ORDER: Final = (
    "crime_ref",
    "offence_code",
    "recorded_date",
    "reported_date",
    "offence_date",
    "victim_age_band",
    "victim_sex",
    "relationship",
    "suspect_ref",
    "suspect_identified_date",
    "cps_referral_date",
    "outcome_type",
    "outcome_date",
    "isva_referral",
    "sarc_referral",
    "victim_device_seized_date",
    "victim_device_returned_date",
    "record_status",
    "updated_at",
)
if _ROW_ORDER != FIELD_NAMES:  # pragma: no cover - guards a schema change
    raise RuntimeError("gateway.demo.synthetic builds rows in an outdated field order")

_BITS: Final = 12
_SIZE: Final = 1 << _BITS
_E0: Final = EARLIEST_RECORDED_DATE.toordinal()
# Reference hex: ((counter * _ODD) ^ key) mod 2**32 is a bijection (an odd multiplier and an
# XOR both are), so distinct counters give distinct, random-looking eight-digit references.
_ODD: Final = 0x9E3779B1
_T = TypeVar("_T")
Quantile = Callable[[float], int]


# --- lookup tables -----------------------------------------------------------------------


def _slots(weights: Sequence[float]) -> list[int]:
    """Split ``_SIZE`` table slots in proportion to weights (largest remainder)."""
    total = sum(weights)
    exact = [w / total * _SIZE for w in weights]
    counts = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda k: counts[k] - exact[k])
    for k in by_remainder[: _SIZE - sum(counts)]:
        counts[k] += 1
    return counts


def _table(pairs: Sequence[tuple[_T, float]]) -> tuple[_T, ...]:
    """A categorical distribution as a lookup table: ``table[getrandbits(12)]``."""
    out: list[_T] = []
    for (value, _), count in zip(pairs, _slots([w for _, w in pairs]), strict=True):
        out.extend([value] * count)
    return tuple(out)


def _days(parts: Sequence[tuple[Quantile, float]]) -> tuple[int, ...]:
    """A mixture of day-count distributions as a table of its quantiles."""
    out: list[int] = []
    for (quantile, _), count in zip(parts, _slots([w for _, w in parts]), strict=True):
        out.extend(quantile((j + 0.5) / count) for j in range(count))
    return tuple(out)


def _lognormal(median: float, sigma: float, low: int = 0, high: int = 3650) -> Quantile:
    inv = NormalDist().inv_cdf
    return lambda p: min(high, max(low, round(median * math.exp(sigma * inv(p)))))


def _uniform(low: int, high: int) -> Quantile:
    return lambda p: low + int(p * (high - low + 1))


def _const(days: int) -> Quantile:
    return lambda _p: days


# --- distributions (the figures behind them are in docs/synthetic-data.md) --------------

_REPORT_TO_RECORD: Final = _days(
    [(_const(0), 0.30), (_const(1), 0.30), (_uniform(2, 7), 0.30), (_uniform(8, 30), 0.10)]
)
_RECENT_OFFENCE_TO_REPORT: Final = _days(
    [(_const(0), 0.35), (_uniform(1, 7), 0.30), (_uniform(8, 60), 0.25), (_uniform(61, 365), 0.10)]
)
_HISTORIC_OFFENCE_TO_REPORT: Final = _days([(_lognormal(2200, 0.7, 366, 14600), 1.0)])
_REPORT_TO_SUSPECT: Final = _days([(_const(0), 0.65), (_lognormal(30, 1.2, 1, 400), 0.35)])
_RECORD_TO_CPS_OPEN: Final = _days([(_lognormal(200, 0.6, 14, 1200), 1.0)])
_RECORD_TO_SEIZURE: Final = _days([(_const(0), 0.45), (_lognormal(4, 0.9, 1, 60), 0.55)])
_SEIZURE_TO_RETURN: Final = _days(
    [(_uniform(0, 1), 0.22), (_lognormal(60, 0.8, 2, 240), 0.66), (_const(-1), 0.12)]
)
_CLOSE_TO_UPDATE: Final = _days([(_const(0), 0.6), (_uniform(1, 5), 0.4)])
_TIMES: Final = tuple(f"T{h:02d}:{m:02d}:00+00:00" for h in range(6, 22) for m in (0, 15, 30, 45))
_END_DAY_TIME: Final = "T00:00:00+00:00"
_STATUSES: Final = _table([("active", 0.984), ("cancelled", 0.010), ("transferred", 0.006)])

# Recorded-to-outcome days by outcome (lognormal median, spread).
_FAST: Final = _days([(_lognormal(60, 0.9), 1.0)])  # 18: no suspect identified
_T14: Final = _days([(_lognormal(80, 1.0), 1.0)])
_T16: Final = _days([(_lognormal(170, 0.9), 1.0)])
_T15: Final = _days([(_lognormal(260, 0.8), 1.0)])
_T_OTHER: Final = _days([(_lognormal(180, 1.0), 1.0)])
_T_CPS: Final = _days([(_lognormal(320, 0.7), 1.0)])
_T_CHARGE_RAPE: Final = _days([(_lognormal(420, 0.6), 1.0)])
_T_CHARGE_OTHER: Final = _days([(_lognormal(300, 0.7), 1.0)])

Outcome = tuple[str, tuple[int, ...], float]  # code, recorded-to-outcome days, P(CPS referral)

_NO_SUSPECT_OUTCOMES: Final[tuple[Outcome, ...]] = _table(
    [
        (("18", _FAST, 0.0), 0.50),
        (("14", _T14, 0.0), 0.35),
        (("21", _T_OTHER, 0.0), 0.05),
        (("20", _T_OTHER, 0.0), 0.04),
        (("10", _T_OTHER, 0.0), 0.06),
    ]
)


def _suspect_outcomes(charge: float, charge_days: tuple[int, ...]) -> tuple[Outcome, ...]:
    rest = 1.0 - charge
    return _table(
        [
            (("1", charge_days, 1.0), charge * 0.95),
            (("1A", charge_days, 1.0), charge * 0.05),
            (("15", _T15, 0.30), rest * 0.39),
            (("16", _T16, 0.08), rest * 0.36),
            (("10", _T_OTHER, 0.0), rest * 0.05),
            (("21", _T_OTHER, 0.0), rest * 0.045),
            (("20", _T_OTHER, 0.0), rest * 0.03),
            (("9", _T_CPS, 1.0), rest * 0.02),
            (("3", _T_OTHER, 0.0), rest * 0.025),
            (("2", _T_OTHER, 0.0), rest * 0.015),
            (("8", _T_OTHER, 0.0), rest * 0.01),
            (("22", _T_OTHER, 0.0), rest * 0.01),
            (("13", _T_OTHER, 0.0), rest * 0.004),
            (("5", _T_OTHER, 0.0), rest * 0.003),
            (("12", _T_OTHER, 0.0), rest * 0.003),
        ]
    )


_RAPE_OUTCOMES: Final = _suspect_outcomes(0.08, _T_CHARGE_RAPE)
_OTHER_OUTCOMES: Final = _suspect_outcomes(0.12, _T_CHARGE_OTHER)

_AGES: Final[dict[str, tuple[tuple[str, float], ...]]] = {
    "adult": (
        ("16-17", 0.07),
        ("18-24", 0.30),
        ("25-34", 0.27),
        ("35-44", 0.16),
        ("45-54", 0.09),
        ("55-64", 0.04),
        ("65+", 0.02),
        ("unknown", 0.05),
    ),
    "13+": (
        ("13-15", 0.14),
        ("16-17", 0.09),
        ("18-24", 0.25),
        ("25-34", 0.20),
        ("35-44", 0.13),
        ("45-54", 0.09),
        ("55-64", 0.04),
        ("65+", 0.02),
        ("unknown", 0.04),
    ),
    "under16": (("0-12", 0.30), ("13-15", 0.65), ("unknown", 0.05)),
    "under13": (("0-12", 0.95), ("unknown", 0.05)),
    "child": (("0-12", 0.25), ("13-15", 0.50), ("16-17", 0.20), ("unknown", 0.05)),
    "trust": (("13-15", 0.30), ("16-17", 0.55), ("18-24", 0.10), ("unknown", 0.05)),
    "any": (
        ("0-12", 0.07),
        ("13-15", 0.12),
        ("16-17", 0.07),
        ("18-24", 0.21),
        ("25-34", 0.20),
        ("35-44", 0.13),
        ("45-54", 0.09),
        ("55-64", 0.04),
        ("65+", 0.02),
        ("unknown", 0.05),
    ),
}
_SEXES: Final[dict[str, tuple[tuple[str, float], ...]]] = {
    "F": (("F", 0.993), ("U", 0.005), ("", 0.002)),
    "M": (("M", 0.993), ("U", 0.005), ("", 0.002)),
    "any": (("F", 0.84), ("M", 0.13), ("X", 0.004), ("U", 0.016), ("", 0.01)),
}
# (relationship, weight); blank = not recorded.
_RELATIONSHIPS: Final[dict[str, tuple[tuple[str, float], ...]]] = {
    "adult": (
        ("partner_or_ex_partner", 0.48),
        ("acquaintance", 0.30),
        ("family_member", 0.03),
        ("stranger", 0.08),
        ("other", 0.05),
        ("unknown", 0.04),
        ("", 0.02),
    ),
    "child": (
        ("partner_or_ex_partner", 0.05),
        ("acquaintance", 0.38),
        ("family_member", 0.30),
        ("stranger", 0.06),
        ("other", 0.11),
        ("unknown", 0.07),
        ("", 0.03),
    ),
    "exposure": (
        ("acquaintance", 0.30),
        ("stranger", 0.45),
        ("other", 0.10),
        ("unknown", 0.12),
        ("", 0.03),
    ),
    "family": (("family_member", 0.90), ("unknown", 0.05), ("", 0.05)),
    "trust": (("other", 0.60), ("acquaintance", 0.32), ("unknown", 0.05), ("", 0.03)),
}
# P(a suspect is named) by relationship.
_SUSPECT_P: Final = {
    "partner_or_ex_partner": 0.97,
    "family_member": 0.97,
    "acquaintance": 0.90,
    "other": 0.85,
    "stranger": 0.40,
    "unknown": 0.50,
    "": 0.70,
}

# code: (share of all sexual offences, sex, age, relationship, P(historic offence)).
_OFFENCE_MIX: Final[dict[str, tuple[float, str, str, str, float]]] = {
    "19C": (0.37 * 0.650, "F", "adult", "adult", 0.24),
    "19F": (0.37 * 0.050, "M", "adult", "adult", 0.30),
    "19D": (0.37 * 0.150, "F", "under16", "child", 0.50),
    "19E": (0.37 * 0.090, "F", "under13", "child", 0.60),
    "19G": (0.37 * 0.015, "M", "under16", "child", 0.55),
    "19H": (0.37 * 0.045, "M", "under13", "child", 0.65),
    "20A": (0.63 * 0.400, "F", "13+", "adult", 0.14),
    "17A": (0.63 * 0.040, "M", "13+", "adult", 0.20),
    "20B": (0.63 * 0.060, "F", "under13", "child", 0.50),
    "17B": (0.63 * 0.030, "M", "under13", "child", 0.55),
    "21": (0.63 * 0.020, "any", "under13", "child", 0.50),
    "22A": (0.63 * 0.020, "any", "any", "adult", 0.18),
    "22B": (0.63 * 0.100, "any", "under16", "child", 0.32),
    "23": (0.63 * 0.010, "any", "child", "family", 0.70),
    "70": (0.63 * 0.005, "any", "any", "adult", 0.12),
    "71": (0.63 * 0.040, "any", "child", "child", 0.38),
    "72": (0.63 * 0.002, "any", "any", "adult", 0.06),
    "73": (0.63 * 0.010, "any", "trust", "trust", 0.38),
    "88A": (0.63 * 0.030, "any", "child", "child", 0.06),
    "88C": (0.63 * 0.030, "any", "any", "adult", 0.12),
    "88D": (0.63 * 0.003, "any", "any", "adult", 0.12),
    "88E": (0.63 * 0.200, "any", "any", "exposure", 0.03),
}


def _band_fits(code: str, band: str) -> bool:
    """True when the age band cannot contradict the offence code's age range."""
    low, high = OFFENCE_AGE_RANGES.get(code, (None, None))
    if band not in AGE_BAND_RANGES:
        return True  # "unknown"
    band_low, band_high = AGE_BAND_RANGES[band]
    return (low is None or band_low >= low) and (
        high is None or (band_high is not None and band_high <= high)
    )


class _Profile(NamedTuple):
    code: str
    sexes: tuple[str, ...]
    ages: tuple[str, ...]
    relationships: tuple[tuple[str, float], ...]  # (relationship, P(suspect named))
    historic: float
    outcomes: tuple[Outcome, ...]
    isva: tuple[str, ...]
    sarc_recent: tuple[str, ...]
    sarc_historic: tuple[str, ...]
    device: float


def _profile(code: str) -> _Profile:
    _share, sex, age, relationship, historic = _OFFENCE_MIX[code]
    rape = codelists.offence_codes_by_code()[code].group is not OffenceGroup.OTHER_SEXUAL
    ages = [(band, w) for band, w in _AGES[age] if _band_fits(code, band)]
    return _Profile(
        code=code,
        sexes=_table(_SEXES[sex]),
        ages=_table(ages),
        relationships=_table([((r, _SUSPECT_P[r]), w) for r, w in _RELATIONSHIPS[relationship]]),
        historic=historic,
        outcomes=_RAPE_OUTCOMES if rape else _OTHER_OUTCOMES,
        isva=_table(
            [("true", 0.65), ("false", 0.20), ("", 0.15)]
            if rape
            else [("true", 0.40), ("false", 0.40), ("", 0.20)]
        ),
        sarc_recent=_table(
            [("true", 0.50), ("false", 0.32), ("", 0.18)]
            if rape
            else [("true", 0.15), ("false", 0.65), ("", 0.20)]
        ),
        sarc_historic=_table([("true", 0.08), ("false", 0.72), ("", 0.20)]),
        device=0.30 if rape else 0.10,
    )


_PROFILES: Final = {code: _profile(code) for code in _OFFENCE_MIX}
_OFFENCES: Final = _table([(_PROFILES[code], mix[0]) for code, mix in _OFFENCE_MIX.items()])
_REPEAT_SUSPECT_P: Final = 0.065  # a new case names a suspect already on a recent case
_SUSPECT_WINDOW: Final = 1500  # ...drawn from the force's last 1,500 named suspects
_NOT_RECORDED_P: Final = 0.03  # offence_date (or, at 1 %, reported_date) not recorded
_NO_SUSPECT_DATE_P: Final = 0.07  # suspect named, identification date not recorded
_CPS_WHILE_OPEN_P: Final = 0.12  # an open case with a suspect awaiting a CPS decision


@lru_cache(maxsize=8)
def _date_strings(end_ordinal: int) -> tuple[str, ...]:
    """ISO strings for every day from 2000-01-01 to ``end``: ``dates[ordinal - _E0]``."""
    return tuple(dt.date.fromordinal(o).isoformat() for o in range(_E0, end_ordinal + 1))


def ref_prefix(force_code: str) -> str:
    """The crime/suspect reference prefix of a force: its ONS area code, shortened (E01)."""
    force = codelists.force(force_code)
    if force is None:
        raise ValueError(f"unknown force code {force_code!r}")
    return force.ons_code[0] + force.ons_code[-2:]


def row_count(force_code: str, *, years: float, scale: float = 1.0) -> int:
    """How many rows ``generate_rows`` makes: annual volume x years x scale, rounded."""
    ref_prefix(force_code)  # validates the code
    if years <= 0 or scale < 0:
        raise ValueError("years must be positive and scale not negative")
    return round(ANNUAL_VOLUMES[force_code] * years * scale)


def generate_rows(
    force_code: str, *, years: float, seed: int, end: dt.date, scale: float = 1.0
) -> Iterator[Row]:
    """Rows of strings in ``FIELD_NAMES`` order ('' for absent) for one force.

    Recorded dates cover the ``years`` (365.25 days each) up to and including ``end``,
    spread evenly with random jitter, in date order; there are ``row_count(...)`` rows. The
    same arguments always give the same rows, whatever other forces are generated.
    """
    count = row_count(force_code, years=years, scale=scale)
    if end < EARLIEST_RECORDED_DATE:
        raise ValueError(f"end must be on or after {EARLIEST_RECORDED_DATE}")
    rng = random.Random(f"soteria-synthetic/{seed}/{force_code}")  # noqa: S311 - not secret
    return _rows(ref_prefix(force_code), count, years, rng, end.toordinal())


def _rows(
    prefix: str, count: int, years: float, rng: random.Random, end_ordinal: int
) -> Iterator[Row]:
    e0, end = _E0, end_ordinal
    dates = _date_strings(end)
    end_stamp = dates[end - e0] + _END_DAY_TIME
    bits, rand = rng.getrandbits, rng.random
    start = max(e0, end - max(1, round(years * 365.25)) + 1)
    step = (end - start + 1) / count if count else 0.0
    crime_key, suspect_key = bits(32), bits(32)
    offences, statuses, no_suspect = _OFFENCES, _STATUSES, _NO_SUSPECT_OUTCOMES
    report_to_record, recent, historic_delay = (
        _REPORT_TO_RECORD,
        _RECENT_OFFENCE_TO_REPORT,
        _HISTORIC_OFFENCE_TO_REPORT,
    )
    to_suspect, cps_open, to_seizure, to_return = (
        _REPORT_TO_SUSPECT,
        _RECORD_TO_CPS_OPEN,
        _RECORD_TO_SEIZURE,
        _SEIZURE_TO_RETURN,
    )
    close_to_update, times = _CLOSE_TO_UPDATE, _TIMES
    ring: list[str] = []
    window, named = _SUSPECT_WINDOW, 0
    odd, suspect_prefix, crime_prefix = _ODD, prefix + "-S", prefix + "-"
    for i in range(count):
        rec = start + int((i + rand()) * step)
        code, sexes, ages, rels, historic, outcomes, isva, sarc_recent, sarc_historic, device = (
            offences[bits(12)]
        )
        relationship, suspect_p = rels[bits(12)]
        rep = rec - report_to_record[bits(12)]
        if rep < e0:  # noqa: PLR1730 - a compare is cheaper than a max() call per row
            rep = e0
        if rand() < historic:
            off = rep - historic_delay[bits(12)]
            sarc = sarc_historic
        else:
            off = rep - recent[bits(12)]
            sarc = sarc_recent
        if off < e0:
            off = e0 + int(rand() * (rep - e0 + 1))
        status = statuses[bits(12)]
        suspect = rand() < suspect_p
        outcome, days, cps_p = outcomes[bits(12)] if suspect else no_suspect[bits(12)]
        out = rec + days[bits(12)]
        closed = out <= end and status == "active"
        # Ordinals of the dates set below (0 = not set), for updated_at.
        ident = referred = taken = back = 0

        suspect_ref = identified = ""
        if suspect:
            ident = rep + to_suspect[bits(12)]
            if closed and ident > out:
                ident = out
            if ident <= end:
                if named and rand() < _REPEAT_SUSPECT_P:
                    suspect_ref = ring[(named - 1 - int(rand() * min(named, window))) % window]
                else:
                    suspect_ref = (
                        suspect_prefix
                        + hex((((named * odd) ^ suspect_key) & 0xFFFFFFFF) | 0x1_0000_0000)[3:]
                    )
                    if named < window:
                        ring.append(suspect_ref)
                    else:
                        ring[named % window] = suspect_ref
                    named += 1
                if rand() < _NO_SUSPECT_DATE_P:
                    ident = 0
                else:
                    identified = dates[ident - e0]
            else:
                ident = 0

        cps = ""
        if closed:
            if cps_p >= 1.0 or (cps_p and rand() < cps_p):
                cps = dates[rec + int((out - rec) * (0.3 + 0.65 * rand())) - e0]
            outcome_date = dates[out - e0]
        else:
            outcome = outcome_date = ""
            out = 0
            if suspect_ref and rand() < _CPS_WHILE_OPEN_P:
                referred = rec + cps_open[bits(12)]
                if referred <= end:
                    cps = dates[referred - e0]
                else:
                    referred = 0

        seized = returned = ""
        if rand() < device:
            taken = rec + to_seizure[bits(12)]
            if taken <= end:
                seized = dates[taken - e0]
                back = taken + to_return[bits(12)]
                if taken <= back <= end:
                    returned = dates[back - e0]
                else:
                    back = 0
            else:
                taken = 0

        # The latest date set, for updated_at (conditional expressions: cheaper than max()).
        latest = out if out else rec
        latest = ident if ident > latest else latest
        latest = referred if referred > latest else latest
        latest = taken if taken > latest else latest
        latest = back if back > latest else latest
        if closed or status != "active":
            touched = latest + close_to_update[bits(12)]
        else:
            touched = latest + int(rand() * (end - latest + 1))
        updated = end_stamp if touched >= end else dates[touched - e0] + times[bits(6)]

        missing = rand()
        recorded = dates[rec - e0]
        draw = bits(48)  # four table draws from one call
        yield (
            crime_prefix
            + recorded[:4]
            + "-"
            + hex((((i * odd) ^ crime_key) & 0xFFFFFFFF) | 0x1_0000_0000)[3:],
            code,
            recorded,
            "" if missing < 0.01 else dates[rep - e0],
            "" if missing < _NOT_RECORDED_P else dates[off - e0],
            ages[draw & 4095],
            sexes[(draw >> 12) & 4095],
            relationship,
            suspect_ref,
            identified,
            cps,
            outcome,
            outcome_date,
            isva[(draw >> 24) & 4095],
            sarc[draw >> 36],
            seized,
            returned,
            status,
            updated,
        )


_DATE_POSITIONS: Final = tuple(i for i, f in enumerate(FIELDS) if f.kind is Kind.DATE)
_ROW = FIELD_INDEX  # short alias for the positions used by update_rows


def update_rows(rows: Iterable[Row], *, seed: int, fraction: float, end: dt.date) -> Iterator[Row]:
    """A later version of about ``fraction`` of ``rows``, as the cases stood at ``end``.

    Only changed rows are yielded, each with an ``updated_at`` on a later day than its old
    one (and not after ``end``): an open case may have a suspect identified, be referred to
    the CPS or be given an outcome (charges always after a CPS referral); a closed case may
    have its victim's device returned or an ISVA referral recorded; cancelled and
    transferred records are only touched. Rows that cannot move forward (their latest date
    is already ``end``) are left out. Deterministic for the same rows, seed and end.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError("fraction must be between 0 and 1")
    rng = random.Random(f"soteria-synthetic-update/{seed}")  # noqa: S311 - not secret
    return _updates(rows, rng, fraction, end.toordinal())


def _updates(rows: Iterable[Row], rng: random.Random, fraction: float, end: int) -> Iterator[Row]:
    dates = _date_strings(end)
    for row in rows:
        if rng.random() < fraction:
            changed = _progress(row, rng, end, dates)
            if changed is not None:
                yield changed


def _progress(row: Row, rng: random.Random, end: int, dates: tuple[str, ...]) -> Row | None:
    values = list(row)
    stamps = [values[i] for i in _DATE_POSITIONS if values[i]]
    stamps.append(values[_ROW["updated_at"]][:10])
    floor = dt.date.fromisoformat(max(stamps)).toordinal()
    if floor >= end:
        return None
    rand = rng.random
    day = floor + 1 + int(rand() * (end - floor))  # the day the case moved on
    if values[_ROW["record_status"]] == "active" and not values[_ROW["outcome_type"]]:
        if not values[_ROW["suspect_ref"]] and rand() < 0.3:
            prefix = values[_ROW["crime_ref"]].split("-", 1)[0]
            values[_ROW["suspect_ref"]] = f"{prefix}-R{rng.getrandbits(64):016x}"
            values[_ROW["suspect_identified_date"]] = dates[day - _E0]
        if rand() < 0.5:
            profile = _PROFILES.get(values[_ROW["offence_code"]], _PROFILES["20A"])
            table = profile.outcomes if values[_ROW["suspect_ref"]] else _NO_SUSPECT_OUTCOMES
            outcome, _days_table, cps_p = table[rng.getrandbits(_BITS)]
            values[_ROW["outcome_type"]] = outcome
            values[_ROW["outcome_date"]] = dates[day - _E0]
            if cps_p >= 1.0 and not values[_ROW["cps_referral_date"]]:
                values[_ROW["cps_referral_date"]] = dates[
                    floor + 1 + int(rand() * (day - floor)) - _E0
                ]
        elif values[_ROW["suspect_ref"]] and not values[_ROW["cps_referral_date"]] and rand() < 0.3:
            values[_ROW["cps_referral_date"]] = dates[day - _E0]
    elif values[_ROW["record_status"]] == "active":
        if (
            values[_ROW["victim_device_seized_date"]]
            and not values[_ROW["victim_device_returned_date"]]
        ):
            values[_ROW["victim_device_returned_date"]] = dates[day - _E0]
        elif not values[_ROW["isva_referral"]]:
            values[_ROW["isva_referral"]] = "true" if rand() < 0.6 else "false"
    touched = min(end, day + _CLOSE_TO_UPDATE[rng.getrandbits(_BITS)])
    values[_ROW["updated_at"]] = dates[touched - _E0] + (
        _END_DAY_TIME if touched == end else _TIMES[rng.getrandbits(6)]
    )
    return tuple(values)


def _plain_csv(chunk: list[Row]) -> str | None:
    """The CSV text of rows that need no quoting (what csv.writer writes), else None."""
    width = len(FIELD_NAMES)
    if any(len(row) != width for row in chunk):
        return None
    try:
        text = "\r\n".join(map(",".join, chunk)) + "\r\n"
    except TypeError:  # a value that is not a string
        return None
    lines = len(chunk)
    if (
        text.count(",") != (width - 1) * lines
        or text.count("\n") != lines
        or text.count("\r") != lines
        or '"' in text
    ):
        return None
    return text


def write_csv(path: Path | str, rows: Iterable[Row]) -> int:
    """Write a standard CSV (UTF-8, comma, CRLF, header = FIELD_NAMES); returns the row count.

    Output is exactly what ``csv.writer`` writes. A chunk of rows whose values hold no
    comma, quote or line break (always so for generated rows) needs no quoting, so it is
    joined directly, several times faster; any other chunk goes through ``csv.writer``.
    """
    count = 0
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(FIELD_NAMES)
        iterator = iter(rows)
        while chunk := list(itertools.islice(iterator, 10_000)):
            text = _plain_csv(chunk)
            if text is None:
                writer.writerows(chunk)
            else:
                handle.write(text)
            count += len(chunk)
    return count


def generate_files(
    out_dir: Path | str,
    *,
    forces: Iterable[str] | None = None,
    years: float,
    seed: int,
    end: dt.date,
    scale: float = 1.0,
) -> list[Path]:
    """Write ``<force>.csv`` for each force (all 43 when ``forces`` is None) into out_dir."""
    codes = [f.code for f in codelists.forces()] if forces is None else list(forces)
    for code in codes:
        ref_prefix(code)  # fail before writing anything
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for code in codes:
        path = directory / f"{code}.csv"
        write_csv(path, generate_rows(code, years=years, seed=seed, end=end, scale=scale))
        paths.append(path)
    return paths
