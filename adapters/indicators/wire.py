"""The federation wire format: questions to a force node, and its mergeable answers.

Only partial results cross the wire (counts, numerators and denominators, day-count
histograms) and data-quality figures; never a record. JSON with plain lists so any
client can read it; both sides validate what they receive.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from adapters.indicators.quality import DataQuality
from adapters.indicators.query import ForcePartials, IndicatorQuery
from schema.indicators.catalogue import Dimension, IndicatorId, OffenceScope
from schema.indicators.partials import Partial
from schema.periods import Granularity, Period, parse_period

WIRE_VERSION = 1


class WireFormatError(ValueError):
    """A message that does not have the federation wire format."""


@dataclass(frozen=True, slots=True)
class SourceAnswer:
    """One source's answer to one query: partials and data quality per force.

    ``versions``: per force, what the answer was computed at (a local source's stamp, a
    node's data version and last submission time), so the gateway can key caches by it.
    """

    partials: dict[str, ForcePartials]
    quality: dict[str, DataQuality]
    versions: Mapping[str, Hashable] = field(default_factory=dict)


def query_to_wire(query: IndicatorQuery) -> dict[str, Any]:
    return {
        "version": WIRE_VERSION,
        "indicators": [i.value for i in query.indicators],
        "granularity": query.granularity.value,
        "periods": [p.label for p in query.periods],
        "scope": query.scope.value,
        "breakdown": query.breakdown.value if query.breakdown else None,
        "as_at": query.as_at.isoformat() if query.as_at else None,
    }


def query_from_wire(data: Mapping[str, Any]) -> IndicatorQuery:
    try:
        if data.get("version") != WIRE_VERSION:
            raise WireFormatError(f"unsupported wire version {data.get('version')!r}")
        granularity = Granularity(data["granularity"])
        as_at = data.get("as_at")
        return IndicatorQuery(
            indicators=tuple(IndicatorId(i) for i in data["indicators"]),
            granularity=granularity,
            periods=tuple(parse_period(granularity, label) for label in data["periods"]),
            scope=OffenceScope(data["scope"]),
            breakdown=Dimension(data["breakdown"]) if data.get("breakdown") else None,
            as_at=dt.datetime.fromisoformat(as_at) if as_at else None,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise WireFormatError(f"not a federation query: {exc}") from exc


def _quality_to_wire(q: DataQuality) -> dict[str, Any]:
    return {
        "last_submission_at": q.last_submission_at.isoformat() if q.last_submission_at else None,
        "records_held": q.records_held,
        "active_records": q.active_records,
        "first_recorded": q.first_recorded.isoformat() if q.first_recorded else None,
        "last_recorded": q.last_recorded.isoformat() if q.last_recorded else None,
        "field_fill": dict(q.field_fill),
        "has_data": dict(q.has_data),
    }


def _quality_from_wire(force: str, d: Mapping[str, Any]) -> DataQuality:
    def date(v: str | None) -> dt.date | None:
        return dt.date.fromisoformat(v) if v else None

    at = d.get("last_submission_at")
    return DataQuality(
        force=force,
        last_submission_at=dt.datetime.fromisoformat(at) if at else None,
        records_held=int(d["records_held"]),
        active_records=int(d["active_records"]),
        first_recorded=date(d.get("first_recorded")),
        last_recorded=date(d.get("last_recorded")),
        field_fill={str(k): (None if v is None else float(v)) for k, v in d["field_fill"].items()},
        has_data={str(k): bool(v) for k, v in d["has_data"].items()},
    )


def data_versions(answer: SourceAnswer) -> dict[str, int]:
    """The data version each force's partials were read at (a stamp's first part), for
    ``answer_to_wire``: read with the partials, never after them (a submission in between
    would label old partials with a new version, and the gateway would keep serving them).
    """
    out: dict[str, int] = {}
    for force, stamp in answer.versions.items():
        version = stamp[0] if isinstance(stamp, tuple) else stamp
        if not isinstance(version, int):
            raise WireFormatError(f"no data version for {force}: {stamp!r}")
        out[force] = version
    return out


def answer_to_wire(answer: SourceAnswer, versions: Mapping[str, int]) -> dict[str, Any]:
    return {
        "version": WIRE_VERSION,
        "forces": {
            force: {
                "data_version": versions.get(force),
                "partials": [
                    [
                        i.value,
                        label,
                        bucket,
                        p.numerator,
                        p.denominator,
                        [list(pair) for pair in p.histogram],
                    ]
                    for (i, label, bucket), p in partials.items()
                ],
                "quality": _quality_to_wire(answer.quality[force]),
            }
            for force, partials in answer.partials.items()
        },
    }


def answer_from_wire(
    data: Mapping[str, Any], forces: Sequence[str]
) -> tuple[SourceAnswer, dict[str, int]]:
    """The answer for exactly ``forces``; anything else in the message is refused."""
    try:
        if data.get("version") != WIRE_VERSION:
            raise WireFormatError(f"unsupported wire version {data.get('version')!r}")
        body = data["forces"]
        if set(body) != set(forces):
            raise WireFormatError(f"answer is for {sorted(body)}, asked for {sorted(forces)}")
        partials: dict[str, ForcePartials] = {}
        quality: dict[str, DataQuality] = {}
        versions: dict[str, int] = {}
        for force in forces:
            entry = body[force]
            partials[force] = {
                (IndicatorId(i), str(label), None if bucket is None else str(bucket)): Partial(
                    int(n), int(d), tuple((int(a), int(b)) for a, b in hist)
                )
                for i, label, bucket, n, d, hist in entry["partials"]
            }
            quality[force] = _quality_from_wire(force, entry["quality"])
            versions[force] = int(entry["data_version"])
        return SourceAnswer(partials, quality), versions
    except (KeyError, TypeError, ValueError) as exc:
        raise WireFormatError(f"not a federation answer: {exc}") from exc


def periods_to_wire(periods: Sequence[Period]) -> list[str]:
    return [p.label for p in periods]
