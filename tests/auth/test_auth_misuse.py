"""Every way a bearer token can be wrong, each refused with the exact RFC 6750 answer.

Each case builds a real bad token (signed with our real key unless the point is the
key) and calls a protected route through HTTP. Every refusal must carry the exact
``WWW-Authenticate`` challenge, a problem+json body with the right code, no protected data,
no trace of the token, no side effect, and be counted as a denial.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from joserfc import jwk
from sqlalchemy.orm import Session, sessionmaker

from auth.clients import disable_client
from auth.errors import TokenFault
from auth.policy import Action
from tests.auth.auth_testkit import (
    FORCE_A,
    FORCE_B,
    SECRET_DATA,
    Harness,
    TokenForge,
    hmac_signed,
    make_harness,
    unsigned,
)

REALM = 'Bearer realm="soteria"'


def invalid_token(fault: TokenFault) -> str:
    return f'{REALM}, error="invalid_token", error_description="{fault}"'


def invalid_request(fault: TokenFault) -> str:
    return f'{REALM}, error="invalid_request", error_description="{fault}"'


@dataclass(frozen=True)
class Attempt:
    """What a case sends: a token (or none), extra query, the action and force."""

    token: str | None
    action: Action = Action.READ_INDICATORS
    force: str = FORCE_A
    query: str = ""
    raw_authorization: str | None = None


@dataclass(frozen=True)
class Case:
    build: Callable[[Harness, TokenForge], Attempt]
    status: int
    challenge: str
    code: str


def _client(harness: Harness, scopes: list[str] | None = None, force: str | None = None) -> str:
    client_id, _ = harness.register(scopes or ["indicators:read"], force)
    return client_id


def _expired(h: Harness, f: TokenForge) -> Attempt:
    now = int(h.clock().timestamp())
    claims = f.claims(_client(h), iat=now - 2000, nbf=now - 2000, exp=now - 1000)
    return Attempt(f.sign(claims))


def _nbf_future(h: Harness, f: TokenForge) -> Attempt:
    now = int(h.clock().timestamp())
    return Attempt(f.sign(f.claims(_client(h), nbf=now + 600, exp=now + 1200)))


def _iat_future(h: Harness, f: TokenForge) -> Attempt:
    now = int(h.clock().timestamp())
    return Attempt(f.sign(f.claims(_client(h), iat=now + 600, nbf=None, exp=now + 1200)))


def _wrong_key(h: Harness, f: TokenForge) -> Attempt:
    stranger = jwk.ECKey.generate_key("P-256", private=True)
    return Attempt(f.sign(f.claims(_client(h)), key=stranger))


def _tampered(h: Harness, f: TokenForge) -> Attempt:
    client_id = _client(h)
    token = f.sign(f.claims(client_id))
    header, _, signature = token.split(".")
    forged = f.claims(client_id, scope="indicators:read records:write")
    payload = unsigned({}, forged).split(".")[1]
    return Attempt(f"{header}.{payload}.{signature}")


def _wrong_issuer(h: Harness, f: TokenForge) -> Attempt:
    return Attempt(f.sign(f.claims(_client(h), iss="https://evil.test")))


def _wrong_audience(h: Harness, f: TokenForge) -> Attempt:
    return Attempt(f.sign(f.claims(_client(h), aud="https://another-service.test")))


def _unknown_kid(h: Harness, f: TokenForge) -> Attempt:
    return Attempt(f.sign(f.claims(_client(h)), header=f.header(kid="no-such-key")))


def _alg_none(h: Harness, f: TokenForge) -> Attempt:
    return Attempt(unsigned(f.header(alg="none"), f.claims(_client(h))))


def _hmac_with_public_key(h: Harness, f: TokenForge) -> Attempt:
    return Attempt(hmac_signed(f.header(alg="HS256"), f.claims(_client(h)), f.public_pem()))


def _rs256_header_on_ec_key(h: Harness, f: TokenForge) -> Attempt:
    token = f.sign(f.claims(_client(h)))
    _, payload, signature = token.split(".")
    header = unsigned(f.header(alg="RS256"), {}).split(".")[0]
    return Attempt(f"{header}.{payload}.{signature}")


def _missing_typ(h: Harness, f: TokenForge) -> Attempt:
    return Attempt(f.sign(f.claims(_client(h)), header=f.header(typ=None)))


def _wrong_typ(h: Harness, f: TokenForge) -> Attempt:
    return Attempt(f.sign(f.claims(_client(h)), header=f.header(typ="JWT")))


def _missing_jti(h: Harness, f: TokenForge) -> Attempt:
    return Attempt(f.sign(f.claims(_client(h), jti=None)))


def _revoked(h: Harness, f: TokenForge) -> Attempt:
    client_id, secret = h.register(["indicators:read"])
    assert secret is not None
    token = h.token_response(client_id, secret).json()["access_token"]
    revoked = h.http.post("/oauth/revoke", data={"token": token}, auth=(client_id, secret))
    assert revoked.status_code == 200
    return Attempt(token)


def _disabled_client(h: Harness, f: TokenForge) -> Attempt:
    client_id, secret = h.register(["indicators:read"])
    assert secret is not None
    token = h.token_response(client_id, secret).json()["access_token"]
    with h.session_factory.begin() as session:
        disable_client(session, client_id)
    return Attempt(token)


def _garbage(h: Harness, f: TokenForge) -> Attempt:
    return Attempt("not-a-jwt")


def _three_garbage_parts(h: Harness, f: TokenForge) -> Attempt:
    return Attempt("eyJub3Q.anNvbg.c2ln")


def _jwe_shaped(h: Harness, f: TokenForge) -> Attempt:
    return Attempt("a.b.c.d.e")


def _oversized(h: Harness, f: TokenForge) -> Attempt:
    return Attempt(f.sign(f.claims(_client(h), padding="x" * 10_000)))


def _query_string(h: Harness, f: TokenForge) -> Attempt:
    token = h.token(["indicators:read"])
    return Attempt(None, query=f"?access_token={token}")


def _empty_bearer(h: Harness, f: TokenForge) -> Attempt:
    return Attempt(None, raw_authorization="Bearer ")


def _missing_token(h: Harness, f: TokenForge) -> Attempt:
    return Attempt(None)


def _missing_scope(h: Harness, f: TokenForge) -> Attempt:
    return Attempt(h.token(["submissions:read"], FORCE_A), action=Action.PUSH_SUBMISSION)


def _wrong_force(h: Harness, f: TokenForge) -> Attempt:
    token = h.token(["records:write"], FORCE_A)
    return Attempt(token, action=Action.PUSH_SUBMISSION, force=FORCE_B)


CASES = {
    "expired": Case(_expired, 401, invalid_token(TokenFault.EXPIRED), "invalid_token"),
    "nbf_in_future": Case(
        _nbf_future, 401, invalid_token(TokenFault.NOT_YET_VALID), "invalid_token"
    ),
    "iat_in_future": Case(
        _iat_future, 401, invalid_token(TokenFault.NOT_YET_VALID), "invalid_token"
    ),
    "wrong_key": Case(_wrong_key, 401, invalid_token(TokenFault.BAD_SIGNATURE), "invalid_token"),
    "tampered_payload": Case(
        _tampered, 401, invalid_token(TokenFault.BAD_SIGNATURE), "invalid_token"
    ),
    "wrong_issuer": Case(
        _wrong_issuer, 401, invalid_token(TokenFault.UNTRUSTED_ISSUER), "invalid_token"
    ),
    "wrong_audience": Case(
        _wrong_audience, 401, invalid_token(TokenFault.WRONG_AUDIENCE), "invalid_token"
    ),
    "unknown_kid": Case(_unknown_kid, 401, invalid_token(TokenFault.UNKNOWN_KEY), "invalid_token"),
    "alg_none": Case(_alg_none, 401, invalid_token(TokenFault.BAD_ALGORITHM), "invalid_token"),
    "hs256_with_public_key": Case(
        _hmac_with_public_key, 401, invalid_token(TokenFault.BAD_ALGORITHM), "invalid_token"
    ),
    "rs256_header_on_ec_key": Case(
        _rs256_header_on_ec_key, 401, invalid_token(TokenFault.BAD_ALGORITHM), "invalid_token"
    ),
    "missing_typ": Case(_missing_typ, 401, invalid_token(TokenFault.BAD_TYPE), "invalid_token"),
    "wrong_typ": Case(_wrong_typ, 401, invalid_token(TokenFault.BAD_TYPE), "invalid_token"),
    "missing_jti": Case(_missing_jti, 401, invalid_token(TokenFault.BAD_CLAIMS), "invalid_token"),
    "revoked": Case(_revoked, 401, invalid_token(TokenFault.REVOKED), "invalid_token"),
    "disabled_client": Case(
        _disabled_client, 401, invalid_token(TokenFault.REVOKED), "invalid_token"
    ),
    "malformed": Case(_garbage, 401, invalid_token(TokenFault.MALFORMED), "invalid_token"),
    "malformed_parts": Case(
        _three_garbage_parts, 401, invalid_token(TokenFault.MALFORMED), "invalid_token"
    ),
    "jwe_shaped": Case(_jwe_shaped, 401, invalid_token(TokenFault.MALFORMED), "invalid_token"),
    "oversized": Case(_oversized, 401, invalid_token(TokenFault.MALFORMED), "invalid_token"),
    "query_string_token": Case(
        _query_string, 400, invalid_request(TokenFault.IN_QUERY), "invalid_request"
    ),
    "empty_bearer": Case(
        _empty_bearer, 400, invalid_request(TokenFault.BAD_HEADER), "invalid_request"
    ),
    "missing_token": Case(_missing_token, 401, REALM, "missing_token"),
    "missing_scope": Case(
        _missing_scope,
        403,
        f'{REALM}, error="insufficient_scope", error_description='
        '"This action requires the scope: records:write", scope="records:write"',
        "insufficient_scope",
    ),
    "wrong_force": Case(
        _wrong_force,
        403,
        f'{REALM}, error="insufficient_scope", error_description='
        '"The token does not allow access to this force\'s data"',
        "wrong_force",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_refuses_misused_token(name: str, harness: Harness, forge: TokenForge) -> None:
    case = CASES[name]
    attempt = case.build(harness, forge)
    method, path = {
        Action.READ_INDICATORS: ("GET", "/api/indicators"),
        Action.PUSH_SUBMISSION: ("POST", f"/api/forces/{attempt.force}/submissions"),
    }[attempt.action]
    headers = {}
    if attempt.token is not None:
        headers["Authorization"] = f"Bearer {attempt.token}"
    if attempt.raw_authorization is not None:
        headers["Authorization"] = attempt.raw_authorization
    denials_before = harness.components.denials.total

    response = harness.http.request(method, path + attempt.query, headers=headers)

    assert response.status_code == case.status
    assert response.headers["www-authenticate"] == case.challenge
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == case.code
    assert body["status"] == case.status
    assert set(body) == {"type", "title", "status", "detail", "code"}
    assert SECRET_DATA not in response.text
    if attempt.token is not None:
        assert attempt.token not in response.text
        for part in attempt.token.split("."):
            assert len(part) < 16 or part not in response.text
    assert harness.pushes == []
    assert harness.components.denials.total == denials_before + 1


def test_denials_are_counted_by_reason_and_reported_to_the_hook(
    session_factory: sessionmaker[Session],
) -> None:
    seen: list[tuple[str, str]] = []
    harness = make_harness(
        session_factory, on_denied=lambda request, reason: seen.append((request.url.path, reason))
    )
    harness.http.get("/api/indicators", headers={"Authorization": "Bearer not-a-jwt"})
    harness.http.get("/api/indicators")

    assert seen == [("/api/indicators", "invalid_token"), ("/api/indicators", "missing_token")]
    assert harness.components.denials.snapshot() == {"invalid_token": 1, "missing_token": 1}


def test_a_failing_denial_hook_does_not_change_the_answer(
    session_factory: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    def broken(request: object, reason: str) -> None:
        raise RuntimeError("audit store down")

    harness = make_harness(session_factory, on_denied=broken)
    response = harness.http.get("/api/indicators", headers={"Authorization": "Bearer x.y.z"})
    assert response.status_code == 401
    assert "on_denied hook failed" in caplog.text


def test_a_valid_token_is_accepted(harness: Harness) -> None:
    token = harness.token(["indicators:read"])
    response = harness.http.get("/api/indicators", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json()["data"] == SECRET_DATA
    assert harness.components.denials.total == 0


def test_a_token_expired_within_the_leeway_is_still_accepted(
    harness: Harness, forge: TokenForge
) -> None:
    client_id = _client(harness)
    now = int(harness.clock().timestamp())
    token = forge.sign(forge.claims(client_id, iat=now - 900, nbf=now - 900, exp=now - 10))
    response = harness.http.get("/api/indicators", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


@pytest.mark.parametrize("typ", ["at+jwt", "AT+JWT", "application/at+jwt"])
def test_accepts_every_spelling_of_the_access_token_type(
    typ: str, harness: Harness, forge: TokenForge
) -> None:
    token = forge.sign(forge.claims(_client(harness)), header=forge.header(typ=typ))
    response = harness.http.get("/api/indicators", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
