"""The deny-list check's cache (``auth.liveness``): at once here, within the TTL elsewhere.

A revocation made by another replica is simulated by writing the deny list (or the
client's ``enabled`` flag) with a Core statement, as another process's commit looks to
this one: no ORM event of this process sees it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Table, insert, update
from sqlalchemy.orm import Session, sessionmaker

from auth.clients import disable_client
from auth.liveness import LiveCache
from auth.models import Client, RevokedToken
from auth.settings import DEFAULT_LIVE_CACHE_SECONDS
from auth.validation import TokenValidator
from tests.auth.auth_testkit import FakeClock, Harness, make_harness, make_settings


# Core tables: statements on them bypass this process's ORM events, like another replica's.
def _table(model: type[RevokedToken] | type[Client]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


REVOKED = _table(RevokedToken)
CLIENTS = _table(Client)


def _use(harness: Harness, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return int(harness.http.get("/api/indicators", headers=headers).status_code)


def _registered_token(harness: Harness) -> tuple[str, str]:
    client_id, secret = harness.register(["indicators:read"])
    assert secret is not None
    response = harness.token_response(client_id, secret)
    return client_id, response.json()["access_token"]


def _validator(harness: Harness) -> TokenValidator:
    return harness.components.validator


def test_a_revocation_by_another_replica_holds_once_the_cached_answer_expires(
    harness: Harness,
) -> None:
    client_id, token = _registered_token(harness)
    principal = _validator(harness).validate(token)
    assert _use(harness, token) == 200  # the "live" answer is now cached
    with harness.session_factory.begin() as session:  # another replica revokes it
        session.execute(
            insert(REVOKED).values(
                jti=principal.token_id,
                client_id=client_id,
                expires_at=principal.expires_at,
                revoked_at=harness.clock(),
            )
        )

    assert _use(harness, token) == 200  # within the documented cache time
    harness.clock.advance(DEFAULT_LIVE_CACHE_SECONDS)
    assert _use(harness, token) == 401
    harness.clock.advance(60)
    assert _use(harness, token) == 401  # refusals are never cached


def test_a_client_disabled_by_another_replica_is_cut_off_once_the_answer_expires(
    harness: Harness,
) -> None:
    client_id, token = _registered_token(harness)
    assert _use(harness, token) == 200
    with harness.session_factory.begin() as session:
        session.execute(update(CLIENTS).where(Client.client_id == client_id).values(enabled=False))

    assert _use(harness, token) == 200
    harness.clock.advance(DEFAULT_LIVE_CACHE_SECONDS)
    assert _use(harness, token) == 401


def test_a_client_disabled_in_this_process_is_cut_off_at_once(harness: Harness) -> None:
    client_id, token = _registered_token(harness)
    assert _use(harness, token) == 200

    with harness.session_factory.begin() as session:
        disable_client(session, client_id, now=harness.clock())

    assert _use(harness, token) == 401


def test_without_a_cache_time_every_request_reads_the_deny_list(
    session_factory: sessionmaker[Session], clock: FakeClock
) -> None:
    harness = make_harness(
        session_factory, settings=make_settings(live_cache_seconds=0), clock=clock
    )
    client_id, token = _registered_token(harness)
    principal = _validator(harness).validate(token)
    assert _use(harness, token) == 200
    with harness.session_factory.begin() as session:
        session.execute(
            insert(REVOKED).values(
                jti=principal.token_id,
                client_id=client_id,
                expires_at=principal.expires_at,
                revoked_at=clock(),
            )
        )
    assert _use(harness, token) == 401
    harness.http.close()


class Answers:
    """A deny-list check that counts its queries and says what it is told."""

    def __init__(self) -> None:
        self.live = True
        self.queries = 0
        self.during_query: list[LiveCache] = []

    def __call__(self, jti: str, client_id: str) -> bool:
        self.queries += 1
        for cache in self.during_query:  # a revocation committed while this one reads
            cache.forget_token(jti)
        return self.live


def test_live_answers_are_kept_for_the_ttl_and_refusals_not_at_all() -> None:
    clock = FakeClock()
    answers = Answers()
    cache = LiveCache(answers, ttl=1.0, clock=clock)

    assert [cache("t1", "c1") for _ in range(5)] == [True] * 5
    assert answers.queries == 1
    clock.advance(0.999)
    assert cache("t1", "c1") is True
    assert answers.queries == 1
    clock.advance(0.001)
    assert cache("t1", "c1") is True
    assert answers.queries == 2

    answers.live = False
    clock.advance(1.0)
    assert [cache("t1", "c1") for _ in range(3)] == [False] * 3
    assert answers.queries == 5


def test_forgetting_drops_a_token_or_all_of_a_clients_answers() -> None:
    answers = Answers()
    cache = LiveCache(answers, ttl=60.0, clock=FakeClock())
    for jti, client in (("t1", "c1"), ("t2", "c1"), ("t3", "c2")):
        cache(jti, client)
    assert answers.queries == 3

    cache.forget_token("t3")
    cache.forget_client("c1")
    assert len(cache) == 0
    for jti, client in (("t1", "c1"), ("t2", "c1"), ("t3", "c2")):
        cache(jti, client)
    assert answers.queries == 6


def test_an_answer_read_while_a_revocation_commits_is_not_kept() -> None:
    answers = Answers()
    cache = LiveCache(answers, ttl=60.0, clock=FakeClock())
    answers.during_query.append(cache)

    assert cache("t1", "c1") is True  # read before the revocation's commit: may be stale
    answers.during_query.clear()
    assert cache("t1", "c1") is True
    assert answers.queries == 2  # so it was not cached: the database was asked again


def test_the_cache_stays_bounded() -> None:
    clock = FakeClock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    cache = LiveCache(Answers(), ttl=60.0, clock=clock, max_entries=10)
    for n in range(100):
        cache(f"t{n}", "c")
    assert len(cache) <= 10
