"""The push path through HTTP with real tokens, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import httpx
import pytest
from sqlalchemy import Engine, func, select, text

from adapters.store.models import Submission, record_versions, records
from schema.record import FIELD_NAMES
from tests.api.conftest import EXAMPLES, Api

FORCE = "kent"
HEADER = ",".join(FIELD_NAMES)


def csv_body(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode()


def row(
    ref: str,
    *,
    offence: str = "19C",
    recorded: str = "2024-05-02",
    outcome: str = "",
    outcome_date: str = "",
    updated: str = "2024-05-03T10:00:00+00:00",
) -> str:
    values = dict.fromkeys(FIELD_NAMES, "")
    values.update(
        crime_ref=ref,
        offence_code=offence,
        recorded_date=recorded,
        outcome_type=outcome,
        outcome_date=outcome_date,
        updated_at=updated,
    )
    return ",".join(values[name] for name in FIELD_NAMES)


def push(
    api: Api,
    body: bytes,
    *,
    key: str,
    force: str = FORCE,
    token: str | None = None,
    content_type: str = "text/csv",
    params: str = "",
) -> httpx.Response:
    token = token or api.pusher(force).token
    response: httpx.Response = api.http.post(
        f"/v1/forces/{force}/submissions{params}",
        content=body,
        headers={
            "Authorization": f"Bearer {token}",
            "Idempotency-Key": key,
            "Content-Type": content_type,
        },
    )
    return response


def stored(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return (
            conn.scalar(select(func.count()).select_from(records)) or 0,
            conn.scalar(select(func.count()).select_from(record_versions)) or 0,
            conn.scalar(select(func.count()).select_from(Submission)) or 0,
        )


def test_accepts_a_valid_csv_and_returns_the_receipt(api: Api, engine: Engine) -> None:
    response = push(api, csv_body(row("A1"), row("A2", offence="20a")), key="k1")
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert receipt["force"] == FORCE
    assert receipt["status"] == "accepted"
    assert (receipt["rows"], receipt["inserted"], receipt["updated"]) == (2, 2, 0)
    assert len(receipt["content_sha256"]) == 64
    assert stored(engine) == (2, 0, 1)


def test_refuses_a_file_with_any_error_and_stores_nothing(api: Api, engine: Engine) -> None:
    body = csv_body(
        row("A1"), row("bad ref"), row("A3", offence="99"), row("A4", outcome="15"), row("A1")
    )
    response = push(api, body, key="k1")
    assert response.status_code == 422
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["error_count"] == 4
    found = {(e["row"], e["field"], e["code"]) for e in problem["errors"]}
    assert found == {
        (2, "crime_ref", "invalid_ref"),
        (3, "offence_code", "unknown_code"),
        (4, "outcome_date", "outcome_without_date"),
        (5, "crime_ref", "duplicate_in_submission"),
    }
    assert stored(engine) == (0, 0, 0)


def test_idempotent_replay_returns_the_original_receipt(api: Api, engine: Engine) -> None:
    pusher = api.pusher(FORCE)
    body = csv_body(row("A1"))
    first = push(api, body, key="same", token=pusher.token)
    again = push(api, body, key="same", token=pusher.token)
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert stored(engine) == (1, 0, 1)


def test_same_key_with_other_content_is_a_conflict(api: Api, engine: Engine) -> None:
    pusher = api.pusher(FORCE)
    assert push(api, csv_body(row("A1")), key="k", token=pusher.token).status_code == 201
    response = push(api, csv_body(row("A2")), key="k", token=pusher.token)
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_conflict"
    assert stored(engine) == (1, 0, 1)


def test_dry_run_reports_the_receipt_and_stores_nothing(api: Api, engine: Engine) -> None:
    response = push(api, csv_body(row("A1"), row("A2")), key="k", params="?dry_run=true")
    assert response.status_code == 200
    assert response.json()["status"] == "dry_run"
    assert response.json()["inserted"] == 2
    assert response.json()["submission_id"] is None
    assert stored(engine) == (0, 0, 0)


def test_updates_keep_every_earlier_version(api: Api, engine: Engine) -> None:
    pusher = api.pusher(FORCE)
    push(api, csv_body(row("A1"), row("A2")), key="k1", token=pusher.token)
    second = push(
        api,
        csv_body(
            row("A1", outcome="15", outcome_date="2024-07-01", updated="2024-07-01T09:00:00+00:00"),
            row("A2"),
            row("A3"),
        ),
        key="k2",
        token=pusher.token,
    ).json()
    assert (second["inserted"], second["updated"], second["unchanged"]) == (1, 1, 1)
    stale = push(
        api,
        csv_body(row("A1", updated="2024-06-01T00:00:00+00:00")),
        key="k3",
        token=pusher.token,
    ).json()
    assert stale["stale"] == 1
    assert stale["warnings"][0]["code"] == "stale"
    with engine.connect() as conn:
        current = conn.execute(
            select(records.c.crime_ref, records.c.version, records.c.outcome_type).order_by(
                records.c.crime_ref
            )
        ).all()
        old = conn.execute(
            select(
                record_versions.c.crime_ref,
                record_versions.c.version,
                record_versions.c.outcome_type,
            )
        ).all()
    assert [tuple(r) for r in current] == [("A1", 2, "15"), ("A2", 1, None), ("A3", 1, None)]
    assert [tuple(r) for r in old] == [("A1", 1, None)]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b"", "text/csv", 400, "empty_body"),
        (HEADER.encode() + b"\n", "text/csv", 400, "header_only"),
        (b"crime_ref,offence_code\n\xff\xfe,19C\n", "text/csv", 400, "invalid_encoding"),
        (b'{"crime_ref": "A1"}', "application/json", 400, "wrong_shape"),
        (b"[{", "application/json", 400, "invalid_json"),
        (b"a,b", "application/xml", 415, "unsupported_media_type"),
        (b"a,b", "text/csv; charset=latin-1", 415, "unsupported_media_type"),
    ],
)
def test_refuses_broken_bodies_with_a_clear_error(
    api: Api, engine: Engine, body: bytes, content_type: str, status: int, code: str
) -> None:
    response = push(api, body, key="k", content_type=content_type)
    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert response.json()["detail"]
    assert stored(engine) == (0, 0, 0)


def test_refuses_personal_data_columns(api: Api, engine: Engine) -> None:
    body = "crime_ref,offence_code,recorded_date,victim_surname\nA1,19C,2024-01-01,Smith\n"
    response = push(api, body.encode(), key="k")
    assert response.status_code == 422
    codes = [e["code"] for e in response.json()["errors"]]
    assert codes == ["personal_data_column"]
    assert "Smith" not in response.text
    assert stored(engine) == (0, 0, 0)


def test_unknown_force_is_404(api: Api) -> None:
    token = api.client("records:write", force=FORCE).token
    response = push(api, csv_body(row("A1")), key="k", force="atlantis", token=token)
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_force"


def test_requires_an_idempotency_key(api: Api, engine: Engine) -> None:
    token = api.pusher(FORCE).token
    response = api.http.post(
        f"/v1/forces/{FORCE}/submissions",
        content=csv_body(row("A1")),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_required"
    assert stored(engine) == (0, 0, 0)


def test_accepts_json_and_ndjson(api: Api, engine: Engine) -> None:
    pusher = api.pusher(FORCE)
    json_body = (EXAMPLES / "standard.json").read_bytes()
    ndjson_body = (EXAMPLES / "standard.ndjson").read_bytes()
    first = push(api, json_body, key="j", token=pusher.token, content_type="application/json")
    assert first.status_code == 201, first.text
    second = push(
        api, ndjson_body, key="n", token=pusher.token, content_type="application/x-ndjson"
    )
    assert second.status_code == 201, second.text
    assert second.json()["unchanged"] == first.json()["inserted"] == 5


@pytest.mark.parametrize("force", ["west-yorkshire", "dyfed-powys"])
def test_mapped_csv_force_pushes_its_own_export(api: Api, engine: Engine, force: str) -> None:
    body = (EXAMPLES / f"{force}-export.csv").read_bytes()
    response = push(api, body, key="m", force=force)
    assert response.status_code == 201, response.text
    assert response.json()["format"] == "mapped-csv"
    assert response.json()["inserted"] == response.json()["rows"] > 0


def test_receipts_can_be_read_back_and_listed(api: Api) -> None:
    pusher = api.pusher(FORCE)
    ids = [
        push(api, csv_body(row(f"A{i}")), key=f"k{i}", token=pusher.token).json()["submission_id"]
        for i in range(3)
    ]
    one = api.http.get(f"/v1/forces/{FORCE}/submissions/{ids[0]}", headers=pusher.headers)
    assert one.status_code == 200
    assert one.json()["submission_id"] == ids[0]
    page = api.http.get(f"/v1/forces/{FORCE}/submissions?limit=2", headers=pusher.headers)
    assert [r["submission_id"] for r in page.json()["items"]] == ids[::-1][:2]
    rest = api.http.get(
        f"/v1/forces/{FORCE}/submissions",
        params={"limit": 2, "after": page.json()["next"]},
        headers=pusher.headers,
    )
    assert [r["submission_id"] for r in rest.json()["items"]] == [ids[0]]
    assert rest.json()["next"] is None


def test_concurrent_pushes_of_one_key_store_it_once(api: Api, engine: Engine) -> None:
    pusher = api.pusher(FORCE)
    body = csv_body(*(row(f"C{i}") for i in range(300)))
    statuses: list[int] = []

    def send() -> None:
        statuses.append(push(api, body, key="race", token=pusher.token).status_code)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 200, 200, 201]
    assert stored(engine) == (300, 0, 1)
    with engine.connect() as conn:
        assert (
            conn.execute(text("SELECT data_version FROM forces WHERE code = 'kent'")).scalar() == 1
        )
