"""``soteria serve --workers N``: N processes share the port (PostgreSQL), each with the
whole application; refused with a clear message on the embedded SQLite database."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import psutil
import pytest

from tests.replicas.replica_kit import SERVE, Deployment, start_replicas

PURPOSE = {"Soteria-Purpose": "performance-monitoring"}


def test_several_workers_are_refused_on_the_embedded_database(tmp_path: Path) -> None:
    env = {**os.environ, "SOTERIA_DATABASE_URL": f"sqlite:///{tmp_path}/one.db"}
    done = subprocess.run(
        [*SERVE, "--workers", "2", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "several workers need PostgreSQL" in done.stderr


def test_workers_share_the_port_and_serve_the_api(
    deployment: Deployment, tmp_path_factory: pytest.TempPathFactory
) -> None:
    logs = tmp_path_factory.mktemp("workers")
    with start_replicas(1, deployment.env, logs, serve_args=("--workers", "2")) as (server,):
        workers = [
            p
            for p in psutil.Process(server.process.pid).children(recursive=True)
            if "python" in p.name().lower()
        ]
        assert len(workers) >= 2, server.log_tail()
        analyst = deployment.client("indicators:read", name="workers test")
        token = analyst.token(server)
        with server.http() as http:
            for _ in range(6):  # several connections: any worker may answer each
                answer = http.post(
                    "/graphql",
                    json={"query": "{ forces { code } }"},
                    headers={"Authorization": f"Bearer {token}", **PURPOSE},
                )
                assert answer.status_code == 200, answer.text
                assert len(answer.json()["data"]["forces"]) == 43
