"""Signing key rotation without a restart, with an injected clock."""

from __future__ import annotations

from datetime import timedelta

from joserfc import jws

from auth.errors import TokenFault
from auth.keycache import KeyCache
from auth.models import SigningKey
from auth.signing_keys import published_jwks, purge_retired_keys, rotate_signing_key
from tests.auth.auth_testkit import Harness, TokenForge


def _kid(token: str) -> str:
    kid = jws.extract_compact(token.encode()).headers()["kid"]
    assert isinstance(kid, str)
    return kid


def _jwks_kids(harness: Harness) -> list[str]:
    return [key["kid"] for key in harness.http.get("/oauth/jwks").json()["keys"]]


def _ok(harness: Harness, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return int(harness.http.get("/api/indicators", headers=headers).status_code)


def _rotate(harness: Harness) -> str:
    """Rotate as another process would: straight in the database, no app involvement."""
    with harness.session_factory.begin() as session:
        return rotate_signing_key(
            session,
            harness.kek,
            retire_after=harness.settings.key_retire_after,
            now=harness.clock(),
        )


def test_rotation_takes_effect_without_a_restart(harness: Harness) -> None:
    old_token = harness.token(["indicators:read"])
    old_kid = _kid(old_token)
    assert _ok(harness, old_token) == 200  # the validator has now cached the old key

    harness.clock.advance(60)
    new_kid = _rotate(harness)
    new_token = harness.token(["indicators:read"])

    assert new_kid != old_kid
    assert _kid(new_token) == new_kid
    assert _ok(harness, new_token) == 200  # unknown kid -> one reload -> accepted
    assert _ok(harness, old_token) == 200  # the old key is still published
    assert _jwks_kids(harness) == [new_kid, old_kid]


def test_the_old_key_leaves_the_jwks_once_its_tokens_have_expired(harness: Harness) -> None:
    old_kid = _kid(harness.token(["indicators:read"]))
    rotated_at = harness.clock()
    new_kid = _rotate(harness)
    retire_after = harness.settings.key_retire_after
    assert retire_after == timedelta(seconds=900 + 30)

    harness.clock.advance(retire_after.total_seconds() - 1)
    assert _jwks_kids(harness) == [new_kid, old_kid]

    harness.clock.advance(1)
    assert _jwks_kids(harness) == [new_kid]
    with harness.session_factory() as session:
        row = session.get(SigningKey, old_kid)
        assert row is not None
        assert row.retires_at == rotated_at + retire_after
        assert row.retires_at.tzinfo is not None


def test_a_token_of_a_retired_key_is_refused(harness: Harness, forge: TokenForge) -> None:
    client_id, _ = harness.register(["indicators:read"])
    now = int(harness.clock().timestamp())
    # A token that (wrongly) outlives its key: signed now, valid for two hours.
    long_lived = forge.sign(forge.claims(client_id, exp=now + 7200))
    _rotate(harness)
    harness.clock.advance(harness.settings.key_retire_after.total_seconds() + 1)
    harness.clock.advance(harness.settings.key_cache_ttl_seconds)  # let the cache expire

    response = harness.http.get(
        "/api/indicators", headers={"Authorization": f"Bearer {long_lived}"}
    )
    assert response.status_code == 401
    assert TokenFault.UNKNOWN_KEY in response.headers["www-authenticate"]


def test_purging_deletes_only_retired_keys(harness: Harness) -> None:
    harness.token(["indicators:read"])
    _rotate(harness)
    with harness.session_factory.begin() as session:
        assert purge_retired_keys(session, now=harness.clock()) == 0
        later = harness.clock() + harness.settings.key_retire_after
        assert purge_retired_keys(session, now=later) == 1
        assert len(published_jwks(session, now=later)) == 1


def test_unknown_kids_force_at_most_one_reload_per_interval(harness: Harness) -> None:
    loads: list[int] = []

    def loader() -> dict[str, object]:
        loads.append(1)
        return {}

    cache = KeyCache(
        loader,  # type: ignore[arg-type]
        ttl=timedelta(minutes=5),
        min_refresh_interval=timedelta(seconds=1),
        clock=harness.clock,
    )
    assert cache.get("a") is None  # first load, then one forced reload
    assert len(loads) == 2
    assert cache.get("b") is None  # within the interval: no reload
    assert cache.get("c") is None
    assert len(loads) == 2
    harness.clock.advance(1)
    assert cache.get("d") is None  # interval passed: one more
    assert len(loads) == 3
    harness.clock.advance(300)
    assert cache.get("e") is None  # TTL passed: reload, then a forced one
    assert len(loads) == 5


def test_private_keys_are_sealed_in_the_database(harness: Harness) -> None:
    harness.token(["indicators:read"])
    with harness.session_factory() as session:
        row = session.query(SigningKey).one()
        assert b"PRIVATE KEY" not in row.private_key_sealed
        assert "d" not in row.public_jwk
