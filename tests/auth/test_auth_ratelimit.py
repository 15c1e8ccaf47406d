"""Per-client token buckets: the stores, the token endpoint and the API, with a fake clock."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from auth.kek import generate_kek
from auth.ratelimit import BucketStore, InMemoryBucketStore, RateLimiter
from auth.ratelimit_sql import SqlBucketStore
from auth.settings import RateLimit
from tests.auth.auth_testkit import FakeClock, Harness, make_harness, make_settings

StoreFactory = Callable[[Engine], BucketStore]
STORES: dict[str, StoreFactory] = {
    "memory": lambda engine: InMemoryBucketStore(),
    "sql": SqlBucketStore,
}


@pytest.fixture(params=list(STORES))
def store(
    request: pytest.FixtureRequest, auth_engine: Engine, session_factory: sessionmaker[Session]
) -> BucketStore:
    factory: StoreFactory = STORES[request.param]
    return factory(auth_engine)


def test_a_bucket_allows_a_burst_then_refills_at_the_rate(
    store: BucketStore, clock: FakeClock
) -> None:
    limiter = RateLimiter(store, RateLimit(rate=0.5, burst=3), clock=clock)

    assert [limiter.hit("k").allowed for _ in range(3)] == [True, True, True]
    refused = limiter.hit("k")
    assert refused.allowed is False
    assert refused.retry_after == 2  # one token at 0.5/s
    assert limiter.hit("other").allowed is True  # buckets are per key

    clock.advance(1)
    assert limiter.hit("k").allowed is False
    assert limiter.hit("k").retry_after == 1
    clock.advance(1)
    assert limiter.hit("k").allowed is True
    clock.advance(3600)
    assert [limiter.hit("k").allowed for _ in range(4)] == [True, True, True, False]


def test_a_clock_step_backwards_adds_no_tokens(store: BucketStore, clock: FakeClock) -> None:
    limiter = RateLimiter(store, RateLimit(rate=1.0, burst=1), clock=clock)
    assert limiter.hit("k").allowed is True
    clock.advance(-30)
    assert limiter.hit("k").allowed is False
    clock.advance(30)
    assert limiter.hit("k").allowed is False
    clock.advance(1)
    assert limiter.hit("k").allowed is True


def test_the_sql_store_never_grants_more_than_the_burst_under_concurrency(
    auth_engine: Engine, session_factory: sessionmaker[Session], clock: FakeClock
) -> None:
    limiter = RateLimiter(SqlBucketStore(auth_engine), RateLimit(rate=0.001, burst=5), clock=clock)
    results: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(4):
            allowed = limiter.hit("shared").allowed
            with lock:
                results.append(allowed)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 24
    assert results.count(True) == 5


def test_the_memory_store_stays_bounded() -> None:
    store = InMemoryBucketStore(max_keys=10)
    for n in range(100):
        store.take(f"k{n}", rate=1.0, burst=5, now=float(n))
    assert len(store) <= 10


def _limited(
    session_factory: sessionmaker[Session],
    clock: FakeClock,
    *,
    token: RateLimit | None = None,
    api: RateLimit | None = None,
    bucket_store: BucketStore | None = None,
    kek: bytes | None = None,
) -> Harness:
    overrides = {}
    if token is not None:
        overrides["token_rate_limit"] = token
    if api is not None:
        overrides["api_rate_limit"] = api
    return make_harness(
        session_factory,
        settings=make_settings(**overrides),
        clock=clock,
        bucket_store=bucket_store,
        kek=kek,
    )


def test_the_token_endpoint_answers_429_with_retry_after(
    session_factory: sessionmaker[Session], clock: FakeClock
) -> None:
    harness = _limited(session_factory, clock, token=RateLimit(rate=0.1, burst=2))
    client_id, secret = harness.register(["indicators:read"])
    other_id, other_secret = harness.register(["indicators:read"])
    assert secret is not None
    assert other_secret is not None

    assert [harness.token_response(client_id, secret).status_code for _ in range(2)] == [200, 200]
    limited = harness.token_response(client_id, secret)

    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "10"
    assert limited.json()["error"] == "rate_limited"
    assert "access_token" not in limited.json()
    assert harness.token_response(other_id, other_secret).status_code == 200
    clock.advance(10)
    assert harness.token_response(client_id, secret).status_code == 200
    harness.http.close()


def test_the_api_answers_429_with_retry_after_per_client(
    session_factory: sessionmaker[Session], clock: FakeClock
) -> None:
    harness = _limited(session_factory, clock, api=RateLimit(rate=1.0, burst=2))
    token = harness.token(["indicators:read"])
    other = harness.token(["indicators:read"])

    def call(value: str) -> int:
        headers = {"Authorization": f"Bearer {value}"}
        return int(harness.http.get("/api/indicators", headers=headers).status_code)

    assert [call(token), call(token)] == [200, 200]
    limited = harness.http.get("/api/indicators", headers={"Authorization": f"Bearer {token}"})
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "1"
    assert "www-authenticate" not in limited.headers
    assert limited.json()["code"] == "rate_limited"
    assert "SECRET" not in limited.text
    assert call(other) == 200
    clock.advance(1)
    assert call(token) == 200
    assert harness.components.denials.snapshot() == {"rate_limited": 1}
    harness.http.close()


def test_a_shared_sql_store_holds_the_limit_across_replicas(
    auth_engine: Engine, session_factory: sessionmaker[Session], clock: FakeClock
) -> None:
    limit = RateLimit(rate=0.01, burst=3)
    kek = generate_kek()
    replica_a, replica_b = (
        _limited(
            session_factory, clock, token=limit, bucket_store=SqlBucketStore(auth_engine), kek=kek
        )
        for _ in range(2)
    )
    client_id, secret = replica_a.register(["indicators:read"])
    assert secret is not None

    statuses = [
        replica.token_response(client_id, secret).status_code
        for replica in (replica_a, replica_b, replica_a, replica_b)
    ]

    assert statuses == [200, 200, 200, 429]
    replica_a.http.close()
    replica_b.http.close()
