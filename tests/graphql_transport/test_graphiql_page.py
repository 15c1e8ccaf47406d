"""GraphiQL: a public page served from local files under a strict Content-Security-Policy."""

from __future__ import annotations

import base64
import hashlib
import re
from importlib import resources

import pytest

from gateway.graphql.graphiql import ASSETS
from tests.graphql_transport.conftest import Transport

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_a_browser_gets_the_page_without_a_token(transport: Transport) -> None:
    response = transport.http.get("/graphql", headers={"Accept": BROWSER_ACCEPT})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "script-src 'self';" in csp
    assert "connect-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert 'data-endpoint="/graphql"' in response.text
    assert 'value="performance-monitoring"' in response.text
    assert transport.calls.total() == 0


def test_the_page_loads_nothing_from_other_origins(transport: Transport) -> None:
    page = transport.http.get("/graphql", headers={"Accept": BROWSER_ACCEPT}).text
    assert "http://" not in page
    assert "https://" not in page
    assert "<script>" not in page  # no inline script: the CSP would refuse it
    links = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert len(links) == 6
    assert all(link.startswith("/graphiql/") for link in links)


def test_every_linked_asset_matches_its_integrity(transport: Transport) -> None:
    page = transport.http.get("/graphql", headers={"Accept": BROWSER_ACCEPT}).text
    for link, integrity in re.findall(r'(?:src|href)="([^"]+)" integrity="([^"]+)"', page):
        response = transport.http.get(link.replace("&amp;", "&"))
        assert response.status_code == 200
        digest = base64.b64encode(hashlib.sha384(response.content).digest()).decode()
        assert integrity == f"sha384-{digest}"


@pytest.mark.parametrize("name", sorted(ASSETS))
def test_assets_have_exact_content_types(transport: Transport, name: str) -> None:
    response = transport.http.get(f"/graphiql/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"] == ASSETS[name]
    assert response.headers["x-content-type-options"] == "nosniff"
    again = transport.http.get(
        f"/graphiql/{name}", headers={"If-None-Match": response.headers["etag"]}
    )
    assert again.status_code == 304


@pytest.mark.parametrize("name", ["SHA256SUMS", "README.md", "__init__.py", "..%2Fapp.py", "x"])
def test_files_not_listed_are_not_served(transport: Transport, name: str) -> None:
    assert transport.http.get(f"/graphiql/{name}").status_code == 404


def test_vendored_files_match_their_recorded_digests() -> None:
    folder = resources.files("gateway.static.graphiql")
    sums = folder.joinpath("SHA256SUMS").read_text().splitlines()
    assert len(sums) == 4
    for line in sums:
        digest, name = line.split()
        assert hashlib.sha256(folder.joinpath(name).read_bytes()).hexdigest() == digest


def test_an_api_client_without_html_gets_graphql_not_the_page(transport: Transport) -> None:
    response = transport.http.get("/graphql", headers=transport.headers(transport.reader, None))
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "The 'query' parameter is required."


def test_a_browser_following_a_query_link_gets_json(transport: Transport) -> None:
    headers = {**transport.headers(transport.reader, BROWSER_ACCEPT)}
    response = transport.http.get("/graphql", params={"query": "{ hello }"}, headers=headers)
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json() == {"data": {"hello": "Hello, world!"}}
