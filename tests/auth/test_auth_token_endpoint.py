"""The client credentials grant at POST /oauth/token, through HTTP, with real clients."""

from __future__ import annotations

import time
import warnings
from typing import Any

import pytest
from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign
from joserfc import jwk, jwt

from auth.clients import disable_client
from tests.auth.auth_testkit import (
    AUDIENCE,
    FORCE_A,
    ISSUER,
    Harness,
    build_app,
    hmac_signed,
    live_server,
)

with warnings.catch_warnings():
    # authlib warns that it prefers the httpx2 package when only httpx is installed.
    warnings.simplefilter("ignore", DeprecationWarning)
    from authlib.integrations.httpx_client import OAuth2Client

TOKEN_URL = ISSUER + "/oauth/token"


def _decode(harness: Harness, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    keys = jwk.KeySet.import_key_set(harness.http.get("/oauth/jwks").json())
    decoded = jwt.decode(token, keys, algorithms=["ES256"])
    return dict(decoded.header), dict(decoded.claims)


def test_issues_an_rfc9068_token_with_client_secret_basic(harness: Harness) -> None:
    client_id, secret = harness.register(["indicators:read", "submissions:read"])
    assert secret is not None

    response = harness.token_response(client_id, secret)

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["scope"] == "indicators:read submissions:read"
    assert "refresh_token" not in body
    header, claims = _decode(harness, body["access_token"])
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "ES256"
    now = int(harness.clock().timestamp())
    assert claims == {
        "iss": ISSUER,
        "sub": client_id,
        "aud": AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": now + 900,
        "jti": claims["jti"],
        "client_id": client_id,
        "scope": "indicators:read submissions:read",
    }
    assert len(claims["jti"]) >= 32


def test_issues_a_token_with_client_secret_post_and_a_force_claim(harness: Harness) -> None:
    client_id, secret = harness.register(["records:write"], FORCE_A)

    response = harness.http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )

    assert response.status_code == 200
    _, claims = _decode(harness, response.json()["access_token"])
    assert claims["force"] == FORCE_A
    assert claims["scope"] == "records:write"


def test_refuses_a_wrong_secret_with_invalid_client(harness: Harness) -> None:
    client_id, _ = harness.register(["indicators:read"])

    response = harness.token_response(client_id, "not-the-secret")

    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_client",
        "error_description": "Client authentication failed",
    }
    assert response.headers["www-authenticate"] == 'Basic realm="soteria", error="invalid_client"'


def test_refuses_a_disabled_client_exactly_like_an_unknown_one(harness: Harness) -> None:
    client_id, secret = harness.register(["indicators:read"])
    assert secret is not None
    assert harness.token_response(client_id, secret).status_code == 200
    with harness.session_factory.begin() as session:
        disable_client(session, client_id)

    disabled = harness.token_response(client_id, secret)
    unknown = harness.token_response("sx_no-such-client", secret)
    post_unknown = harness.http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "nope", "client_secret": "x"},
    )

    for response in (disabled, unknown, post_unknown):
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
        assert response.json() == disabled.json()


def test_refuses_a_request_without_client_authentication(harness: Harness) -> None:
    response = harness.http.post("/oauth/token", data={"grant_type": "client_credentials"})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    ("requested", "granted"),
    [
        (None, "indicators:exact indicators:read"),
        ("", "indicators:exact indicators:read"),
        ("indicators:read", "indicators:read"),
        ("indicators:exact indicators:read", "indicators:exact indicators:read"),
    ],
)
def test_grants_the_requested_scopes_or_all_allowed(
    requested: str | None, granted: str, harness: Harness
) -> None:
    client_id, secret = harness.register(["indicators:read", "indicators:exact"])
    assert secret is not None
    response = harness.token_response(client_id, secret, requested)
    assert response.status_code == 200
    assert response.json()["scope"] == granted
    assert _decode(harness, response.json()["access_token"])[1]["scope"] == granted


@pytest.mark.parametrize(
    "requested",
    ["audit:read", "indicators:read audit:read", "indicators:read admin", "openid"],
)
def test_refuses_scopes_not_allowed_with_invalid_scope(requested: str, harness: Harness) -> None:
    client_id, secret = harness.register(["indicators:read"])
    assert secret is not None
    response = harness.token_response(client_id, secret, requested)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    assert "access_token" not in response.json()


def test_refuses_other_grant_types(harness: Harness) -> None:
    client_id, secret = harness.register(["indicators:read"])
    assert secret is not None
    response = harness.http.post(
        "/oauth/token", data={"grant_type": "password", "username": "u"}, auth=(client_id, secret)
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"json": {"grant_type": "client_credentials"}}, "/oauth/token"),
        ({"data": {"grant_type": "client_credentials"}}, "/oauth/token?client_secret=leak"),
        ({"content": b"grant_type=client_credentials&scope=a&scope=b"}, "/oauth/token"),
        ({"content": b"grant_type=" + b"x" * 20_000}, "/oauth/token"),
    ],
    ids=["json_body", "query_string", "repeated_parameter", "oversized_body"],
)
def test_refuses_malformed_token_requests(
    kwargs: dict[str, Any], path: str, harness: Harness
) -> None:
    headers = {}
    if "content" in kwargs:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    response = harness.http.post(path, headers=headers, **kwargs)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_the_token_endpoint_only_answers_post(harness: Harness) -> None:
    assert harness.http.get("/oauth/token").status_code == 405


