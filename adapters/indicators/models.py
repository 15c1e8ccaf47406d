"""The rollup tables: every measure of every force, summed by key and month.

``indicator_rollup`` holds one row per (force, offence group, dimension, bucket, month) with
one integer column per measure of ``measures.MEASURES``; ``indicator_rollup_days`` holds the
exact day-count histograms, one row per (..., measure, month, days) with its frequency ``n``.
``dimension`` is ``''`` for the force total (``bucket`` then ``''``) or a record-field
breakdown; ``month`` is ``year * 12 + month - 1``, so period arithmetic is integer arithmetic
and both databases sort and compare it alike.

The primary keys lead with (force, dimension[, measure], month) because every read asks for
some forces, one dimension and a range or list of months. There is no foreign key to
``forces``: these tables live on their own MetaData (the store's tables are not ours), and
rows are only written for forces the ingestion has already checked.

``indicator_quality`` holds, per force, the counts behind ``DataQuality``: records held (any
status), active records, and active records with each optional field given.

``indicator_changes`` lists, per force and data version, the months whose histograms the
submission changed, so a cache of a force's figures can read again only those (``rollup``).

Two indexes on ``records`` serve this package: (force_code, suspect_ref) lets the rollup find
every record of a suspect a submission touches (repeat suspects), and (force_code,
recorded_date) gives each force's first and last recorded date in two index probes (data
quality). They belong to the store's table, so they are attached to the store's MetaData here,
where the need is, and built by our migration.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import Column, Index, Integer, PrimaryKeyConstraint, String, Table

from adapters.indicators.measures import MEASURE_NAMES
from adapters.store.models import records
from adapters.store.types import new_metadata
from schema.record import FIELDS

metadata = new_metadata()


def _key() -> list[Column[str]]:
    return [
        Column("force_code", String(40), nullable=False),
        Column("dimension", String(20), nullable=False),
        Column("offence_group", String(20), nullable=False),
        Column("bucket", String(32), nullable=False),
    ]


indicator_rollup = Table(
    "indicator_rollup",
    metadata,
    *_key(),
    Column("month", Integer, nullable=False, autoincrement=False),
    *(Column(name, Integer, nullable=False, server_default="0") for name in MEASURE_NAMES),
    PrimaryKeyConstraint("force_code", "dimension", "month", "offence_group", "bucket"),
)

indicator_rollup_days = Table(
    "indicator_rollup_days",
    metadata,
    *_key(),
    Column("measure", String(40), nullable=False),
    Column("month", Integer, nullable=False, autoincrement=False),
    Column("days", Integer, nullable=False, autoincrement=False),
    Column("n", Integer, nullable=False),
    PrimaryKeyConstraint(
        "force_code", "dimension", "measure", "month", "offence_group", "bucket", "days"
    ),
)

# Optional fields a force may leave empty; record_status is left out, as it has a default.
OPTIONAL_FIELDS: Final = tuple(f.name for f in FIELDS if not f.required and f.default is None)

indicator_quality = Table(
    "indicator_quality",
    metadata,
    Column("force_code", String(40), primary_key=True),
    Column("held", Integer, nullable=False, server_default="0"),
    Column("active", Integer, nullable=False, server_default="0"),
    *(
        Column(f"filled_{name}", Integer, nullable=False, server_default="0")
        for name in OPTIONAL_FIELDS
    ),
)

# Per force and data version: the months whose histograms the submission that made the
# version changed, and a marker row (month -1) saying the version's months are all listed.
indicator_changes = Table(
    "indicator_changes",
    metadata,
    Column("force_code", String(40), nullable=False),
    Column("data_version", Integer, nullable=False, autoincrement=False),
    Column("month", Integer, nullable=False, autoincrement=False),
    PrimaryKeyConstraint("force_code", "data_version", "month"),
)

records_by_suspect = Index("ix_records_force_suspect", records.c.force_code, records.c.suspect_ref)
records_by_recorded_date = Index(
    "ix_records_force_recorded", records.c.force_code, records.c.recorded_date
)
