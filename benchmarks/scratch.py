"""Scratch databases: each benchmark part builds its own and drops it afterwards.

PostgreSQL databases are called ``soteria_bench_<part>_<random>`` and are created and dropped
through ``SOTERIA_BENCH_POSTGRES_URL`` (default: the local server's ``postgres`` database);
no other database is touched. Tables are built by the Alembic migrations, as in production.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine

from adapters.store.engine import make_engine
from gateway import database

ADMIN_URL = os.environ.get(
    "SOTERIA_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@contextmanager
def postgres_database(part: str) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped on exit."""
    with database.throwaway_postgres_database(ADMIN_URL, f"soteria_bench_{part}") as url:
        yield url


def sqlite_url(directory: Path) -> str:
    return f"sqlite:///{directory / 'soteria.db'}"


def migrated(url: str) -> Engine:
    """An engine on ``url`` with every migration applied."""
    engine = make_engine(url)
    database.upgrade(engine)
    return engine
