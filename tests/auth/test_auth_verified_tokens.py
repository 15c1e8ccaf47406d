"""Tokens already verified are remembered by their text, within every other check.

The signature of a token seen before is not checked again, but its expiry, its signing key
still being served, and the deny list are checked on every request.
"""

from __future__ import annotations

from sqlalchemy import delete

from auth.models import SigningKey
from auth.settings import DEFAULT_LIVE_CACHE_SECONDS
from tests.auth.auth_testkit import ISSUER, Harness


def _use(harness: Harness, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return int(harness.http.get("/api/indicators", headers=headers).status_code)


def test_a_verified_token_is_remembered_once(harness: Harness) -> None:
    token = harness.token(["indicators:read"])
    validator = harness.components.validator

    assert [_use(harness, token) for _ in range(3)] == [200, 200, 200]
    assert len(validator.verified) == 1
    assert validator.validate(token).scopes == validator.validate(token).scopes


def test_a_remembered_token_still_expires(harness: Harness) -> None:
    token = harness.token(["indicators:read"])
    assert _use(harness, token) == 200
    lifetime = harness.settings.token_lifetime_seconds + harness.settings.leeway_seconds

    harness.clock.advance(lifetime - 1)
    assert _use(harness, token) == 200
    harness.clock.advance(1)
    assert _use(harness, token) == 401


def test_another_text_is_verified_in_full(harness: Harness) -> None:
    token = harness.token(["indicators:read"])
    assert _use(harness, token) == 200
    head, body, signature = token.split(".")
    forged = f"{head}.{body}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"

    assert _use(harness, forged) == 401
    assert _use(harness, token) == 200


def test_a_remembered_token_is_refused_once_its_key_is_gone(harness: Harness) -> None:
    token = harness.token(["indicators:read"])
    assert _use(harness, token) == 200
    with harness.session_factory.begin() as session:
        session.execute(delete(SigningKey))
    harness.components.validator.key_caches[ISSUER].refresh()

    assert _use(harness, token) == 401


def test_a_remembered_token_is_still_checked_against_the_deny_list(harness: Harness) -> None:
    client_id, secret = harness.register(["indicators:read"])
    assert secret is not None
    token = harness.token_response(client_id, secret).json()["access_token"]
    assert _use(harness, token) == 200

    revoked = harness.http.post("/oauth/revoke", data={"token": token}, auth=(client_id, secret))

    assert revoked.status_code == 200
    assert _use(harness, token) == 401
    harness.clock.advance(DEFAULT_LIVE_CACHE_SECONDS)
    assert _use(harness, token) == 401
