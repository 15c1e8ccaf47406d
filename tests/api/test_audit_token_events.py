"""Every call to the OAuth endpoints leaves one audit event, with the token issued in the
same transaction as its event."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, delete, func, select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from auth.clients import create_client
from auth.models import SigningKey
from gateway.app import create_app
from gateway.audit import EventFilter, StoredEvent, query_events
from gateway.audit.models import HEAD
from gateway.forces_config import ForcesConfig
from gateway.services import Services
from tests.api.conftest import PUBLIC_URL, Api, make_settings
from tests.audit.audit_testkit import Suspend


def _events(engine: Engine) -> list[StoredEvent]:
    with engine.connect() as conn:
        return list(query_events(conn, EventFilter(action="auth:*"), first=100).events)


def _register(engine: Engine, scopes: str, force: str | None = None) -> tuple[str, str]:
    with Session(engine) as session:
        new = create_client(session, name="audit test", scopes=scopes.split(), force=force)
        session.commit()
    assert new.client_secret is not None
    return new.client_id, new.client_secret


def _jti(token: str) -> str:
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return str(claims["jti"])


def _token(
    http: TestClient, client_id: str, secret: str, **form: str
) -> tuple[int, dict[str, str]]:
    response = http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", **form},
        auth=(client_id, secret),
    )
    return response.status_code, response.json()


def test_issued_and_refused_tokens_are_audited(api: Api, engine: Engine) -> None:
    client_id, secret = _register(engine, "records:write submissions:read", force="kent")

    status, issued = _token(api.http, client_id, secret, scope="records:write")
    assert status == 200
    assert _token(api.http, client_id, "wrong secret")[0] == 401
    assert _token(api.http, client_id, secret, scope="audit:read bogus")[0] == 400
    unreadable = api.http.post("/oauth/token", json={"grant_type": "client_credentials"})
    assert unreadable.status_code == 400

    jti = _jti(issued["access_token"])
    events = _events(engine)
    assert [(e.action, e.outcome, e.reason, e.client_id) for e in events] == [
        ("auth:token:issued", "allowed", None, client_id),
        ("auth:token:denied", "denied", "invalid_client", client_id),
        ("auth:token:denied", "denied", "invalid_scope", client_id),
        ("auth:token:denied", "denied", "invalid_request", None),
    ]
    issued_event, bad_secret, bad_scope, _ = events
    assert issued_event.operation == f"client_credentials jti={jti}"
    assert issued_event.scopes == ("records:write",)
    assert (issued_event.subject, issued_event.actor_force) == (client_id, "kent")
    assert issued_event.issuer == PUBLIC_URL
    assert issued_event.request_id
    assert issued_event.client_address == "testclient"
    # A failed authentication names the client claimed, but nobody as authenticated.
    assert (bad_secret.subject, bad_secret.issuer) == (None, None)
    assert bad_scope.scopes == ("audit:read", "bogus")  # what was asked for


def test_revocation_and_introspection_are_audited(api: Api, engine: Engine) -> None:
    client_id, secret = _register(engine, "indicators:read")
    token = _token(api.http, client_id, secret)[1]["access_token"]
    jti = _jti(token)

    looked = api.http.post("/oauth/introspect", data={"token": token}, auth=(client_id, secret))
    assert looked.json()["active"] is True
    assert api.http.post(
        "/oauth/revoke", data={"token": token}, auth=(client_id, secret)
    ).is_success
    again = api.http.post("/oauth/introspect", data={"token": token}, auth=(client_id, secret))
    assert again.json() == {"active": False}
    refused = api.http.post("/oauth/revoke", data={"token": token}, auth=(client_id, "nope"))
    assert refused.status_code == 401

    assert [(e.action, e.outcome, e.operation, e.client_id) for e in _events(engine)] == [
        ("auth:token:issued", "allowed", f"client_credentials jti={jti}", client_id),
        ("auth:token:introspected", "allowed", f"introspection jti={jti}", client_id),
        ("auth:token:revoked", "allowed", f"revocation jti={jti}", client_id),
        ("auth:token:introspected", "allowed", "introspection", client_id),  # inactive now
        ("auth:token:revoked", "denied", "revocation", client_id),
    ]


@pytest.fixture
def throttled(
    engine: Engine, database_url: str, tmp_path: Path, forces_config: ForcesConfig
) -> Iterator[TestClient]:
    settings = make_settings(
        database_url, tmp_path, token_rate_limit_per_second=0.001, token_rate_limit_burst=1
    )
    app = create_app(settings, services=Services(settings, engine, forces_config))
    with TestClient(app, base_url=PUBLIC_URL, raise_server_exceptions=False) as http:
        yield http


def test_rate_limited_token_requests_are_audited(throttled: TestClient, engine: Engine) -> None:
    client_id, secret = _register(engine, "indicators:read")
    assert _token(throttled, client_id, secret)[0] == 200
    assert _token(throttled, client_id, secret)[0] == 429

    assert [(e.action, e.outcome, e.reason, e.client_id) for e in _events(engine)] == [
        ("auth:token:issued", "allowed", None, client_id),
        ("auth:token:denied", "denied", "rate_limited", client_id),
    ]


def test_no_token_is_issued_when_its_event_cannot_be_written(
    api: Api, engine: Engine, suspend_triggers: Suspend
) -> None:
    client_id, secret = _register(engine, "indicators:read")

    def remove_head(conn: Connection) -> None:
        with suspend_triggers(conn):
            conn.execute(delete(HEAD))

    with engine.begin() as conn:
        remove_head(conn)
    response = api.http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )

    assert response.status_code == 500
    assert "access_token" not in response.text
    with engine.connect() as conn:
        # The first token would have created the signing key in the same transaction.
        assert conn.execute(select(func.count()).select_from(SigningKey)).scalar() == 0
