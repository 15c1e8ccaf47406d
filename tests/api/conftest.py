"""Fixtures for testing through the HTTP API: the real app, real tokens, a real database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from auth.clients import create_client
from gateway.app import create_app
from gateway.forces_config import ForcesConfig, load_forces_config
from gateway.services import Services
from gateway.settings import Settings

PUBLIC_URL = "http://127.0.0.1:8000"
EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


@dataclass
class ApiClient:
    """A registered OAuth client and a token it obtained from the token endpoint."""

    client_id: str
    secret: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Api:
    """The app under test plus a way to register clients and get real tokens."""

    def __init__(self, http: TestClient, engine: Engine) -> None:
        self.http = http
        self.engine = engine

    def client(self, scopes: str, force: str | None = None, name: str = "test") -> ApiClient:
        with Session(self.engine) as session:
            new = create_client(session, name=name, scopes=scopes.split(), force=force)
            session.commit()
        assert new.client_secret is not None
        response = self.http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(new.client_id, new.client_secret),
        )
        assert response.status_code == 200, response.text
        return ApiClient(new.client_id, new.client_secret, response.json()["access_token"])

    def pusher(self, force: str) -> ApiClient:
        return self.client("records:write submissions:read", force=force, name=f"{force} push")


def make_settings(database_url: str, var_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "var_dir": var_dir,
        "public_url": PUBLIC_URL,
        # Tests make many requests quickly; limits are tested on their own.
        "rate_limit_per_second": 10_000.0,
        "rate_limit_burst": 10_000,
        "token_rate_limit_per_second": 10_000.0,
        "token_rate_limit_burst": 10_000,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def forces_config() -> ForcesConfig:
    return load_forces_config(EXAMPLES / "forces.toml")


@pytest.fixture
def api(
    engine: Engine, database_url: str, tmp_path: Path, forces_config: ForcesConfig
) -> Iterator[Api]:
    settings = make_settings(database_url, tmp_path)
    services = Services(settings=settings, engine=engine, forces=forces_config)
    app = create_app(settings, services=services)
    with TestClient(app, base_url=PUBLIC_URL, raise_server_exceptions=False) as http:
        yield Api(http, engine)


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()
