"""Who may use the push and receipt routes: every force against every other force."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select

from adapters.store.models import Submission, records
from schema import codelists
from tests.api.conftest import Api
from tests.api.test_push_path import csv_body, row

FORCES = [f.code for f in codelists.forces()]


def _stored(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return (
            conn.scalar(select(func.count()).select_from(records)) or 0,
            conn.scalar(select(func.count()).select_from(Submission)) or 0,
        )


def test_every_force_client_is_refused_every_other_forces_routes(api: Api, engine: Engine) -> None:
    clients = {force: api.pusher(force) for force in FORCES}
    # One real submission per force, so receipt ids exist to probe.
    receipts = {}
    for force, client in clients.items():
        response = api.http.post(
            f"/v1/forces/{force}/submissions?format=standard-csv",
            content=csv_body(row(f"{force[:8]}-1")),
            headers={**client.headers, "Idempotency-Key": "seed", "Content-Type": "text/csv"},
        )
        assert response.status_code == 201, response.text
        receipts[force] = response.json()["submission_id"]
    before = _stored(engine)
    body = csv_body(row("INTRUDER-1"))
    for caller, client in clients.items():
        for target in FORCES:
            if target == caller:
                continue
            pushed = api.http.post(
                f"/v1/forces/{target}/submissions",
                content=body,
                headers={
                    **client.headers,
                    "Idempotency-Key": f"x-{caller}",
                    "Content-Type": "text/csv",
                },
            )
            read = api.http.get(
                f"/v1/forces/{target}/submissions/{receipts[target]}", headers=client.headers
            )
            listed = api.http.get(f"/v1/forces/{target}/submissions", headers=client.headers)
            for response in (pushed, read, listed):
                assert response.status_code == 403, (caller, target, response.text)
                assert response.json()["code"] == "wrong_force"
                assert receipts[target] not in response.text
                assert "INTRUDER" not in response.text
    assert _stored(engine) == before


@pytest.mark.parametrize(
    ("scopes", "force", "method", "status", "code"),
    [
        ("submissions:read", "kent", "POST", 403, "insufficient_scope"),
        ("indicators:read", None, "POST", 403, "insufficient_scope"),
        ("records:write", "kent", "GET", 403, "insufficient_scope"),
        ("indicators:read indicators:exact audit:read", None, "GET", 403, "insufficient_scope"),
    ],
)
def test_missing_scope_is_refused(
    api: Api, engine: Engine, scopes: str, force: str | None, method: str, status: int, code: str
) -> None:
    client = api.client(scopes, force=force)
    response = api.http.request(
        method,
        "/v1/forces/kent/submissions",
        content=csv_body(row("A1")),
        headers={**client.headers, "Idempotency-Key": "k", "Content-Type": "text/csv"},
    )
    assert response.status_code == status
    assert response.json()["code"] == code
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    assert _stored(engine) == (0, 0)


def test_national_client_cannot_push_but_reads_any_forces_receipts(api: Api) -> None:
    kent = api.pusher("kent")
    pushed = api.http.post(
        "/v1/forces/kent/submissions",
        content=csv_body(row("A1")),
        headers={**kent.headers, "Idempotency-Key": "k", "Content-Type": "text/csv"},
    )
    reader = api.client("submissions:read")
    listed = api.http.get("/v1/forces/kent/submissions", headers=reader.headers)
    assert listed.status_code == 200
    assert listed.json()["items"][0]["submission_id"] == pushed.json()["submission_id"]
    refused = api.http.post(
        "/v1/forces/kent/submissions",
        content=csv_body(row("A2")),
        headers={**reader.headers, "Idempotency-Key": "k2", "Content-Type": "text/csv"},
    )
    assert refused.status_code == 403


@pytest.mark.parametrize(
    ("headers", "query", "error"),
    [
        ({}, "", None),
        ({"Authorization": "Bearer not-a-jwt"}, "", "invalid_token"),
        ({"Authorization": "Basic Zm9vOmJhcg=="}, "", None),
        ({}, "?access_token=abc", "invalid_request"),
    ],
)
def test_unauthenticated_requests_are_refused(
    api: Api, engine: Engine, headers: dict[str, str], query: str, error: str | None
) -> None:
    response = api.http.post(
        f"/v1/forces/kent/submissions{query}",
        content=csv_body(row("A1")),
        headers={**headers, "Idempotency-Key": "k", "Content-Type": "text/csv"},
    )
    assert response.status_code in (400, 401)
    challenge = response.headers.get("www-authenticate", "")
    assert challenge.startswith("Bearer")
    if error is not None:
        assert f'error="{error}"' in challenge
    assert _stored(engine) == (0, 0)
