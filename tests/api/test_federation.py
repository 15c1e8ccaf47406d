"""Federation through real HTTP: a force node's partials merged by the gateway.

The node is the real node app (its own database, its own token server, the federation
endpoint); the gateway reaches it through an httpx transport into that app, which a test
can switch to fail, hang or answer garbage.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from adapters.store.engine import make_engine
from auth.clients import create_client
from gateway import database
from gateway.app import create_app
from gateway.forces_config import ForceConfig, ForcesConfig
from gateway.services import Services
from tests.api.conftest import PUBLIC_URL, Api, make_settings
from tests.api.test_push_path import csv_body, row

NODE_FORCE = "kent"
NODE_URL = "http://127.0.0.1:8101"


class SwitchableTransport(httpx.BaseTransport):
    """Passes requests to the node app, or fails the way a real network can."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.mode = "up"

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.mode == "down":
            raise httpx.ConnectError("connection refused", request=request)
        if self.mode == "slow":
            time.sleep(1.5)
        if self.mode == "garbage" and request.url.path.startswith("/federation"):
            return httpx.Response(200, content=b"<html>proxy error</html>")
        return self.inner.handle_request(request)


@pytest.fixture
def node(tmp_path: Path) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path}/node.db"
    engine = make_engine(url)
    database.upgrade(engine)
    settings = dataclasses.replace(
        make_settings(url, tmp_path / "node-var"),
        node_force=NODE_FORCE,
        public_url=NODE_URL,
    )
    app = create_app(
        settings, services=Services(settings=settings, engine=engine, forces=ForcesConfig())
    )
    with TestClient(app, base_url=NODE_URL) as client:
        client.app_state = {"engine": engine}
        yield client
    engine.dispose()


def _node_client(node: TestClient, scopes: str, force: str | None) -> tuple[str, str]:
    engine: Engine = node.app_state["engine"]
    with Session(engine) as session:
        new = create_client(session, name="t", scopes=scopes.split(), force=force)
        session.commit()
    assert new.client_secret is not None
    return new.client_id, new.client_secret


@pytest.fixture
def federated(
    engine: Engine, database_url: str, tmp_path: Path, node: TestClient
) -> Iterator[tuple[Api, SwitchableTransport, TestClient]]:
    client_id, secret = _node_client(node, "federation:read", None)
    secret_file = tmp_path / "kent.secret"
    secret_file.write_text(secret)
    forces = ForcesConfig(
        forces={
            NODE_FORCE: ForceConfig(
                NODE_FORCE,
                source="remote",
                url=NODE_URL,
                client_id=client_id,
                client_secret_file=secret_file,
            )
        }
    )
    settings = make_settings(database_url, tmp_path / "gw-var", source_timeout_seconds=1.0)
    transport = SwitchableTransport(node._transport)
    services = Services(
        settings=settings, engine=engine, forces=forces, extras={"remote_transport": transport}
    )
    with TestClient(create_app(settings, services=services), base_url=PUBLIC_URL) as http:
        yield Api(http, engine), transport, node


def _push(http: TestClient, token: str, force: str, body: bytes, key: str) -> None:
    response = http.post(
        f"/v1/forces/{force}/submissions",
        content=body,
        headers={
            "Authorization": f"Bearer {token}",
            "Idempotency-Key": key,
            "Content-Type": "text/csv",
        },
    )
    assert response.status_code == 201, response.text


def _table(api: Api, token: str) -> tuple[list[dict[str, str]], str]:
    response = api.http.get(
        "/v1/indicators.csv",
        params={
            "granularity": "MONTH",
            "from": "2024-05-01",
            "to": "2024-05-01",
            "indicators": "recorded_offences",
            "forces": "kent,essex",
        },
        headers={"Authorization": f"Bearer {token}", "Soteria-Purpose": "data-quality"},
    )
    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    return rows, response.headers["soteria-coverage-missing"]


def _seed(api: Api, node: TestClient) -> str:
    node_id, node_secret = _node_client(node, "records:write", NODE_FORCE)
    token = node.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(node_id, node_secret)
    ).json()["access_token"]
    _push(node, token, NODE_FORCE, csv_body(*(row(f"K{i}") for i in range(12))), "n1")
    _push(
        api.http,
        api.pusher("essex").token,
        "essex",
        csv_body(*(row(f"E{i}") for i in range(20))),
        "g1",
    )
    return api.client("indicators:read indicators:exact").token


def test_node_partials_merge_into_the_national_total(
    federated: tuple[Api, SwitchableTransport, TestClient],
) -> None:
    api, _transport, node = federated
    token = _seed(api, node)
    rows, missing = _table(api, token)
    values = {(r["force"] or r["group"]): r["value"] for r in rows}
    assert values == {"kent": "12", "essex": "20", "national": "32"}
    assert missing == ""


def test_gateway_refuses_pushes_for_a_remote_force(
    federated: tuple[Api, SwitchableTransport, TestClient],
) -> None:
    api, _transport, _node = federated
    response = api.http.post(
        f"/v1/forces/{NODE_FORCE}/submissions",
        content=csv_body(row("X1")),
        headers={
            **api.pusher(NODE_FORCE).headers,
            "Idempotency-Key": "k",
            "Content-Type": "text/csv",
        },
    )
    assert response.status_code == 409
    assert response.json()["code"] == "force_is_remote"


@pytest.mark.parametrize(
    ("mode", "reason"),
    [("down", "connection_failed"), ("slow", "timeout"), ("garbage", "bad_response")],
)
def test_a_failing_node_gives_a_partial_result(
    federated: tuple[Api, SwitchableTransport, TestClient], mode: str, reason: str
) -> None:
    api, transport, node = federated
    token = _seed(api, node)
    transport.mode = mode
    rows, missing = _table(api, token)
    by_entity = {(r["force"] or r["group"]): r for r in rows}
    assert "kent" not in by_entity
    assert by_entity["essex"]["value"] == "20"
    assert by_entity["national"]["value"] == "20"
    assert "incomplete: missing kent" in by_entity["national"]["note"]
    assert missing.startswith("kent=source_unavailable")
    assert reason in missing
