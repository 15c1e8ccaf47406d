"""SQL that PostgreSQL and SQLite spell differently, temporary tables, planner settings.

Dates are native on PostgreSQL and ISO text on SQLite, so month indexes and day counts are
written per dialect (``SqlDialect``). Temporary tables are dropped at commit on PostgreSQL
and must be dropped by hand on SQLite; PostgreSQL also needs them analysed, and a little
more memory than its default to aggregate them by hashing (``roomy_planner``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Final

from sqlalchemy import BindParameter, Connection, Date, bindparam, text

# Below this the planner's estimate from the table's size is good enough, and an ANALYZE
# (a catalogue write) would cost more than any plan it could improve.
ANALYZE_FROM_ROWS: Final = 20_000


class SqlDialect:
    """Date arithmetic spelt for PostgreSQL (native dates) or SQLite (ISO date text)."""

    def __init__(self, name: str) -> None:
        self.postgresql = name == "postgresql"

    def month(self, date: str) -> str:
        """``year * 12 + month - 1``; date_part is cheaper than EXTRACT's numeric."""
        if self.postgresql:
            year, month = f"date_part('year', {date})", f"date_part('month', {date})"
            return f"CAST({year} * 12 + {month} - 1 AS INTEGER)"
        year, month = f"substr({date}, 1, 4)", f"substr({date}, 6, 2)"
        return f"(CAST({year} AS INTEGER) * 12 + CAST({month} AS INTEGER) - 1)"

    def days(self, later: str, earlier: str) -> str:
        if self.postgresql:
            return f"({later} - {earlier})"
        return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"

    def plus_days(self, date: str, days: int) -> str:
        if self.postgresql:
            return f"({date} + {days})"
        return f"date({date}, '+{days} days')"

    def greatest(self, a: str, b: str) -> str:
        return f"GREATEST({a}, {b})" if self.postgresql else f"MAX({a}, {b})"

    @property
    def fence(self) -> str:
        """A no-op LIMIT/OFFSET: the subquery is computed once, not inlined."""
        return "OFFSET 0" if self.postgresql else "LIMIT -1"


_ROOMY: Final = (
    "SELECT set_config('work_mem', '64MB', true), set_config('jit', 'off', true), "
    "set_config('max_parallel_workers_per_gather', '0', true), "
    "set_config('enable_sort', 'off', true)"
)


@contextmanager
def roomy_planner(conn: Connection, *, restore: bool = True) -> Iterator[None]:
    """On PostgreSQL: hash aggregates in memory, no JIT, no parallel workers.

    The ledger groups a few hundred thousand rows into a few thousand keys. With the default
    4 MB of work_mem the planner sorts instead (on text keys, slow under a libc collation),
    and JIT compilation costs more than it saves on statements this short. Estimates of
    ledger rows are poor (CTEs and fresh temporary tables have no statistics), and a plan
    sized for a few rows sorts a few hundred thousand on text keys: sorting is off, so
    grouping hashes (a sort still happens where only a sort can give the order asked for).
    Parallel plans
    aggregate by sorting partial groups and merging them, which measured slower than one
    process hashing (a 300,000-row repeat-suspect grouping: 2.0 s against 1.2 s on two
    cores). The settings are transaction-local and put back afterwards; if the block fails,
    the rollback does it. ``restore=False`` is for a transaction that ends with the block
    (a read snapshot): its end puts them back, and two of the three round trips are saved.
    """
    if conn.dialect.name != "postgresql":
        yield
        return
    if not restore:
        conn.exec_driver_sql(_ROOMY)
        yield
        return
    saved = conn.exec_driver_sql(
        "SELECT current_setting('work_mem'), current_setting('jit'), "
        "current_setting('max_parallel_workers_per_gather'), current_setting('enable_sort')"
    ).one()
    conn.exec_driver_sql(_ROOMY)
    yield
    conn.execute(
        text(
            "SELECT set_config('work_mem', :work_mem, true), set_config('jit', :jit, true), "
            "set_config('max_parallel_workers_per_gather', :workers, true), "
            "set_config('enable_sort', :sort, true)"
        ),
        {"work_mem": saved[0], "jit": saved[1], "workers": saved[2], "sort": saved[3]},
    )


def create_temporary(
    conn: Connection,
    name: str,
    select: str,
    params: Mapping[str, object],
    typed: Sequence[BindParameter[Any]] = (),
    *,
    analyse: bool = True,
) -> int:
    """A temporary table from a SELECT, with statistics for the planner; its row count.

    PostgreSQL never analyses temporary tables on its own, and without statistics it
    estimates one row per scan and picks sort-based plans that are ruinous on large ones
    (small ones are not worth the catalogue writes of an ANALYZE). ``analyse`` False: the
    table is only scanned and aggregated, where statistics change nothing.
    """
    if conn.dialect.name == "postgresql":
        create = f"CREATE TEMPORARY TABLE {name} ON COMMIT DROP AS {select}"
    else:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{name}")
        create = f"CREATE TEMPORARY TABLE {name} AS {select}"
    binds = list(typed)
    if ":cutoff" in create:
        binds.append(bindparam("cutoff", type_=Date()))
    rows = conn.execute(text(create).bindparams(*binds), dict(params)).rowcount
    if analyse and conn.dialect.name == "postgresql" and rows >= ANALYZE_FROM_ROWS:
        conn.exec_driver_sql(f"ANALYZE {name}")
    return rows


def drop_temporary(conn: Connection, name: str) -> None:
    conn.exec_driver_sql(f"DROP TABLE {name}")
