"""A database that stops answering gives 503 database_unavailable, never 500 (PostgreSQL).

The test database really refuses connections for a moment (``ALLOW_CONNECTIONS false`` and
its sessions terminated, as a restart or a failover would), and the API is asked through
HTTP with a real token: the push path, receipts and GraphQL answer 503 with ``Retry-After``;
afterwards the same push, with the same Idempotency-Key, is stored once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.pool import NullPool

from adapters.store.models import Submission
from tests.api.conftest import EXAMPLES, Api
from tests.conftest import POSTGRES_ADMIN_URL

FORCE = "kent"
CSV = (EXAMPLES / "standard.csv").read_bytes()


@contextmanager
def database_refusing(engine: Engine) -> Iterator[None]:
    name = engine.url.database
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false'))
        conn.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
            {"n": name},
        )
    try:
        yield
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true'))
        admin.dispose()


def test_requests_while_the_database_is_down_get_503_and_a_retry_stores_once(
    api: Api, engine: Engine
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("the database is made to refuse connections with PostgreSQL's own switch")
    pusher = api.pusher(FORCE)
    analyst = api.client("indicators:read")
    push_headers = {**pusher.headers, "Content-Type": "text/csv", "Idempotency-Key": "down-1"}
    with database_refusing(engine):
        answers = [
            api.http.post(f"/v1/forces/{FORCE}/submissions", content=CSV, headers=push_headers),
            api.http.get(f"/v1/forces/{FORCE}/submissions", headers=pusher.headers),
            api.http.post(
                "/graphql",
                json={"query": "{ forces { code } }"},
                headers={**analyst.headers, "Soteria-Purpose": "performance-monitoring"},
            ),
        ]
    for response in answers:
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "2"
        assert response.json()["code"] == "database_unavailable"
    retried = api.http.post(f"/v1/forces/{FORCE}/submissions", content=CSV, headers=push_headers)
    assert retried.status_code == 201, retried.text
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Submission)) == 1
