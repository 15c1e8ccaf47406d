"""Every push leaves exactly one audit event: accepted, refused, dry run or replay."""

from __future__ import annotations

from sqlalchemy import Engine

from gateway.audit import EventFilter, query_events
from tests.api.conftest import Api
from tests.api.test_push_path import csv_body, push, row


def _events(engine: Engine) -> list[tuple[str, str, tuple[str, ...], str | None, int | None]]:
    with engine.connect() as conn:
        page = query_events(conn, EventFilter(), first=100)
    return [
        (e.action, e.outcome, e.forces, e.client_id, e.rows_returned)
        for e in page.events
        if not e.action.startswith("auth:token:")  # getting the test clients' tokens
    ]


def test_each_push_outcome_is_audited_once(api: Api, engine: Engine) -> None:
    pusher = api.pusher("kent")
    good = csv_body(row("A1"), row("A2"))
    assert push(api, good, key="k1", token=pusher.token).status_code == 201
    assert push(api, good, key="k1", token=pusher.token).status_code == 200
    assert push(api, csv_body(row("bad ref")), key="k2", token=pusher.token).status_code == 422
    assert push(api, good, key="k3", token=pusher.token, params="?dry_run=true").status_code == 200
    assert _events(engine) == [
        ("submission:create", "allowed", ("kent",), pusher.client_id, 2),
        ("submission:replay", "allowed", ("kent",), pusher.client_id, 2),
        ("submission:refused", "denied", ("kent",), pusher.client_id, None),
        ("submission:dry_run", "allowed", ("kent",), pusher.client_id, 2),
    ]


def test_refused_access_is_audited_with_its_reason(api: Api, engine: Engine) -> None:
    essex = api.pusher("essex")
    response = push(api, csv_body(row("A1")), key="k", force="kent", token=essex.token)
    assert response.status_code == 403
    no_token = api.http.get("/v1/forces/kent/submissions")
    assert no_token.status_code == 401
    events = _events(engine)
    assert ("auth:access:denied", "denied", (), essex.client_id, None) in events
    assert ("auth:access:denied", "denied", (), None, None) in events


def test_reading_indicators_without_a_declared_purpose_is_refused(api: Api) -> None:
    analyst = api.client("indicators:read")
    params = {"granularity": "MONTH", "from": "2024-05-01", "to": "2024-05-01"}
    refused = api.http.get("/v1/indicators.csv", params=params, headers=analyst.headers)
    assert refused.status_code == 400
    assert refused.json()["code"] == "purpose_required"
    unknown = api.http.get(
        "/v1/indicators.csv",
        params=params,
        headers={**analyst.headers, "Soteria-Purpose": "curiosity"},
    )
    assert unknown.status_code == 400
    allowed = api.http.get(
        "/v1/indicators.csv",
        params=params,
        headers={**analyst.headers, "Soteria-Purpose": "research; RQ-17"},
    )
    assert allowed.status_code == 200
