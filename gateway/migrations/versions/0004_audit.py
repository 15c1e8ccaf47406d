"""audit: hash-chained audit events, chain head, signed checkpoints, archive cuts

The audit tables are append-only in the database itself, not only in our code: triggers
refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL) to every role. Three narrow
exceptions, each checked by a trigger:

* ``audit_events`` INSERT must extend the chain head (``seq`` and ``prev_hash`` equal to
  the head row's) -- an insert cannot land anywhere but the end of the chain;
* ``audit_chain_head`` UPDATE may only advance ``seq`` by one, or set ``head_hash`` to the
  hash of the event at ``seq``, or change nothing (the lock an on-demand checkpoint takes);
* ``audit_events`` DELETE is allowed only for rows inside an ``audit_archive_cuts`` range,
  and on PostgreSQL only in the transaction that inserted that cut (the cut row's ``xmin``
  is the current transaction). That is the archive path (gateway/audit/archive.py); the
  cut is signed into a checkpoint in the same transaction, so nothing leaves silently.

The only ways around these are superuser powers (``session_replication_role = replica``,
``ALTER TABLE ... DISABLE TRIGGER``, dropping a trigger): run the gateway as a role that
does not own these tables (docs/audit.md). The test harness uses exactly those powers to
empty tables between tests and to simulate tampering.

Revision ID: 0004_audit
Revises: 0003_indicator_rollups
Create Date: 2026-11-28 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_audit"
down_revision: str | None = "0003_indicator_rollups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS_HASH = "0" * 64
_IMMUTABLE = ("audit_checkpoints", "audit_archive_cuts", "audit_signing_keys")

_POSTGRES_FUNCTIONS = r"""
CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit tables are append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE FUNCTION audit_events_guard_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM audit_chain_head h
               WHERE h.id = 1 AND h.seq = NEW.seq AND h.head_hash = NEW.prev_hash) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit event % does not extend the chain head', NEW.seq
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;

CREATE FUNCTION audit_events_guard_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM audit_archive_cuts c
               WHERE OLD.seq BETWEEN c.first_seq AND c.through_seq
                 AND c.xmin = pg_current_xact_id()::xid) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit tables are append-only: DELETE on audit_events refused outside '
        'an archive cut made in this transaction'
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE FUNCTION audit_chain_head_guard_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id = OLD.id AND (
        (NEW.seq = OLD.seq AND NEW.head_hash = OLD.head_hash)
        OR (NEW.seq = OLD.seq + 1 AND NEW.head_hash = OLD.head_hash)
        OR (NEW.seq = OLD.seq AND NEW.head_hash =
            (SELECT e.event_hash FROM audit_events e WHERE e.seq = NEW.seq))
    ) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit chain head may only advance by one event'
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""


def _postgres_triggers() -> list[str]:
    statements = [
        "CREATE TRIGGER audit_events_guard_insert BEFORE INSERT ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION audit_events_guard_insert()",
        "CREATE TRIGGER audit_events_guard_delete BEFORE DELETE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION audit_events_guard_delete()",
        "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
        "FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()",
        "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()",
        "CREATE TRIGGER audit_chain_head_guard_update BEFORE UPDATE ON audit_chain_head "
        "FOR EACH ROW EXECUTE FUNCTION audit_chain_head_guard_update()",
        "CREATE TRIGGER audit_chain_head_no_delete BEFORE DELETE ON audit_chain_head "
        "FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()",
        "CREATE TRIGGER audit_chain_head_no_truncate BEFORE TRUNCATE ON audit_chain_head "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()",
    ]
    for table in _IMMUTABLE:
        statements += [
            f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()",
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()",
        ]
    return statements


# WHEN NOT COALESCE(..., 0): a NULL condition must refuse, never let the change through.
_SQLITE_TRIGGERS = (
    """CREATE TRIGGER audit_events_guard_insert BEFORE INSERT ON audit_events
    WHEN NOT EXISTS (SELECT 1 FROM audit_chain_head h
                     WHERE h.id = 1 AND h.seq = NEW.seq AND h.head_hash = NEW.prev_hash)
    BEGIN SELECT RAISE(ABORT, 'audit event does not extend the chain head'); END""",
    """CREATE TRIGGER audit_events_guard_delete BEFORE DELETE ON audit_events
    WHEN NOT EXISTS (SELECT 1 FROM audit_archive_cuts c
                     WHERE OLD.seq BETWEEN c.first_seq AND c.through_seq)
    BEGIN SELECT RAISE(ABORT, 'audit tables are append-only: DELETE on audit_events refused
    outside an archive cut'); END""",
    """CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    BEGIN SELECT RAISE(ABORT, 'audit tables are append-only: UPDATE on audit_events refused');
    END""",
    """CREATE TRIGGER audit_chain_head_guard_update BEFORE UPDATE ON audit_chain_head
    WHEN NOT COALESCE(NEW.id = OLD.id AND (
        (NEW.seq = OLD.seq AND NEW.head_hash = OLD.head_hash)
        OR (NEW.seq = OLD.seq + 1 AND NEW.head_hash = OLD.head_hash)
        OR (NEW.seq = OLD.seq AND NEW.head_hash =
            (SELECT e.event_hash FROM audit_events e WHERE e.seq = NEW.seq))), 0)
    BEGIN SELECT RAISE(ABORT, 'audit chain head may only advance by one event'); END""",
    """CREATE TRIGGER audit_chain_head_no_delete BEFORE DELETE ON audit_chain_head
    BEGIN SELECT RAISE(ABORT, 'audit tables are append-only: DELETE on audit_chain_head
    refused'); END""",
)


