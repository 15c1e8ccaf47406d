"""Annual recorded RASSO volume per force, for the synthetic data generator.

What the numbers are
--------------------
``ANNUAL_VOLUMES[force]`` is the number of sexual offences (rape plus other sexual
offences) the generator produces for one year of one force. They are APPROXIMATIONS, not
official per-force figures:

1. National total: ``NATIONAL_ANNUAL_SEXUAL_OFFENCES`` = 190,000, the rounded England and
   Wales total of police recorded sexual offences for the year ending March 2024 (Home
   Office / ONS police recorded crime; about 68,000-70,000 of them rapes, see
   ``shared/reference/SOURCES.md``). This total is a round number, not the exact published
   count.
2. Split between forces: in proportion to ``APPROX_POPULATION[force]``, the resident
   population of the police force area. These populations are approximations of the ONS
   mid-2022 population estimates, built up from local authority populations and rounded
   to the nearest 10,000 (City of London: about 8,600 residents). They were NOT checked
   line by line against the ONS table when this module was written; treat them as good to
   a few per cent.
3. ``ANNUAL_VOLUMES[force] = round(190,000 x population / sum of populations)``; a unit
   test checks that the stored numbers follow this rule.

Why an approximation: the official per-force counts are published in the ONS "Police
force area data tables" (Table P1, year ending March 2024), which could not be read from
this build environment. Real per-force recording rates per head differ from the national
rate, so a population split can be 20-25 per cent off for a given force. For example, press
reports of the ONS figures for the year ending March 2022 give South Yorkshire 4,440 sexual
offences (this table: 4,441), West Yorkshire 9,330 (this table: 7,454) and London (the
Metropolitan and City of London forces together) 9,272 rapes plus 25,232 other sexual
offences, 34,504 in all (this table: 28,131). The City of London figure is far below its
real volume, because its resident population is a tiny fraction of the people who work
there; it is kept as a useful small-numbers force for disclosure control.

Replace this table with the published ONS figures (Table P1) when they are to hand; the
generator reads nothing else from this module.
"""

from __future__ import annotations

from typing import Final

NATIONAL_ANNUAL_SEXUAL_OFFENCES: Final = 190_000
"""England and Wales police recorded sexual offences, year ending March 2024, rounded."""

APPROX_POPULATION: Final[dict[str, int]] = {
    "avon-and-somerset": 1_750_000,
    "bedfordshire": 710_000,
    "cambridgeshire": 900_000,
    "cheshire": 1_100_000,
    "city-of-london": 8_600,
    "cleveland": 570_000,
    "cumbria": 500_000,
    "derbyshire": 1_060_000,
    "devon-and-cornwall": 1_800_000,
    "dorset": 780_000,
    "durham": 640_000,
    "essex": 1_860_000,
    "gloucestershire": 650_000,
    "greater-manchester": 2_890_000,
    "hampshire": 2_010_000,
    "hertfordshire": 1_200_000,
    "humberside": 930_000,
    "kent": 1_870_000,
    "lancashire": 1_530_000,
    "leicestershire": 1_120_000,
    "lincolnshire": 770_000,
    "merseyside": 1_430_000,
    "metropolitan": 8_860_000,
    "norfolk": 920_000,
    "north-yorkshire": 820_000,
    "northamptonshire": 790_000,
    "northumbria": 1_470_000,
    "nottinghamshire": 1_160_000,
    "south-yorkshire": 1_400_000,
    "staffordshire": 1_140_000,
    "suffolk": 770_000,
    "surrey": 1_210_000,
    "sussex": 1_720_000,
    "thames-valley": 2_480_000,
    "warwickshire": 600_000,
    "west-mercia": 1_310_000,
    "west-midlands": 2_940_000,
    "west-yorkshire": 2_350_000,
    "wiltshire": 740_000,
    "dyfed-powys": 520_000,
    "gwent": 600_000,
    "north-wales": 690_000,
    "south-wales": 1_330_000,
}
"""Approximate resident population of each police force area (ONS mid-2022, rounded)."""

ANNUAL_VOLUMES: Final[dict[str, int]] = {
    "avon-and-somerset": 5_551,
    "bedfordshire": 2_252,
    "cambridgeshire": 2_855,
    "cheshire": 3_489,
    "city-of-london": 27,
    "cleveland": 1_808,
    "cumbria": 1_586,
    "derbyshire": 3_362,
    "devon-and-cornwall": 5_710,
    "dorset": 2_474,
    "durham": 2_030,
    "essex": 5_900,
    "gloucestershire": 2_062,
    "greater-manchester": 9_167,
    "hampshire": 6_376,
    "hertfordshire": 3_806,
    "humberside": 2_950,
    "kent": 5_932,
    "lancashire": 4_853,
    "leicestershire": 3_553,
    "lincolnshire": 2_442,
    "merseyside": 4_536,
    "metropolitan": 28_104,
    "norfolk": 2_918,
    "north-yorkshire": 2_601,
    "northamptonshire": 2_506,
    "northumbria": 4_663,
    "nottinghamshire": 3_680,
    "south-yorkshire": 4_441,
    "staffordshire": 3_616,
    "suffolk": 2_442,
    "surrey": 3_838,
    "sussex": 5_456,
    "thames-valley": 7_867,
    "warwickshire": 1_903,
    "west-mercia": 4_155,
    "west-midlands": 9_326,
    "west-yorkshire": 7_454,
    "wiltshire": 2_347,
    "dyfed-powys": 1_649,
    "gwent": 1_903,
    "north-wales": 2_189,
    "south-wales": 4_219,
}
"""Approximate annual recorded sexual offences per force (see the module docstring)."""


def annual_volume(force_code: str) -> int:
    """The force's approximate annual recorded sexual offences; KeyError if unknown."""
    return ANNUAL_VOLUMES[force_code]
