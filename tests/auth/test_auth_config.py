"""Settings validation, scopes parsing, metadata and JWKS documents, error responses."""

from __future__ import annotations

from pathlib import Path

import pytest
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from joserfc import jwk

from auth.errors import (
    ConfigurationError,
    InsufficientScopeError,
    InvalidTokenError,
    RateLimitedError,
    TokenFault,
)
from auth.responses import problem_response, www_authenticate
from auth.scopes import Scope, UnknownScopeError, format_scopes, parse_scopes
from auth.settings import AuthSettings, ExternalIssuer, RateLimit
from tests.auth.auth_testkit import AUDIENCE, ISSUER, Harness, make_settings


@pytest.mark.parametrize(
    "overrides",
    [
        {"issuer": "http://soteria.example"},
        {"issuer": "https://soteria.example/?q=1"},
        {"audience": ""},
        {"token_lifetime_seconds": 86_400},
        {"leeway_seconds": 3600},
        {"external_issuers": (ExternalIssuer(ISSUER, "x", jwks_url="https://idp/jwks"),)},
    ],
)
def test_refuses_unsafe_settings(overrides: dict[str, object]) -> None:
    values: dict[str, object] = {"issuer": ISSUER, "audience": AUDIENCE, **overrides}
    with pytest.raises(ConfigurationError):
        AuthSettings(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "overrides",
    [
        {"jwks_url": "http://idp.example/jwks"},
        {"jwks_url": None},
        {"jwks_file": Path("jwks.json")},
        {"algorithms": ("HS256",)},
        {"algorithms": ("RS256", "none")},
        {"algorithms": ()},
        {"audience": ""},
    ],
)
def test_refuses_unsafe_external_issuers(overrides: dict[str, object]) -> None:
    values: dict[str, object] = {
        "issuer": "https://idp.example",
        "audience": "api://soteria",
        "jwks_url": "https://idp.example/jwks",
        **overrides,
    }
    with pytest.raises(ConfigurationError):
        ExternalIssuer(**values)  # type: ignore[arg-type]


def test_loopback_http_is_allowed_for_development() -> None:
    issuer = ExternalIssuer("https://idp", "aud", jwks_url="http://127.0.0.1:8080/jwks")
    assert make_settings(issuer="http://localhost:8000", external_issuers=(issuer,))


def test_rate_limits_must_be_positive() -> None:
    with pytest.raises(ConfigurationError):
        RateLimit(rate=0, burst=1)
    with pytest.raises(ConfigurationError):
        RateLimit(rate=1, burst=0)


def test_parses_scopes_strictly_or_leniently() -> None:
    both = frozenset({Scope.INDICATORS_READ, Scope.AUDIT_READ})
    assert parse_scopes("audit:read  indicators:read", strict=True) == both
    assert parse_scopes(["audit:read", "indicators:read"], strict=True) == both
    assert parse_scopes(None, strict=True) == frozenset()
    assert parse_scopes("audit:read admin", strict=False) == {Scope.AUDIT_READ}
    with pytest.raises(UnknownScopeError, match="admin"):
        parse_scopes("audit:read admin", strict=True)
    assert format_scopes([Scope.INDICATORS_READ, Scope.AUDIT_READ, Scope.AUDIT_READ]) == (
        "audit:read indicators:read"
    )


def test_serves_rfc8414_metadata(harness: Harness) -> None:
    response = harness.http.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    document = response.json()
    assert document["issuer"] == ISSUER
    assert document["token_endpoint"] == ISSUER + "/oauth/token"
    assert document["jwks_uri"] == ISSUER + "/oauth/jwks"
    assert document["revocation_endpoint"] == ISSUER + "/oauth/revoke"
    assert document["introspection_endpoint"] == ISSUER + "/oauth/introspect"
    assert document["grant_types_supported"] == ["client_credentials"]
    assert document["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
    ]
    assert set(document["scopes_supported"]) == {scope.value for scope in Scope}
    assert "HS256" not in document["token_endpoint_auth_signing_alg_values_supported"]
    metadata = AuthorizationServerMetadata(document)
    for field in ("issuer", "token_endpoint", "jwks_uri", "scopes_supported"):
        getattr(metadata, f"validate_{field}")()
    metadata.validate_revocation_endpoint()
    metadata.validate_introspection_endpoint()
    metadata.validate_token_endpoint_auth_methods_supported()


def test_serves_only_public_keys_at_the_jwks_uri(harness: Harness) -> None:
    harness.token(["indicators:read"])
    response = harness.http.get("/oauth/jwks")
    assert response.status_code == 200
    assert response.headers["cache-control"].startswith("public, max-age=")
    (key,) = response.json()["keys"]
    assert key["kty"] == "EC"
    assert key["crv"] == "P-256"
    assert key["alg"] == "ES256"
    assert key["use"] == "sig"
    assert "d" not in key
    assert jwk.import_key(key).thumbprint() == key["kid"]


def test_problem_responses_have_the_rfc6750_and_rfc9457_shape() -> None:
    scope = problem_response(InsufficientScopeError("indicators:read indicators:exact"))
    assert scope.status_code == 403
    assert scope.headers["www-authenticate"] == (
        'Bearer realm="soteria", error="insufficient_scope", error_description='
        '"This action requires the scopes: indicators:read indicators:exact", '
        'scope="indicators:read indicators:exact"'
    )
    limited = problem_response(RateLimitedError(7))
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "7"
    assert "www-authenticate" not in limited.headers
    assert www_authenticate(InvalidTokenError('say "hi"\\')) == (
        'Bearer realm="soteria", error="invalid_token", error_description="say \\"hi\\"\\\\"'
    )
    invalid = problem_response(InvalidTokenError(TokenFault.EXPIRED))
    assert invalid.headers["cache-control"] == "no-store"
    assert invalid.body == (
        b'{"type":"urn:soteria:problem:invalid_token","title":"Invalid access token",'
        b'"status":401,"detail":"The access token has expired","code":"invalid_token"}'
    )
