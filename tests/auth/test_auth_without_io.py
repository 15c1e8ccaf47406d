"""Authentication on the event loop when nothing needs I/O (``BearerTokenBackend``).

A token seen before is usually answered from memory: remembered as verified, its key the
current loaded one, its "live" answer kept, a rate-limit token in this process's reserve.
Then no worker thread is used. Whatever needs the database, a key reload or a decision
the caches cannot make goes to the thread as before, with the same answers.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from auth import backend
from auth.errors import RateLimitedError
from auth.ratelimit import InMemoryBucketStore, RateLimiter
from auth.ratelimit_sql import SqlBucketStore
from auth.revocation import revoke_token
from auth.settings import DEFAULT_LIVE_CACHE_SECONDS, RateLimit
from tests.auth.auth_testkit import FakeClock, Harness


def _token(harness: Harness) -> str:
    client_id, secret = harness.register(["indicators:read"])
    assert secret is not None
    return str(harness.token_response(client_id, secret).json()["access_token"])


def _use(harness: Harness, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return int(harness.http.get("/api/indicators", headers=headers).status_code)


@pytest.fixture
def threads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each validation the backend sends to a worker thread."""
    sent: list[str] = []
    real = run_in_threadpool

    async def counting(fn: Any, *args: Any) -> Any:
        sent.append(getattr(fn, "__name__", "?"))
        return await real(fn, *args)

    monkeypatch.setattr(backend, "run_in_threadpool", counting)
    return sent


def test_a_token_seen_before_is_validated_without_a_thread(
    harness: Harness, threads: list[str]
) -> None:
    token = _token(harness)
    assert _use(harness, token) == 200
    assert threads == ["_validate"]  # first sight: verified and checked in a thread
    for _ in range(3):
        assert _use(harness, token) == 200
    assert threads == ["_validate"]


def test_an_expired_live_answer_or_a_stale_key_cache_goes_to_the_thread(
    harness: Harness, threads: list[str]
) -> None:
    token = _token(harness)
    validator = harness.components.validator
    assert _use(harness, token) == 200
    assert validator.validate_now(token) is not None
    harness.clock.advance(DEFAULT_LIVE_CACHE_SECONDS)  # the "live" answer has expired
    assert validator.validate_now(token) is None
    assert _use(harness, token) == 200
    assert len(threads) == 2
    harness.clock.advance(harness.settings.key_cache_ttl_seconds)  # keys due a reload
    assert validator.validate_now(token) is None


def test_a_token_revoked_here_is_refused_at_once(harness: Harness, threads: list[str]) -> None:
    token = _token(harness)
    assert _use(harness, token) == 200
    principal = harness.components.validator.validate(token)
    with harness.session_factory.begin() as session:
        revoke_token(
            session,
            jti=principal.token_id,
            client_id=principal.client_id,
            expires_at=principal.expires_at,
            now=harness.clock(),
        )
    assert harness.components.validator.validate_now(token) is None
    assert _use(harness, token) == 401


def test_a_sql_reserve_serves_without_the_database_only_while_it_holds_tokens(
    auth_engine: Engine, clock: FakeClock
) -> None:
    store = SqlBucketStore(auth_engine)
    now = clock().timestamp()
    assert store.take_now("k", rate=1000.0, burst=1000, now=now) is None  # nothing reserved
    assert store.take("k", rate=1000.0, burst=1000, now=now).allowed  # reserves a batch
    trips = store.round_trips
    batch = store.batch(1000.0, 1000)
    taken = [store.take_now("k", rate=1000.0, burst=1000, now=now) for _ in range(batch - 1)]
    assert all(t is not None and t.allowed for t in taken)
    assert store.take_now("k", rate=1000.0, burst=1000, now=now) is None  # used up
    assert store.round_trips == trips
    fetching = store._reserve("k").fetching
    fetching.acquire()  # another thread is fetching for this key: never wait for it
    try:
        done = threading.Event()

        def try_now() -> None:
            store.take_now("k", rate=1000.0, burst=1000, now=now)
            done.set()

        threading.Thread(target=try_now).start()
        assert done.wait(5)
    finally:
        fetching.release()


def test_a_refusal_the_memory_store_can_decide_is_made_at_once(clock: FakeClock) -> None:
    limiter = RateLimiter(InMemoryBucketStore(), RateLimit(rate=1.0, burst=2), clock=clock)
    assert limiter.check_now("k")
    assert limiter.check_now("k")
    with pytest.raises(RateLimitedError):
        limiter.check_now("k")
