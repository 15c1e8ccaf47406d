"""Revocation (RFC 7009) and introspection (RFC 7662): own tokens only."""

from __future__ import annotations

from sqlalchemy import func, select

from auth.models import RevokedToken
from auth.revocation import purge_expired
from tests.auth.auth_testkit import FORCE_A, Harness, TokenForge


def _client_with_token(
    harness: Harness, scopes: list[str], force: str | None = None
) -> tuple[str, str, str]:
    client_id, secret = harness.register(scopes, force)
    assert secret is not None
    token = harness.token_response(client_id, secret).json()["access_token"]
    return client_id, secret, token


def _use(harness: Harness, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return int(harness.http.get("/api/indicators", headers=headers).status_code)


def test_a_client_revokes_its_own_token(harness: Harness) -> None:
    client_id, secret, token = _client_with_token(harness, ["indicators:read"])
    assert _use(harness, token) == 200

    response = harness.http.post("/oauth/revoke", data={"token": token}, auth=(client_id, secret))

    assert response.status_code == 200
    assert response.json() == {}
    assert _use(harness, token) == 401
    again = harness.http.post("/oauth/revoke", data={"token": token}, auth=(client_id, secret))
    assert again.status_code == 200  # idempotent


def test_a_client_cannot_revoke_another_clients_token(harness: Harness) -> None:
    _, _, victim_token = _client_with_token(harness, ["indicators:read"])
    attacker_id, attacker_secret = harness.register(["indicators:read"])

    response = harness.http.post(
        "/oauth/revoke", data={"token": victim_token}, auth=(attacker_id, attacker_secret)
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert _use(harness, victim_token) == 200


def test_revoking_an_unknown_or_invalid_token_is_a_quiet_success(harness: Harness) -> None:
    client_id, secret = harness.register(["indicators:read"])
    for token in ("garbage", "a.b.c"):
        response = harness.http.post(
            "/oauth/revoke", data={"token": token}, auth=(client_id, secret)
        )
        assert response.status_code == 200
    with harness.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(RevokedToken)) == 0


def test_revocation_and_introspection_require_client_authentication(harness: Harness) -> None:
    _, _, token = _client_with_token(harness, ["indicators:read"])
    for path in ("/oauth/revoke", "/oauth/introspect"):
        response = harness.http.post(path, data={"token": token})
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
        wrong = harness.http.post(path, data={"token": token}, auth=("sx_nobody", "nothing"))
        assert wrong.status_code == 401
    assert _use(harness, token) == 200


def test_introspection_describes_the_clients_own_active_token(harness: Harness) -> None:
    client_id, secret, token = _client_with_token(harness, ["records:write"], FORCE_A)
    now = int(harness.clock().timestamp())

    response = harness.http.post(
        "/oauth/introspect", data={"token": token}, auth=(client_id, secret)
    )

    assert response.status_code == 200
    body = response.json()
    assert body == {
        "active": True,
        "token_type": "Bearer",
        "scope": "records:write",
        "client_id": client_id,
        "sub": client_id,
        "iss": harness.settings.issuer,
        "aud": harness.settings.audience,
        "exp": now + 900,
        "iat": now,
        "jti": body["jti"],
        "force": FORCE_A,
    }


def test_introspection_of_another_clients_token_is_inactive(harness: Harness) -> None:
    _, _, victim_token = _client_with_token(harness, ["indicators:read"])
    other_id, other_secret = harness.register(["indicators:read"])

    response = harness.http.post(
        "/oauth/introspect", data={"token": victim_token}, auth=(other_id, other_secret)
    )

    assert response.status_code == 200
    assert response.json() == {"active": False}


def test_introspection_of_revoked_expired_or_foreign_tokens_is_inactive(
    harness: Harness, forge: TokenForge
) -> None:
    client_id, secret, token = _client_with_token(harness, ["indicators:read"])
    wrong_issuer = forge.sign(forge.claims(client_id, iss="https://evil.test"))

    def introspect(value: str) -> object:
        response = harness.http.post(
            "/oauth/introspect", data={"token": value}, auth=(client_id, secret)
        )
        assert response.status_code == 200
        return response.json()

    assert introspect("garbage") == {"active": False}
    assert introspect(wrong_issuer) == {"active": False}
    assert introspect(token)["active"] is True  # type: ignore[index]
    harness.http.post("/oauth/revoke", data={"token": token}, auth=(client_id, secret))
    assert introspect(token) == {"active": False}

    fresh = harness.token_response(client_id, secret).json()["access_token"]
    harness.clock.advance(900 + harness.settings.leeway_seconds + 1)
    assert introspect(fresh) == {"active": False}


def test_expired_revocations_are_purged(harness: Harness) -> None:
    client_id, secret, token = _client_with_token(harness, ["indicators:read"])
    harness.http.post("/oauth/revoke", data={"token": token}, auth=(client_id, secret))
    with harness.session_factory.begin() as session:
        assert purge_expired(session, now=harness.clock()) == 0
        later = harness.clock().replace(year=harness.clock().year + 1)
        assert purge_expired(session, now=later) == 1
