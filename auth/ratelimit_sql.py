"""Token buckets in the database, so a rate limit holds across replicas.

One row per key (``auth_rate_buckets``). A take is two statements in its own short
transaction: an ``INSERT ... ON CONFLICT DO NOTHING`` that creates a full bucket the first
time a key is seen, then one ``UPDATE ... RETURNING`` that refills, decides and takes in a
single atomic step. Under concurrency PostgreSQL serialises the UPDATEs on the row lock and
re-evaluates the expressions against the committed row, so two replicas can never both
take the last token. SQLite serialises writers outright.

The decision is written to the row's ``allowed`` column by the same UPDATE because
RETURNING only sees the new row, not the value the refill was computed from.

The take commits on its own connection, independent of any request transaction: a
refused request must still have consumed its attempt.
"""

from __future__ import annotations

from sqlalchemy import Engine, case, delete, literal, update
from sqlalchemy.dialects import postgresql, sqlite

from auth.models import RateBucket
from auth.ratelimit import Take


class SqlBucketStore:
    """A ``BucketStore`` on SQLite or PostgreSQL."""

    def __init__(self, engine: Engine) -> None:
        if engine.dialect.name not in ("postgresql", "sqlite"):
            raise ValueError(f"SqlBucketStore does not support {engine.dialect.name}")
        self._engine = engine

    def take(self, key: str, *, rate: float, burst: int, now: float) -> Take:
        burst_value = literal(float(burst))
        elapsed = literal(now) - RateBucket.refilled_at
        refilled = RateBucket.tokens + case((elapsed > 0, elapsed), else_=0.0) * literal(rate)
        capped = case((refilled > burst_value, burst_value), else_=refilled)
        allowed = capped >= 1.0
        row_values = {"key": key, "tokens": float(burst), "refilled_at": now, "allowed": True}
        create = (
            postgresql.insert(RateBucket).values(row_values).on_conflict_do_nothing()
            if self._engine.dialect.name == "postgresql"
            else sqlite.insert(RateBucket).values(row_values).on_conflict_do_nothing()
        )
        take = (
            update(RateBucket)
            .where(RateBucket.key == key)
            .values(
                tokens=case((allowed, capped - 1.0), else_=capped),
                refilled_at=case((elapsed > 0, literal(now)), else_=RateBucket.refilled_at),
                allowed=allowed,
            )
            .returning(RateBucket.allowed, RateBucket.tokens)
        )
        with self._engine.begin() as connection:
            if self._engine.dialect.name == "postgresql":
                # A bucket is throttling state, not a record: after a crash a few
                # milliseconds of refills may be lost, which only errs towards allowing.
                # Not waiting for the WAL flush takes the commit off every request's path.
                connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
            connection.execute(create)
            row = connection.execute(take).one()
        return Take(allowed=bool(row.allowed), tokens=float(row.tokens))

    def clear(self) -> None:
        """Drop every bucket (tests, or after changing limits)."""
        with self._engine.begin() as connection:
            connection.execute(delete(RateBucket))
