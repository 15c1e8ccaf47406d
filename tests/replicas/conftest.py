"""Two gateway processes on one PostgreSQL database, for the whole of tests/replicas.

PostgreSQL only: the embedded SQLite default is one process by design (a file database
serialises writers and keeps rate-limit buckets in memory), so several replicas is a
PostgreSQL deployment; the SQLite pass skips these tests and says why.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.store.engine import make_engine
from gateway import database
from tests.conftest import DATABASE_KIND, POSTGRES_ADMIN_URL
from tests.replicas.replica_kit import (
    Deployment,
    postgres_database,
    replica_env,
    start_replicas,
)

SQLITE_REASON = (
    "several gateway replicas need PostgreSQL: the embedded SQLite database is one process "
    "by design (docs/operations.md, 'Scaling out')"
)

# Small enough that a test can exhaust it in a second, large enough for the other tests'
# clients (each test uses clients of its own, each well under the burst).
RATE_PER_SECOND = 0.5
BURST = 20
AUDIT_CHECKPOINT_EVERY = 10


@pytest.fixture(scope="package")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    if DATABASE_KIND != "postgresql":
        pytest.skip(SQLITE_REASON)
    base = tmp_path_factory.mktemp("replicas")
    var_dir = base / "var"
    with postgres_database(POSTGRES_ADMIN_URL) as url:
        env = replica_env(
            url,
            var_dir,
            rate_limit_per_second=str(RATE_PER_SECOND),
            rate_limit_burst=str(BURST),
            token_rate_limit_per_second="100",
            token_rate_limit_burst="100",
            audit_checkpoint_every=str(AUDIT_CHECKPOINT_EVERY),
        )
        # Migrated once, before any replica starts (a deployment's migration job).
        engine = make_engine(url)
        try:
            database.upgrade(engine)
        finally:
            engine.dispose()
        with start_replicas(2, env, _logs(base)) as replicas:
            yield Deployment(replicas, env, url)


def _logs(base: Path) -> Path:
    path = base / "logs"
    path.mkdir()
    return path
