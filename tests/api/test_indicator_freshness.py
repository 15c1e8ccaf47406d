"""Cached indicator tables are never staler than the last receipt, and never another viewer's.

The gateway caches each force's partials by its stamp and whole tables by (question,
viewer, every force's stamp); these tests go through the HTTP API with real tokens: a
table asked for twice, then again right after a 201 receipt, and the same table for
viewers entitled to different figures, asked for in turn.
"""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api, ApiClient
from tests.api.test_graphql_api import TABLE, gql
from tests.api.test_push_path import csv_body, push, row

FORCES = {"forces": ["kent", "essex", "surrey"]}


def _may(api: Api, client: ApiClient) -> dict[tuple[str, str], dict[str, Any]]:
    status, body = gql(api, client, TABLE, FORCES)
    assert status == 200, body
    return {
        (c["indicator"], c["force"] or c["group"]): c
        for c in body["data"]["indicatorTable"]["cells"]
        if c["period"]["label"] == "2024-05"
    }


def _seed(api: Api) -> None:
    for force, refs in (("kent", 23), ("essex", 4), ("surrey", 12)):
        body = csv_body(*(row(f"{force[0].upper()}{i}") for i in range(refs)))
        assert push(api, body, key=f"seed-{force}", force=force).status_code == 201


def test_a_table_asked_again_after_a_receipt_shows_the_new_records(api: Api) -> None:
    _seed(api)
    cleared = api.client("indicators:read indicators:exact")
    assert _may(api, cleared)[("recorded_offences", "kent")]["value"] == 23
    assert _may(api, cleared)[("recorded_offences", "kent")]["value"] == 23  # cached
    more = csv_body(row("K100"), row("K101"))
    assert push(api, more, key="kent-more", force="kent").status_code == 201
    after = _may(api, cleared)
    assert after[("recorded_offences", "kent")]["value"] == 25
    assert after[("recorded_offences", "national")]["value"] == 41


def test_an_update_that_closes_cases_moves_the_figures_at_once(api: Api) -> None:
    _seed(api)
    cleared = api.client("indicators:read indicators:exact")
    assert _may(api, cleared)[("outcomes_assigned", "surrey")]["value"] == 0
    closed = csv_body(
        *(
            row(f"S{i}", outcome="15", outcome_date="2024-05-20", updated="2024-05-21T10:00:00Z")
            for i in range(10)
        )
    )
    assert push(api, closed, key="surrey-closed", force="surrey").status_code == 201
    after = _may(api, cleared)
    assert after[("outcomes_assigned", "surrey")]["value"] == 10
    assert after[("outcomes_assigned", "national")]["value"] == 10


def test_viewers_asking_in_turn_each_get_their_own_disclosure(api: Api) -> None:
    _seed(api)
    analyst = api.client("indicators:read")
    essex = api.client("indicators:read", force="essex")
    for _ in range(2):
        seen_by_analyst = _may(api, analyst)[("recorded_offences", "essex")]
        assert seen_by_analyst["suppressed"] is True
        assert seen_by_analyst["exact"] is False
        seen_by_essex = _may(api, essex)[("recorded_offences", "essex")]
        assert (seen_by_essex["value"], seen_by_essex["exact"]) == (4, True)
