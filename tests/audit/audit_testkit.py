"""Helpers for the audit tests: sample events, a clock, and the tampering an attacker with
superuser access could do (each helper runs inside ``suspend_triggers``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy import Connection, Engine, Executable, delete, insert, update

from gateway.audit import (
    GENESIS_HASH,
    Actor,
    AuditEvent,
    AuditTrail,
    Disclosure,
    Outcome,
    Purpose,
    RequestContext,
    StoredEvent,
    digest_bytes,
    digest_query,
)
from gateway.audit.canonical import hash_fields
from gateway.audit.models import CHECKPOINTS, CUTS, EVENTS, HEAD, SIGNING_KEYS

Suspend = Callable[[Connection], AbstractContextManager[None]]
ACTIONS = ("indicators:query", "submission:create", "auth:token:denied", "audit:read")
FORCES = ("avon-and-somerset", "kent", "merseyside", "west-midlands")


class SteppingClock:
    """A clock that moves one second per reading, so events get distinct, ordered times."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(seconds=1)
        return self.now


def sample_event(i: int, **overrides: object) -> AuditEvent:
    """A varied, realistic event; ``i`` picks the variations."""
    values: dict[str, object] = {
        "action": ACTIONS[i % len(ACTIONS)],
        "outcome": (Outcome.ALLOWED, Outcome.DENIED, Outcome.ERROR)[i % 3],
        "actor": Actor(
            client_id=f"client-{i % 3}",
            subject=f"analyst{i % 2}@joint-unit.example",
            issuer="https://soteria.example",
            force=FORCES[i % len(FORCES)] if i % 2 else None,
        ),
        "scopes": ("indicators:read", "audit:read")[: 1 + i % 2],
        "purpose": Purpose("performance-monitoring", f"quarterly review {i}") if i % 2 else None,
        "forces": FORCES[: i % len(FORCES)],
        "periods": ("2025-Q1", "2025-Q2")[: i % 3],
        "operation": f"Op{i}",
        "query_sha256": digest_query("{ indicators }", {"i": i}),
        "disclosure": Disclosure(
            rows=i, cells=10 * i, suppressed_cells=i % 4, response_sha256=digest_bytes(b"%d" % i)
        ),
        "request": RequestContext(
            request_id=f"req-{i}",
            trace_id=f"{i:032x}",
            span_id=f"{i:016x}",
            client_address="192.0.2.10",
        ),
        "reason": "missing_scope" if i % 3 == 1 else None,
    }
    values.update(overrides)
    return AuditEvent(**values)  # type: ignore[arg-type]


def fill(engine: Engine, trail: AuditTrail, count: int, start: int = 0) -> list[StoredEvent]:
    """Append ``count`` sample events in one transaction."""
    with engine.begin() as conn:
        return [trail.append(conn, sample_event(i)) for i in range(start, start + count)]


def tamper(engine: Engine, suspend: Suspend, *statements: Executable) -> None:
    """Run statements with the append-only triggers off, in one transaction."""
    with engine.begin() as conn, suspend(conn):
        for statement in statements:
            conn.execute(statement)


def reset_audit(engine: Engine, suspend: Suspend) -> None:
    """Empty the audit tables (for hypothesis examples, which share one ``engine``)."""
    tamper(
        engine,
        suspend,
        *(delete(table) for table in (CHECKPOINTS, SIGNING_KEYS, EVENTS, CUTS)),
        update(HEAD).values(seq=0, head_hash=GENESIS_HASH),
    )


def rehash(event: StoredEvent, **changes: object) -> str:
    """The hash an attacker would compute for ``event`` after ``changes``."""
    return hash_fields({**event.canonical_fields(), **changes})


def forged_row(seq: int, prev_hash: str, when: dt.datetime) -> dict[str, object]:
    """Column values of a well-formed event at ``seq``, chained to ``prev_hash``."""
    event = sample_event(seq + 100)
    fields = event.canonical_fields(seq=seq, occurred_at=when, prev_hash=prev_hash)
    return {
        **fields,
        "occurred_at": when,
        "scopes": " ".join(event.scopes),
        "forces": " ".join(event.forces),
        "periods": " ".join(event.periods),
        "event_hash": hash_fields(fields),
    }


def bulk_chain(engine: Engine, suspend: Suspend, count: int, batch: int = 5000) -> str:
    """Write a valid chain of ``count`` events fast (bulk insert, triggers off); last hash."""
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    templates = [sample_event(i) for i in range(12)]
    prev = GENESIS_HASH
    rows: list[dict[str, object]] = []
    with engine.begin() as conn, suspend(conn):
        for seq in range(1, count + 1):
            event = templates[seq % len(templates)]
            when = start + dt.timedelta(milliseconds=seq)
            fields = event.canonical_fields(seq=seq, occurred_at=when, prev_hash=prev)
            prev = hash_fields(fields)
            rows.append(
                {
                    **fields,
                    "occurred_at": when,
                    "scopes": " ".join(event.scopes),
                    "forces": " ".join(event.forces),
                    "periods": " ".join(event.periods),
                    "event_hash": prev,
                }
            )
            if len(rows) == batch:
                conn.execute(insert(EVENTS), rows)
                rows = []
        if rows:
            conn.execute(insert(EVENTS), rows)
        conn.execute(update(HEAD).values(seq=count, head_hash=prev))
    return prev
