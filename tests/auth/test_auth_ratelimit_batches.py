"""Rate-limit tokens reserved in small batches (``auth.ratelimit_sql``), on both databases.

Two ``SqlBucketStore`` objects on one database stand for two replicas (each process has
its own store and reserves); the clock is frozen unless a test moves it, so no token is
refilled and the shared bucket's burst is the exact number of requests that may pass.
Each test uses a key of its own, and ``session_factory`` empties the buckets after it.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from auth.kek import generate_kek
from auth.ratelimit import RateLimiter
from auth.ratelimit_sql import MAX_BATCH, SqlBucketStore
from auth.settings import RateLimit
from tests.auth.auth_testkit import FakeClock, Harness, make_harness, make_settings


@pytest.mark.parametrize(
    ("rate", "burst", "batch"),
    [(0.5, 20, 1), (20.0, 100, 1), (50.0, 200, 2), (1000.0, 1000, 50), (1e6, 1e6, MAX_BATCH)],
)
def test_a_batch_is_fifty_milliseconds_of_the_rate(
    auth_engine: Engine, rate: float, burst: int, batch: int
) -> None:
    assert SqlBucketStore(auth_engine).batch(rate, int(burst)) == batch


def test_a_batch_is_never_more_than_the_burst(auth_engine: Engine) -> None:
    assert SqlBucketStore(auth_engine).batch(10_000.0, 10) == 10


def _replica(
    session_factory: sessionmaker[Session], clock: FakeClock, store: SqlBucketStore, kek: bytes
) -> Harness:
    settings = make_settings(api_rate_limit=RateLimit(rate=200.0, burst=40))  # batches of 10
    return make_harness(
        session_factory, settings=settings, clock=clock, bucket_store=store, kek=kek
    )


def test_two_app_instances_on_one_database_let_exactly_the_burst_through(
    auth_engine: Engine, session_factory: sessionmaker[Session], clock: FakeClock
) -> None:
    kek = generate_kek()
    stores = SqlBucketStore(auth_engine), SqlBucketStore(auth_engine)
    replicas = [_replica(session_factory, clock, store, kek) for store in stores]
    token = replicas[0].token(["indicators:read"])
    headers = {"Authorization": f"Bearer {token}"}
    trips_before = [store.round_trips for store in stores]

    statuses = [
        (n % 2, replicas[n % 2].http.get("/api/indicators", headers=headers).status_code)
        for n in range(100)
    ]

    assert [status for _, status in statuses].count(200) == 40
    assert {replica for replica, status in statuses if status == 429} == {0, 1}
    # The first 40 cost four round trips in all (a batch of ten each), not forty.
    allowed_phase = statuses.index(next(s for s in statuses if s[1] == 429))
    assert allowed_phase == 40
    trips = [store.round_trips - before for store, before in zip(stores, trips_before, strict=True)]
    assert sum(trips) == 4 + 60  # then every refusal asks the shared bucket
    for replica in replicas:
        replica.http.close()


def test_tokens_reserved_by_one_replica_are_still_spent_within_the_burst(
    auth_engine: Engine, session_factory: sessionmaker[Session], clock: FakeClock
) -> None:
    limit = RateLimit(rate=200.0, burst=40)
    a, b = (RateLimiter(SqlBucketStore(auth_engine), limit, clock=clock) for _ in range(2))

    assert a.hit("reserved").allowed  # takes ten, keeps nine
    from_b = sum(b.hit("reserved").allowed for _ in range(50))
    from_a = sum(a.hit("reserved").allowed for _ in range(50))

    assert from_b == 30  # short by a's reserve: at most a batch less than the burst
    assert 1 + from_a + from_b == 40  # and nothing more than the burst overall


def test_reserved_tokens_not_used_in_time_are_dropped(
    auth_engine: Engine, session_factory: sessionmaker[Session], clock: FakeClock
) -> None:
    store = SqlBucketStore(auth_engine, reserve_seconds=1.0, hold_seconds=0.5)
    limiter = RateLimiter(store, RateLimit(rate=10.0, burst=10), clock=clock)
    assert limiter.hit("dropped").allowed  # takes all ten, keeps nine
    clock.advance(0.55)  # the reserve is too old; the bucket has refilled 5.5

    allowed = sum(limiter.hit("dropped").allowed for _ in range(20))

    assert allowed == 5  # not 9 + 5


def test_concurrent_replicas_with_batches_never_pass_more_than_the_burst(
    auth_engine: Engine, session_factory: sessionmaker[Session], clock: FakeClock
) -> None:
    limit = RateLimit(rate=400.0, burst=50)  # batches of 20
    limiters = [RateLimiter(SqlBucketStore(auth_engine), limit, clock=clock) for _ in range(2)]
    results: list[bool] = []
    lock = threading.Lock()

    def worker(limiter: RateLimiter) -> None:
        for _ in range(15):
            allowed = limiter.hit("concurrent").allowed
            with lock:
                results.append(allowed)

    threads = [threading.Thread(target=worker, args=(lim,)) for lim in limiters for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 120
    assert results.count(True) == 50
