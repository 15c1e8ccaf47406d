"""The reference code lists: the 43 forces, Home Office sexual offence codes, outcome types.

The CSV files under ``schema/data/`` are copies of ``shared/reference`` (sources in
``schema/data/SOURCES.md``). They are read once, on first use, and held as frozen tuples.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources


class OffenceGroup(StrEnum):
    ADULT_RAPE = "adult_rape"
    CHILD_RAPE = "child_rape"
    OTHER_SEXUAL = "other_sexual"


@dataclass(frozen=True, slots=True)
class Force:
    code: str
    name: str
    country: str
    ons_code: str
    region: str


@dataclass(frozen=True, slots=True)
class OffenceCode:
    code: str
    description: str
    subgroup: str
    group: OffenceGroup


@dataclass(frozen=True, slots=True)
class OutcomeType:
    code: str
    description: str
    outcome_group: str
    subset_of: str | None

    @property
    def base_code(self) -> str:
        """The outcome this one counts as: 1A counts as 1, 2A as 2, 3A as 3."""
        return self.subset_of or self.code


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("schema.data").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


@cache
def forces() -> tuple[Force, ...]:
    return tuple(
        Force(r["code"], r["name"], r["country"], r["ons_code"], r["region"])
        for r in _rows("forces.csv")
    )


@cache
def offence_codes() -> tuple[OffenceCode, ...]:
    return tuple(
        OffenceCode(r["ho_code"], r["description"], r["subgroup"], OffenceGroup(r["offence_group"]))
        for r in _rows("offence_codes.csv")
    )


@cache
def outcome_types() -> tuple[OutcomeType, ...]:
    return tuple(
        OutcomeType(r["outcome_type"], r["description"], r["outcome_group"], r["subset_of"] or None)
        for r in _rows("outcome_types.csv")
    )


@cache
def forces_by_code() -> dict[str, Force]:
    return {f.code: f for f in forces()}


@cache
def offence_codes_by_code() -> dict[str, OffenceCode]:
    return {o.code: o for o in offence_codes()}


@cache
def outcome_types_by_code() -> dict[str, OutcomeType]:
    return {o.code: o for o in outcome_types()}


@cache
def regions() -> tuple[str, ...]:
    """Region names in the order they first appear in forces.csv."""
    return tuple(dict.fromkeys(f.region for f in forces()))


def force(code: str) -> Force | None:
    return forces_by_code().get(code)