def _sqlite_triggers() -> list[str]:
    return [
        *_SQLITE_TRIGGERS,
        *(
            f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'audit tables are append-only: {operation} on {table} "
            "refused'); END"
            for table in _IMMUTABLE
            for operation in ("UPDATE", "DELETE")
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "audit_archive_cuts",
        sa.Column("through_seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("event_count", sa.BigInteger(), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("through_seq", name=op.f("pk_audit_archive_cuts")),
        sa.UniqueConstraint("first_seq", name=op.f("uq_audit_archive_cuts_first_seq")),
    )
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_chain_head_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    op.create_table(
        "audit_events",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("client_id", sa.String(length=200), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=True),
        sa.Column("issuer", sa.String(length=300), nullable=True),
        sa.Column("actor_force", sa.String(length=40), nullable=True),
        sa.Column("scopes", sa.Text(), server_default="", nullable=False),
        sa.Column("purpose_code", sa.String(length=64), nullable=True),
        sa.Column("purpose_text", sa.String(length=500), nullable=True),
        sa.Column("forces", sa.Text(), server_default="", nullable=False),
        sa.Column("periods", sa.Text(), server_default="", nullable=False),
        sa.Column("operation", sa.String(length=200), nullable=True),
        sa.Column("query_sha256", sa.String(length=64), nullable=True),
        sa.Column("rows_returned", sa.BigInteger(), nullable=True),
        sa.Column("cells_returned", sa.BigInteger(), nullable=True),
        sa.Column("cells_suppressed", sa.BigInteger(), nullable=True),
        sa.Column("response_sha256", sa.String(length=64), nullable=True),
        sa.Column("request_id", sa.String(length=200), nullable=True),
        sa.Column("trace_id", sa.String(length=32), nullable=True),
        sa.Column("span_id", sa.String(length=16), nullable=True),
        sa.Column("client_address", sa.String(length=100), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("event_hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('allowed', 'denied', 'error')", name=op.f("ck_audit_events_outcome")
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_events")),
    )
    op.create_index("ix_audit_events_action_seq", "audit_events", ["action", "seq"])
    op.create_index("ix_audit_events_client_id_seq", "audit_events", ["client_id", "seq"])
    op.create_index("ix_audit_events_occurred_at", "audit_events", ["occurred_at"])
    op.create_table(
        "audit_signing_keys",
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("algorithm", sa.String(length=16), nullable=False),
        sa.Column("public_key", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_audit_signing_keys")),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=256), nullable=False),
        sa.Column("archive_through_seq", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["archive_through_seq"],
            ["audit_archive_cuts.through_seq"],
            name=op.f("fk_audit_checkpoints_archive_through_seq_audit_archive_cuts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
    )
    op.create_index(op.f("ix_audit_checkpoints_seq"), "audit_checkpoints", ["seq"])
    op.bulk_insert(
        sa.table(
            "audit_chain_head",
            sa.column("id", sa.Integer),
            sa.column("seq", sa.BigInteger),
            sa.column("head_hash", sa.String),
        ),
        [{"id": 1, "seq": 0, "head_hash": GENESIS_HASH}],
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_POSTGRES_FUNCTIONS)
        statements = _postgres_triggers()
    else:
        statements = _sqlite_triggers()
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for function in (
            "audit_refuse_change",
            "audit_events_guard_insert",
            "audit_events_guard_delete",
            "audit_chain_head_guard_update",
        ):
            op.execute(f"DROP FUNCTION IF EXISTS {function}() CASCADE")
    else:
        bind = op.get_bind()
        names = bind.execute(
            sa.text(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name LIKE 'audit_%'"
            )
        ).scalars()
        for name in list(names):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index(op.f("ix_audit_checkpoints_seq"), table_name="audit_checkpoints")
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_signing_keys")
    op.drop_index("ix_audit_events_occurred_at", table_name="audit_events")
    op.drop_index("ix_audit_events_client_id_seq", table_name="audit_events")
    op.drop_index("ix_audit_events_action_seq", table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_table("audit_chain_head")
    op.drop_table("audit_archive_cuts")
