"""Tokens from an external identity provider whose JWKS is served on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwk, jwt
from sqlalchemy.orm import Session, sessionmaker

from auth.errors import JWKSFetchError, TokenFault
from auth.external import parse_jwks
from auth.scopes import Scope
from auth.settings import ExternalIssuer
from tests.auth.auth_testkit import (
    FORCE_A,
    FORCE_B,
    FakeClock,
    Harness,
    JWKSServer,
    hmac_signed,
    make_harness,
    make_settings,
)

IDP = "https://login.idp.test/tenant/v2.0"
IDP_AUDIENCE = "api://soteria"
SCOPE_MAP = {
    "Soteria.Indicators.Read": frozenset({Scope.INDICATORS_READ}),
    "Soteria.Analyst": frozenset({Scope.INDICATORS_READ, Scope.INDICATORS_EXACT}),
    "Soteria.Records.Write": frozenset({Scope.RECORDS_WRITE}),
}


@pytest.fixture(scope="module")
def idp_keys() -> list[jwk.RSAKey]:
    return [
        jwk.RSAKey.generate_key(2048, parameters={"kid": f"idp-{n}"}, private=True)
        for n in (1, 2, 3)
    ]


@pytest.fixture
def jwks_server(idp_keys: list[jwk.RSAKey]) -> Iterator[JWKSServer]:
    with JWKSServer() as server:
        server.publish(idp_keys[0])
        yield server


def _issuer(url: str | None = None, **overrides: Any) -> ExternalIssuer:
    values: dict[str, Any] = {
        "issuer": IDP,
        "audience": IDP_AUDIENCE,
        "jwks_url": url,
        "scope_claims": ("roles", "scp"),
        "scope_map": SCOPE_MAP,
        "force_claim": "force",
        "algorithms": ("RS256",),
    }
    values.update(overrides)
    return ExternalIssuer(**values)


@pytest.fixture
def idp_harness(
    session_factory: sessionmaker[Session], clock: FakeClock, jwks_server: JWKSServer
) -> Iterator[Harness]:
    settings = make_settings(external_issuers=(_issuer(jwks_server.url),))
    harness = make_harness(session_factory, settings=settings, clock=clock)
    harness.components.prime()
    yield harness
    harness.http.close()


def _idp_token(
    key: jwk.Key, clock: FakeClock, typ: str | None = "at+jwt", alg: str = "RS256", **claims: Any
) -> str:
    now = int(clock().timestamp())
    payload = {
        "iss": IDP,
        "aud": IDP_AUDIENCE,
        "sub": "user-object-id",
        "azp": "analyst-app",
        "iat": now,
        "exp": now + 3600,
        "roles": ["Soteria.Indicators.Read"],
    }
    payload.update(claims)
    header = {"alg": alg, "kid": key.kid}
    if typ is not None:
        header["typ"] = typ
    return jwt.encode(header, payload, key, algorithms=[alg], default_type=None)


def _get(harness: Harness, path: str, token: str, method: str = "GET") -> Any:
    return harness.http.request(method, path, headers={"Authorization": f"Bearer {token}"})


def test_accepts_an_external_token_and_maps_its_roles(
    idp_harness: Harness, idp_keys: list[jwk.RSAKey], jwks_server: JWKSServer
) -> None:
    token = _idp_token(idp_keys[0], idp_harness.clock, roles=["Soteria.Analyst", "Unmapped.Role"])

    indicators = _get(idp_harness, "/api/indicators", token)
    exact = _get(idp_harness, "/api/indicators/exact", token)

    assert indicators.status_code == 200
    assert indicators.json()["client_id"] == "analyst-app"
    assert exact.status_code == 200
    assert exact.json()["exact"] is True
    assert jwks_server.hits == 1  # fetched at start, then served from the cache


def test_unmapped_roles_grant_nothing(idp_harness: Harness, idp_keys: list[jwk.RSAKey]) -> None:
    token = _idp_token(idp_keys[0], idp_harness.clock, roles=["Global.Admin"], scp="openid")
    response = _get(idp_harness, "/api/indicators", token)
    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"


def test_refetches_the_jwks_once_when_the_provider_rotates(
    idp_harness: Harness, idp_keys: list[jwk.RSAKey], jwks_server: JWKSServer
) -> None:
    jwks_server.publish(idp_keys[0], idp_keys[1])

    rotated = _get(idp_harness, "/api/indicators", _idp_token(idp_keys[1], idp_harness.clock))

    assert rotated.status_code == 200
    assert jwks_server.hits == 2

    idp_harness.clock.advance(idp_harness.settings.key_refresh_min_interval_seconds)
    unknown = _get(idp_harness, "/api/indicators", _idp_token(idp_keys[2], idp_harness.clock))
    assert unknown.status_code == 401
    assert TokenFault.UNKNOWN_KEY in unknown.headers["www-authenticate"]
    assert jwks_server.hits == 3  # one refetch for the unknown kid
    again = _get(idp_harness, "/api/indicators", _idp_token(idp_keys[2], idp_harness.clock))
    assert again.status_code == 401
    assert jwks_server.hits == 3  # no second refetch within the interval


def test_force_claim_binds_an_external_client_to_its_force(
    idp_harness: Harness, idp_keys: list[jwk.RSAKey]
) -> None:
    token = _idp_token(
        idp_keys[0], idp_harness.clock, roles=["Soteria.Records.Write"], force=FORCE_A
    )
    own = _get(idp_harness, f"/api/forces/{FORCE_A}/submissions", token, "POST")
    other = _get(idp_harness, f"/api/forces/{FORCE_B}/submissions", token, "POST")
    assert own.status_code == 200
    assert other.status_code == 403
    assert other.json()["code"] == "wrong_force"
    assert idp_harness.pushes == [FORCE_A]


def test_a_national_external_client_cannot_push_records(
    idp_harness: Harness, idp_keys: list[jwk.RSAKey]
) -> None:
    token = _idp_token(idp_keys[0], idp_harness.clock, roles=["Soteria.Records.Write"])
    response = _get(idp_harness, f"/api/forces/{FORCE_A}/submissions", token, "POST")
    assert response.status_code == 403
    assert idp_harness.pushes == []


@pytest.mark.parametrize(
    ("change", "fault"),
    [
        ({"force": "atlantis"}, TokenFault.BAD_CLAIMS),
        ({"aud": "api://someone-else"}, TokenFault.WRONG_AUDIENCE),
        ({"typ": "JWT"}, TokenFault.BAD_TYPE),
        ({"typ": None}, TokenFault.BAD_TYPE),
        ({"alg": "PS256"}, TokenFault.BAD_ALGORITHM),
        ({"exp": 1_000_000}, TokenFault.EXPIRED),
    ],
    ids=["unknown_force", "wrong_audience", "typ_jwt", "typ_missing", "alg_not_allowed", "expired"],
)
def test_refuses_bad_external_tokens(
    change: dict[str, Any], fault: TokenFault, idp_harness: Harness, idp_keys: list[jwk.RSAKey]
) -> None:
    token = _idp_token(idp_keys[0], idp_harness.clock, **change)
    response = _get(idp_harness, "/api/indicators", token)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].endswith(f'error_description="{fault}"')


def test_refuses_hmac_signed_with_the_providers_public_key(
    idp_harness: Harness, idp_keys: list[jwk.RSAKey]
) -> None:
    public_pem = jwk.RSAKey.import_key(idp_keys[0].as_dict(private=False)).as_pem()
    now = int(idp_harness.clock().timestamp())
    claims = {"iss": IDP, "aud": IDP_AUDIENCE, "sub": "x", "exp": now + 60, "roles": []}
    token = hmac_signed({"alg": "HS256", "typ": "at+jwt", "kid": "idp-1"}, claims, public_pem)
    response = _get(idp_harness, "/api/indicators", token)
    assert response.status_code == 401
    assert TokenFault.BAD_ALGORITHM in response.headers["www-authenticate"]


def test_an_issuer_configured_like_entra_accepts_typ_jwt(
    session_factory: sessionmaker[Session],
    clock: FakeClock,
    jwks_server: JWKSServer,
    idp_keys: list[jwk.RSAKey],
) -> None:
    entra = _issuer(jwks_server.url, require_at_jwt_typ=False)
    harness = make_harness(
        session_factory, settings=make_settings(external_issuers=(entra,)), clock=clock
    )
    for typ in ("JWT", None):
        response = _get(harness, "/api/indicators", _idp_token(idp_keys[0], clock, typ=typ))
        assert response.status_code == 200
    odd = _get(harness, "/api/indicators", _idp_token(idp_keys[0], clock, typ="dpop+jwt"))
    assert odd.status_code == 401
    harness.http.close()


def test_keeps_serving_cached_keys_while_the_provider_is_down(
    session_factory: sessionmaker[Session], clock: FakeClock, idp_keys: list[jwk.RSAKey]
) -> None:
    with JWKSServer() as server:
        server.publish(idp_keys[0])
        settings = make_settings(external_issuers=(_issuer(server.url),))
        harness = make_harness(session_factory, settings=settings, clock=clock)
        harness.components.prime()
    clock.advance(settings.key_cache_ttl_seconds + 1)  # stale, and the server is gone
    response = _get(harness, "/api/indicators", _idp_token(idp_keys[0], clock))
    assert response.status_code == 200
    harness.http.close()


def test_start_up_reports_an_unreachable_provider(
    session_factory: sessionmaker[Session], clock: FakeClock
) -> None:
    with JWKSServer() as server:
        url = server.url
    settings = make_settings(external_issuers=(_issuer(url),))
    harness = make_harness(session_factory, settings=settings, clock=clock)
    with pytest.raises(JWKSFetchError, match=IDP):
        harness.components.prime()
    harness.http.close()


def test_an_unreachable_provider_is_asked_once_per_interval(
    session_factory: sessionmaker[Session], clock: FakeClock, idp_keys: list[jwk.RSAKey]
) -> None:
    with JWKSServer() as server:
        url = server.url
    settings = make_settings(external_issuers=(_issuer(url),))
    harness = make_harness(session_factory, settings=settings, clock=clock)
    token = _idp_token(idp_keys[0], clock)
    cache = harness.components.validator.key_caches[IDP]

    for _ in range(3):
        response = _get(harness, "/api/indicators", token)
        assert response.status_code == 401
        assert TokenFault.KEYS_UNAVAILABLE in response.headers["www-authenticate"]
    assert cache.loads == 1
    clock.advance(settings.key_refresh_min_interval_seconds)
    _get(harness, "/api/indicators", token)
    assert cache.loads == 2
    harness.http.close()


def test_reads_a_jwks_file(
    session_factory: sessionmaker[Session],
    clock: FakeClock,
    idp_keys: list[jwk.RSAKey],
    tmp_path: Path,
) -> None:
    path = tmp_path / "idp-jwks.json"
    path.write_text(json.dumps({"keys": [idp_keys[0].as_dict(private=False)]}))
    issuer = _issuer(None, jwks_file=path)
    harness = make_harness(
        session_factory, settings=make_settings(external_issuers=(issuer,)), clock=clock
    )
    response = _get(harness, "/api/indicators", _idp_token(idp_keys[0], clock))
    assert response.status_code == 200
    harness.http.close()


def test_parse_jwks_keeps_only_public_signing_keys(idp_keys: list[jwk.RSAKey]) -> None:
    private = idp_keys[0].as_dict(private=True)
    document = {
        "keys": [
            private,
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {**idp_keys[1].as_dict(private=False), "use": "enc"},
            {"kty": "RSA", "kid": "broken", "n": "??", "e": "AQAB"},
        ]
    }
    keys = parse_jwks(document)
    assert list(keys) == ["idp-1"]
    assert not keys["idp-1"].is_private
    with pytest.raises(JWKSFetchError):
        parse_jwks({"keys": [{"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}]})
    with pytest.raises(JWKSFetchError):
        parse_jwks(["not", "a", "jwks"])
