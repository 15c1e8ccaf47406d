"""The Joint Unit's GraphQL API through HTTP with real tokens and a real database."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from adapters.store.models import records
from gateway.indicators import service as service_module
from gateway.indicators.table import build_table
from tests.api.conftest import Api, ApiClient
from tests.api.test_push_path import csv_body, push, row

TABLE = """
query Table($forces: [ID!], $groups: [GroupBy!]) {
  indicatorTable(indicators: ["recorded_offences", "outcomes_assigned"], forces: $forces,
                 granularity: MONTH, from: "2024-05-01", to: "2024-06-01", groups: $groups) {
    cells { indicator force group period { label start end } breakdown value numerator
            denominator suppressed exact note }
    columns rows suppressedCells
    coverage { included missing { force reason } stale { force lastSubmissionAt } }
  }
}
"""


def gql(
    api: Api,
    client: ApiClient | None,
    query: str,
    variables: dict[str, Any] | None = None,
) -> tuple[int, dict[str, Any]]:
    headers = {"Accept": "application/json", "Soteria-Purpose": "performance-monitoring"}
    if client is not None:
        headers |= client.headers
    response = api.http.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    return response.status_code, response.json()


def seed(api: Api) -> None:
    kent = [
        row(f"K{i}", outcome="15" if i < 3 else "", outcome_date="2024-05-20" if i < 3 else "")
        for i in range(23)
    ]
    essex = [row(f"E{i}") for i in range(4)]
    surrey = [row(f"S{i}") for i in range(12)]
    assert push(api, csv_body(*kent), key="k", force="kent").status_code == 201
    assert push(api, csv_body(*essex), key="e", force="essex").status_code == 201
    assert push(api, csv_body(*surrey), key="s", force="surrey").status_code == 201


def test_catalogue_forces_and_me(api: Api) -> None:
    analyst = api.client("indicators:read")
    status, body = gql(
        api,
        analyst,
        "{ forces { code onsCode region sourceKind } "
        "indicators { id unit basis } me { clientId force scopes } }",
    )
    assert status == 200, body
    data = body["data"]
    assert len(data["forces"]) == 43
    assert {
        "code": "kent",
        "onsCode": "E23000032",
        "region": "South East",
        "sourceKind": "local",
    } in data["forces"]
    assert len(data["indicators"]) == 19
    assert data["me"] == {
        "clientId": analyst.client_id,
        "force": None,
        "scopes": ["indicators:read"],
    }


def test_unauthenticated_request_is_refused(api: Api) -> None:
    response = api.http.post(
        "/graphql", json={"query": "{ forces { code } }"}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "data" not in response.json() or not response.json()["data"]


def test_controlled_view_suppresses_small_counts_and_totals_protect_them(api: Api) -> None:
    seed(api)
    analyst = api.client("indicators:read")
    status, body = gql(api, analyst, TABLE, {"forces": ["kent", "essex", "surrey"]})
    assert status == 200, body
    table = body["data"]["indicatorTable"]
    may = {
        (c["indicator"], c["force"] or c["group"]): c
        for c in table["cells"]
        if c["period"]["label"] == "2024-05"
    }
    assert may[("recorded_offences", "kent")]["value"] == 25  # 23 rounded to 5
    essex = may[("recorded_offences", "essex")]
    assert essex["suppressed"]
    assert essex["value"] is None
    assert "primary_small_count" in essex["note"]
    # national - kent - surrey would reveal essex: the smallest other part is hidden too
    surrey = may[("recorded_offences", "surrey")]
    assert surrey["suppressed"]
    assert "secondary_complement" in surrey["note"]
    assert may[("recorded_offences", "national")]["value"] == 40  # 39 rounded to 5
    assert table["coverage"]["included"] == ["kent", "essex", "surrey"]
    assert all(not c["exact"] for c in table["cells"])


def test_force_client_sees_its_own_force_exactly_and_others_controlled(api: Api) -> None:
    seed(api)
    kent = api.client("indicators:read", force="kent")
    _, body = gql(api, kent, TABLE, {"forces": ["kent", "essex", "surrey"]})
    may = {
        (c["indicator"], c["force"] or c["group"]): c
        for c in body["data"]["indicatorTable"]["cells"]
        if c["period"]["label"] == "2024-05"
    }
    assert may[("recorded_offences", "kent")]["value"] == 23
    assert may[("recorded_offences", "kent")]["exact"] is True
    assert may[("recorded_offences", "essex")]["suppressed"] is True
    assert may[("recorded_offences", "essex")]["exact"] is False


def test_exact_scope_sees_every_figure(api: Api) -> None:
    seed(api)
    cleared = api.client("indicators:read indicators:exact")
    _, body = gql(api, cleared, TABLE, {"forces": ["kent", "essex", "surrey"]})
    may = {
        (c["indicator"], c["force"] or c["group"]): c["value"]
        for c in body["data"]["indicatorTable"]["cells"]
        if c["period"]["label"] == "2024-05"
    }
    assert may[("recorded_offences", "essex")] == 4
    assert may[("recorded_offences", "national")] == 39
    assert may[("outcomes_assigned", "kent")] == 3


def test_fast_rows_and_csv_export_equal_the_typed_cells(api: Api) -> None:
    seed(api)
    analyst = api.client("indicators:read")
    _, body = gql(
        api,
        analyst,
        TABLE,
        {"forces": ["kent", "essex", "surrey"], "groups": ["NATIONAL", "REGION"]},
    )
    table = body["data"]["indicatorTable"]
    columns = table["columns"]
    from_rows = [dict(zip(columns, r, strict=True)) for r in table["rows"]]
    assert [
        (r["indicator"], r["force"], r["group"], r["period"], r["value"], r["suppressed"])
        for r in from_rows
    ] == [
        (c["indicator"], c["force"], c["group"], c["period"]["label"], c["value"], c["suppressed"])
        for c in table["cells"]
    ]
    response = api.http.get(
        "/v1/indicators.csv",
        params={
            "granularity": "MONTH",
            "from": "2024-05-01",
            "to": "2024-06-01",
            "indicators": "recorded_offences,outcomes_assigned",
            "forces": "kent,essex,surrey",
            "groups": "NATIONAL,REGION",
        },
        headers={**analyst.headers, "Soteria-Purpose": "performance-monitoring"},
    )
    assert response.status_code == 200
    exported = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [
        (
            r["indicator"],
            r["force"] or None,
            r["group"] or None,
            r["period"],
            r["value"] or None,
            r["suppressed"],
        )
        for r in exported
    ] == [
        (
            c["indicator"],
            c["force"],
            c["group"],
            c["period"]["label"],
            None
            if c["value"] is None
            else str(c["value"]).removesuffix(".0")
            if c["indicator"] != "x"
            else None,
            str(c["suppressed"]).lower(),
        )
        for c in table["cells"]
    ]


MUTATION = """
mutation Push($force: ID!, $key: String!, $records: [RecordInput!]!, $dry: Boolean) {
  submitRecords(force: $force, idempotencyKey: $key, records: $records, dryRun: $dry) {
    receipt { submissionId status rows inserted } replayed errorCount
    errors { row field code message }
  }
}
"""


def _record(ref: str, **extra: str) -> dict[str, str]:
    return {"crimeRef": ref, "offenceCode": "19C", "recordedDate": "2024-05-02", **extra}


def test_submit_records_mutation_stores_or_reports_typed_errors(api: Api, engine: Engine) -> None:
    kent = api.client("records:write", force="kent")
    status, body = gql(
        api,
        kent,
        MUTATION,
        {"force": "kent", "key": "m1", "records": [_record("M1"), _record("M2")]},
    )
    assert status == 200, body
    result = body["data"]["submitRecords"]
    assert result["receipt"]["inserted"] == 2
    assert result["errorCount"] == 0
    _, body = gql(
        api,
        kent,
        MUTATION,
        {
            "force": "kent",
            "key": "m2",
            "records": [_record("M3"), _record("bad ref"), _record("M4", outcomeType="15")],
        },
    )
    result = body["data"]["submitRecords"]
    assert result["receipt"] is None
    assert {(e["row"], e["field"], e["code"]) for e in result["errors"]} == {
        (2, "crime_ref", "invalid_ref"),
        (3, "outcome_date", "outcome_without_date"),
    }
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(records)) == 2


@pytest.mark.parametrize("force", ["essex", "west-midlands"])
def test_submit_records_for_another_force_is_forbidden(
    api: Api, engine: Engine, force: str
) -> None:
    kent = api.client("records:write", force="kent")
    _, body = gql(api, kent, MUTATION, {"force": force, "key": "x", "records": [_record("X")]})
    assert (body.get("data") or {}).get("submitRecords") is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(records)) == 0


def test_a_table_is_kept_while_submissions_leave_its_figures_as_they_were(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A submission outside a table's periods makes it stale by its stamps but changes none
    of its inputs: the table is not built again, and its figures stay right. One inside
    the periods is built again with the new figures."""
    seed(api)
    analyst = api.client("indicators:read", force="kent")  # kent's figures exact, not rounded
    builds: list[int] = []

    def counted(*args: Any, **kw: Any) -> Any:
        builds.append(1)
        return build_table(*args, **kw)

    monkeypatch.setattr(service_module, "build_table", counted)
    variables = {"forces": ["kent", "essex", "surrey"], "groups": ["NATIONAL"]}

    def kent_in_may() -> int:
        status, body = gql(api, analyst, TABLE, variables)
        assert status == 200, body
        [cell] = [
            c
            for c in body["data"]["indicatorTable"]["cells"]
            if (c["indicator"], c["force"], c["period"]["label"])
            == ("recorded_offences", "kent", "2024-05")
        ]
        return int(cell["value"])

    before = kent_in_may()
    assert builds == [1]
    # April: before the table's months (a later one would also give June data, so a 0
    # where there was no figure: rightly a new table).
    april = csv_body(row("K-apr", recorded="2024-04-10", updated="2025-01-11T10:00:00+00:00"))
    assert push(api, april, key="april", force="kent").status_code == 201
    assert kent_in_may() == before
    assert builds == [1]  # kept: kent's figures for May and June 2024 did not move
    may = csv_body(row("K-may", recorded="2024-05-10", updated="2025-01-12T10:00:00+00:00"))
    assert push(api, may, key="may", force="kent").status_code == 201
    assert kent_in_may() == before + 1
    assert builds == [1, 1]