# --- private_key_jwt --------------------------------------------------------------


@pytest.fixture
def key_pair_client(harness: Harness) -> tuple[str, jwk.ECKey]:
    key = jwk.ECKey.generate_key("P-256", private=True)
    client_id, secret = harness.register(["records:write"], FORCE_A, key.as_dict(private=False))
    assert secret is None
    return client_id, key


def _assertion_request(harness: Harness, assertion: str) -> Any:
    return harness.http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
        },
    )


def test_issues_a_token_with_private_key_jwt(
    harness: Harness, key_pair_client: tuple[str, jwk.ECKey]
) -> None:
    client_id, key = key_pair_client
    assertion = private_key_jwt_sign(key, client_id, TOKEN_URL, alg="ES256")

    response = _assertion_request(harness, assertion)

    assert response.status_code == 200, response.text
    _, claims = _decode(harness, response.json()["access_token"])
    assert claims["client_id"] == client_id
    assert claims["force"] == FORCE_A


def test_refuses_a_replayed_client_assertion(
    harness: Harness, key_pair_client: tuple[str, jwk.ECKey]
) -> None:
    client_id, key = key_pair_client
    assertion = private_key_jwt_sign(key, client_id, TOKEN_URL, alg="ES256")
    assert _assertion_request(harness, assertion).status_code == 200

    replay = _assertion_request(harness, assertion)

    assert replay.status_code == 401
    assert replay.json()["error"] == "invalid_client"


def _signed(key: jwk.Key, alg: str, **claims: Any) -> str:
    now = int(time.time())
    payload = {"iat": now, "exp": now + 60, "jti": f"jti-{time.monotonic_ns()}", **claims}
    return jwt.encode({"alg": alg}, payload, key, algorithms=[alg])


@pytest.mark.parametrize(
    "case",
    ["other_key", "wrong_audience", "too_long_lived", "iss_differs", "expired", "hs256_public"],
)
def test_refuses_bad_client_assertions(
    case: str, harness: Harness, key_pair_client: tuple[str, jwk.ECKey]
) -> None:
    client_id, key = key_pair_client
    now = int(time.time())
    good = {"iss": client_id, "sub": client_id, "aud": TOKEN_URL}
    assertion = {
        "other_key": lambda: _signed(
            jwk.ECKey.generate_key("P-256", private=True), "ES256", **good
        ),
        "wrong_audience": lambda: _signed(key, "ES256", **{**good, "aud": "https://other.test"}),
        "too_long_lived": lambda: _signed(key, "ES256", **good, exp=now + 86_400),
        "iss_differs": lambda: _signed(key, "ES256", **{**good, "iss": "someone-else"}),
        "expired": lambda: _signed(key, "ES256", **good, exp=now - 600),
        "hs256_public": lambda: _hs256_with(key, good),
    }[case]()

    response = _assertion_request(harness, assertion)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def _hs256_with(key: jwk.ECKey, claims: dict[str, Any]) -> str:
    now = int(time.time())
    public_pem = jwk.ECKey.import_key(key.as_dict(private=False)).as_pem()
    payload = {**claims, "iat": now, "exp": now + 60, "jti": "hs"}
    return hmac_signed({"alg": "HS256"}, payload, public_pem)


def test_a_key_pair_client_cannot_use_a_secret(
    harness: Harness, key_pair_client: tuple[str, jwk.ECKey]
) -> None:
    client_id, _ = key_pair_client
    assert harness.token_response(client_id, "anything").status_code == 401


def test_a_secret_client_cannot_use_an_assertion(harness: Harness) -> None:
    client_id, _ = harness.register(["indicators:read"])
    key = jwk.ECKey.generate_key("P-256", private=True)
    assertion = private_key_jwt_sign(key, client_id, TOKEN_URL, alg="ES256")
    assert _assertion_request(harness, assertion).status_code == 401


# --- a real peer client against a live server ----------------------------------------


def test_authlib_oauth2_client_gets_and_uses_a_token_over_http(harness: Harness) -> None:
    client_id, secret = harness.register(["indicators:read"])
    app = build_app(harness.components, harness.pushes)
    with live_server(app) as base_url:
        with OAuth2Client(client_id, secret, scope="indicators:read") as peer:
            token = peer.fetch_token(base_url + "/oauth/token", grant_type="client_credentials")
            data = peer.get(base_url + "/api/indicators")
        assert token["token_type"] == "Bearer"
        assert token["scope"] == "indicators:read"
        assert data.status_code == 200
        assert data.json()["client_id"] == client_id


def test_authlib_oauth2_client_with_private_key_jwt_over_http(
    harness: Harness, key_pair_client: tuple[str, jwk.ECKey]
) -> None:
    client_id, key = key_pair_client
    app = build_app(harness.components, harness.pushes)
    with live_server(app) as base_url:
        peer = OAuth2Client(client_id, key, token_endpoint_auth_method="private_key_jwt")
        peer.register_client_auth_method(PrivateKeyJWT(TOKEN_URL, alg="ES256"))
        with peer:
            token = peer.fetch_token(base_url + "/oauth/token", grant_type="client_credentials")
            pushed = peer.post(base_url + f"/api/forces/{FORCE_A}/submissions")
        assert token["scope"] == "records:write"
        assert pushed.status_code == 200
        assert harness.pushes == [FORCE_A]
