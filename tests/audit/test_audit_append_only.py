"""The database itself refuses to change or remove audit rows through a normal connection."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, delete, insert, text, update
from sqlalchemy.exc import DBAPIError

from gateway.audit import GENESIS_HASH, AuditTrail, PublicKey, verify
from gateway.audit.models import CHECKPOINTS, CUTS, EVENTS, HEAD, SIGNING_KEYS
from tests.audit.audit_testkit import fill, forged_row


def _postgres_only(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("TRUNCATE and per-transaction cuts are PostgreSQL features")


def _refused(engine: Engine, statement: object, message: str) -> None:
    with pytest.raises(DBAPIError) as caught, engine.begin() as conn:
        conn.execute(statement)  # type: ignore[call-overload]
    assert message in str(caught.value)


@pytest.mark.parametrize(
    "statement",
    [
        update(EVENTS).where(EVENTS.c.seq == 2).values(client_id="intruder"),
        update(EVENTS).values(rows_returned=0),
        delete(EVENTS).where(EVENTS.c.seq == 3),
        delete(EVENTS),
    ],
    ids=["update-one", "update-all", "delete-one", "delete-all"],
)
def test_events_cannot_be_changed_or_deleted(
    engine: Engine,
    trail: AuditTrail,
    public_keys: dict[str, PublicKey],
    statement: object,
) -> None:
    fill(engine, trail, 6)

    _refused(engine, statement, "append-only")

    assert verify(engine, public_keys).ok


@pytest.mark.parametrize("table", [CHECKPOINTS, CUTS, SIGNING_KEYS], ids=lambda t: t.name)
def test_checkpoints_cuts_and_keys_cannot_be_changed_or_deleted(
    engine: Engine, trail: AuditTrail, table: object
) -> None:
    fill(engine, trail, 5)  # a checkpoint and a registered key
    with engine.begin() as conn:  # a cut row to protect (no events inside it)
        conn.execute(
            insert(CUTS).values(
                first_seq=100,
                through_seq=100,
                last_hash=GENESIS_HASH,
                file_sha256=GENESIS_HASH,
                event_count=0,
                archived_at=trail.now(),
            )
        )

    _refused(engine, delete(table), "append-only")  # type: ignore[arg-type]


def test_the_chain_head_only_advances_one_event_at_a_time(
    engine: Engine, trail: AuditTrail
) -> None:
    events = fill(engine, trail, 4)

    _refused(engine, update(HEAD).values(seq=2, head_hash=events[1].event_hash), "chain head")
    _refused(engine, update(HEAD).values(head_hash=GENESIS_HASH), "chain head")
    _refused(engine, update(HEAD).values(seq=HEAD.c.seq + 5), "chain head")
    _refused(engine, delete(HEAD), "append-only")


def test_an_insert_must_extend_the_chain_head(engine: Engine, trail: AuditTrail) -> None:
    events = fill(engine, trail, 3)
    when = events[-1].occurred_at

    _refused(engine, insert(EVENTS).values(forged_row(7, events[-1].event_hash, when)), "extend")
    _refused(engine, insert(EVENTS).values(forged_row(4, GENESIS_HASH, when)), "extend")


def test_truncate_is_refused(engine: Engine, trail: AuditTrail) -> None:
    _postgres_only(engine)
    fill(engine, trail, 5)
    for table in ("audit_events", "audit_checkpoints", "audit_chain_head"):
        _refused(engine, text(f"TRUNCATE {table} CASCADE"), "append-only")


def test_a_cut_from_an_earlier_transaction_does_not_allow_deletes(
    engine: Engine, trail: AuditTrail
) -> None:
    _postgres_only(engine)
    events = fill(engine, trail, 4)
    with engine.begin() as conn:
        conn.execute(
            insert(CUTS).values(
                first_seq=1,
                through_seq=2,
                last_hash=events[1].event_hash,
                file_sha256=GENESIS_HASH,
                event_count=2,
                archived_at=trail.now(),
            )
        )

    _refused(engine, delete(EVENTS).where(EVENTS.c.seq <= 2), "archive cut")
