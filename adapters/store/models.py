"""The store's tables.

``records`` holds each (force, crime_ref)'s current version; ``record_versions`` holds every
version it replaced, with the moment it stopped being current, so the state as at any past
moment T is: current rows received at or before T, plus replaced rows valid at T
(``valid_from <= T < valid_to``). Record columns are generated from ``schema.record.FIELDS``
so the table can never drift from the standard.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from adapters.store.types import UTCDateTime, new_metadata
from schema.record import FIELDS, Kind

metadata = new_metadata()


class Base(DeclarativeBase):
    metadata = metadata


class ForceRow(Base):
    """One of the 43 forces, with the counter that invalidates cached figures."""

    __tablename__ = "forces"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    ons_code: Mapped[str] = mapped_column(String(9), unique=True)
    region: Mapped[str] = mapped_column(String(60))
    country: Mapped[str] = mapped_column(String(20))
    # Bumped by every submission that changes a record: caches keyed by it never go stale.
    data_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_submission_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Submission(Base):
    """An accepted push. Refused and dry-run pushes store nothing here."""

    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("force_code", "idempotency_key"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    force_code: Mapped[str] = mapped_column(ForeignKey("forces.code"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    format: Mapped[str] = mapped_column(String(40))
    content_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    rows: Mapped[int] = mapped_column(Integer)
    inserted: Mapped[int] = mapped_column(Integer)
    updated: Mapped[int] = mapped_column(Integer)
    unchanged: Mapped[int] = mapped_column(Integer)
    stale: Mapped[int] = mapped_column(Integer)
    warning_count: Mapped[int] = mapped_column(Integer)
    # At most 1,000 warnings are kept (with warning_count the total).
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


def _record_column(kind: Kind, name: str) -> Column[Any]:
    if kind is Kind.DATE:
        return Column(name, Date)
    if kind is Kind.DATETIME:
        return Column(name, UTCDateTime())
    if kind is Kind.BOOLEAN:
        return Column(name, Boolean)
    length = 64 if kind is Kind.REF else 32
    return Column(name, String(length), nullable=name not in ("crime_ref", "offence_code"))


def _record_columns() -> list[Column[Any]]:
    columns = [_record_column(f.kind, f.name) for f in FIELDS if f.name != "crime_ref"]
    for column in columns:
        if column.name == "recorded_date":
            column.nullable = False
    return columns


# No foreign key from records to forces: the force is checked against the code list before
# anything is staged, and a per-row FK check cost a fifth of ingestion throughput
# (docs/performance.md). Submissions, one row per push, keep theirs.
records = Table(
    "records",
    metadata,
    Column("force_code", String(40), primary_key=True),
    Column("crime_ref", String(64), primary_key=True),
    *_record_columns(),
    Column("version", Integer, nullable=False),
    Column("submission_id", String(36), nullable=False),
    Column("valid_from", UTCDateTime(), nullable=False),
)

record_versions = Table(
    "record_versions",
    metadata,
    Column("force_code", String(40), primary_key=True),
    Column("crime_ref", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    *_record_columns(),
    Column("submission_id", String(36), nullable=False),
    Column("valid_from", UTCDateTime(), nullable=False),
    Column("valid_to", UTCDateTime(), nullable=False),
    Column("replaced_by_submission_id", String(36), nullable=False),
)

Index("ix_record_versions_force_valid", record_versions.c.force_code, record_versions.c.valid_to)
