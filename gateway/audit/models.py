"""The audit tables. All are append-only in the database (migration 0004 adds triggers).

``audit_events``       one row per event; ``seq`` is gap-free and assigned from the head.
``audit_chain_head``   exactly one row (id 1): the last ``seq`` and its ``event_hash``.
                       Every append updates it first, so it is the single lock that
                       serialises writers across threads, processes and hosts.
``audit_checkpoints``  signed statements "the chain up to ``seq`` ends in ``head_hash``".
``audit_archive_cuts`` one row per archive: the archived range and its file's digest.
                       The only way rows leave ``audit_events`` (see archive.py).
``audit_signing_keys`` public keys of the checkpoint signers, by key id (convenience copy;
                       the trusted copy is the keyring file an auditor holds).

Columns of ``audit_events`` are named as the canonical fields (canonical.py), so the
hashed object and the row map one to one. List fields are stored as space-joined text,
which both databases can filter with ``LIKE`` and which needs no JSON decoding to verify.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from adapters.store.types import UTCDateTime, new_metadata

metadata = new_metadata()
SEQ = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = metadata


class AuditEventRow(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        CheckConstraint("outcome IN ('allowed', 'denied', 'error')", name="outcome"),
        Index("ix_audit_events_client_id_seq", "client_id", "seq"),
        Index("ix_audit_events_action_seq", "action", "seq"),
        Index("ix_audit_events_occurred_at", "occurred_at"),
    )

    # On SQLite an INTEGER PRIMARY KEY is the rowid: verification then reads the table in
    # key order without a separate index lookup per row.
    seq: Mapped[int] = mapped_column(SEQ, primary_key=True, autoincrement=False)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    action: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(64))
    client_id: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str | None] = mapped_column(String(300))
    issuer: Mapped[str | None] = mapped_column(String(300))
    actor_force: Mapped[str | None] = mapped_column(String(40))
    scopes: Mapped[str] = mapped_column(Text, default="", server_default="")
    purpose_code: Mapped[str | None] = mapped_column(String(64))
    purpose_text: Mapped[str | None] = mapped_column(String(500))
    forces: Mapped[str] = mapped_column(Text, default="", server_default="")
    periods: Mapped[str] = mapped_column(Text, default="", server_default="")
    operation: Mapped[str | None] = mapped_column(String(200))
    query_sha256: Mapped[str | None] = mapped_column(String(64))
    rows_returned: Mapped[int | None] = mapped_column(BigInteger)
    cells_returned: Mapped[int | None] = mapped_column(BigInteger)
    cells_suppressed: Mapped[int | None] = mapped_column(BigInteger)
    response_sha256: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(200))
    trace_id: Mapped[str | None] = mapped_column(String(32))
    span_id: Mapped[str | None] = mapped_column(String(16))
    client_address: Mapped[str | None] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    prev_hash: Mapped[str] = mapped_column(String(64))
    event_hash: Mapped[str] = mapped_column(String(64))


class AuditChainHead(Base):
    __tablename__ = "audit_chain_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[str] = mapped_column(String(64))


class AuditArchiveCut(Base):
    __tablename__ = "audit_archive_cuts"

    through_seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    first_seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    last_hash: Mapped[str] = mapped_column(String(64))
    file_sha256: Mapped[str] = mapped_column(String(64))
    event_count: Mapped[int] = mapped_column(BigInteger)
    archived_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class AuditCheckpointRow(Base):
    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigInteger, index=True)
    head_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(String(16))
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(256))
    archive_through_seq: Mapped[int | None] = mapped_column(
        ForeignKey("audit_archive_cuts.through_seq")
    )


class AuditSigningKey(Base):
    __tablename__ = "audit_signing_keys"

    key_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    algorithm: Mapped[str] = mapped_column(String(16))
    public_key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


# Core tables for the hot paths (appends, streaming verification): no ORM objects per row.
EVENTS = metadata.tables["audit_events"]
HEAD = metadata.tables["audit_chain_head"]
CHECKPOINTS = metadata.tables["audit_checkpoints"]
CUTS = metadata.tables["audit_archive_cuts"]
SIGNING_KEYS = metadata.tables["audit_signing_keys"]
