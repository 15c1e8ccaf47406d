"""A real deployment on 127.0.0.1 for the harnesses: gateway replicas, force nodes, one database.

``Cluster`` owns a scratch PostgreSQL database (``soteria_bench_<part>_<random>``, dropped on
exit), a var dir (``var/reliability/<part>``: logs kept until the part runs again), and every
process it starts: ``soteria serve`` replicas sharing
the database and one key-encryption key (so a token issued by one verifies on the other),
and ``soteria node`` processes with their own SQLite databases. Processes run in their own
session and are stopped by their pid on exit, whatever happened; nothing else is touched.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from adapters.store.engine import make_engine
from auth.clients import create_client
from benchmarks.scratch import ADMIN_URL, migrated
from gateway import database

HOST: Final = "127.0.0.1"
# Logs, node databases and secrets of the last run of each part (kept for reading; the
# next run of the part clears them). var/ is not in git.
VAR: Final = Path(__file__).resolve().parents[2] / "var" / "reliability"
READY_SECONDS: Final = 90.0
# The harnesses measure the service, not the rate limiter (tested on its own).
UNLIMITED: Final = {
    "SOTERIA_RATE_LIMIT_PER_SECOND": "1000000",
    "SOTERIA_RATE_LIMIT_BURST": "1000000",
    "SOTERIA_TOKEN_RATE_LIMIT_PER_SECOND": "1000000",
    "SOTERIA_TOKEN_RATE_LIMIT_BURST": "1000000",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Credentials:
    client_id: str
    secret: str


@dataclass
class Proc:
    """One process the cluster started: how to start it again, and its log."""

    name: str
    argv: list[str]
    env: dict[str, str]
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.argv,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def signal(self, sig: int) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)

    def stop(self, timeout: float = 20.0) -> None:
        if self.process is None:
            return
        self.signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.process.wait()

    def kill(self) -> None:
        """SIGKILL, no goodbye: what a crashed machine or the OOM killer does."""
        if self.process is not None:
            self.signal(signal.SIGKILL)
            self.process.wait()

    def wait_ready(self, timeout: float = READY_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                tail = self.log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{self.name} exited early:\n{tail}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not become ready on {self.url}")


@dataclass
class Cluster:
    part: str
    database_url: str
    var_dir: Path
    engine: Engine
    public_url: str
    env: dict[str, str]
    replicas: list[Proc] = field(default_factory=list)
    nodes: dict[str, Proc] = field(default_factory=dict)
    node_urls: dict[str, str] = field(default_factory=dict)

    def register(self, name: str, scopes: str, force: str | None = None) -> Credentials:
        return register(self.engine, name, scopes, force)

    def add_replica(self) -> Proc:
        port = free_port()
        proc = Proc(
            f"gateway-{len(self.replicas) + 1}",
            [_soteria(), "serve", "--host", HOST, "--port", str(port)],
            self.env,
            port,
            self.var_dir / f"gateway-{len(self.replicas) + 1}.log",
        )
        self.replicas.append(proc)
        proc.start()
        return proc

    def add_node(self, force: str, *, advertised_port: int | None = None) -> tuple[Proc, Path]:
        """A force node with its own SQLite database; returns it and the gateway's secret file.

        ``advertised_port`` is where the gateway will reach it (a fault proxy in front of it).
        """
        node_dir = self.var_dir / f"node-{force}"
        node_dir.mkdir()
        url = f"sqlite:///{node_dir / 'node.db'}"
        engine = make_engine(url)
        database.upgrade(engine)
        federation = register(engine, f"gateway at {force}", "federation:read")
        engine.dispose()
        secret_file = node_dir / "federation.secret"
        secret_file.write_text(federation.secret, encoding="utf-8")
        secret_file.chmod(0o600)
        port = free_port()
        public = f"http://{HOST}:{advertised_port or port}"
        env = {
            **self.env,
            "SOTERIA_DATABASE_URL": url,
            "SOTERIA_VAR_DIR": str(node_dir),
            "SOTERIA_PUBLIC_URL": public,
        }
        env.pop("SOTERIA_FORCES_CONFIG", None)
        env.pop("SOTERIA_KEK", None)
        proc = Proc(
            f"node-{force}",
            [_soteria(), "node", "--force", force, "--host", HOST, "--port", str(port)],
            env,
            port,
            node_dir / "node.log",
        )
        self.nodes[force] = proc
        self.node_urls[force] = public
        (node_dir / "federation.id").write_text(federation.client_id, encoding="utf-8")
        proc.start()
        return proc, secret_file

    def write_forces_config(self) -> Path:
        lines = ["# Written by the reliability harness: forces on their own nodes.", ""]
        for force, url in self.node_urls.items():
            node_dir = self.var_dir / f"node-{force}"
            client_id = (node_dir / "federation.id").read_text(encoding="utf-8")
            lines += [
                f"[forces.{force}]",
                'source = "remote"',
                f'url = "{url}"',
                f'client_id = "{client_id}"',
                f'client_secret_file = "{node_dir / "federation.secret"}"',
                "",
            ]
        path = self.var_dir / "forces.toml"
        path.write_text("\n".join(lines), encoding="utf-8")
        self.env["SOTERIA_FORCES_CONFIG"] = str(path)
        return path

    def stop_all(self) -> None:
        for proc in [*self.replicas, *self.nodes.values()]:
            proc.stop()


def register(engine: Engine, name: str, scopes: str, force: str | None = None) -> Credentials:
    with Session(engine) as session:
        new = create_client(session, name=name, scopes=scopes.split(), force=force)
        session.commit()
    assert new.client_secret is not None
    return Credentials(new.client_id, new.client_secret)


def token(base_url: str, creds: Credentials, scope: str | None = None) -> str:
    data = {"grant_type": "client_credentials"}
    if scope:
        data["scope"] = scope
    response = httpx.post(
        f"{base_url}/oauth/token", data=data, auth=(creds.client_id, creds.secret), timeout=30
    )
    response.raise_for_status()
    value: str = response.json()["access_token"]
    return value


def scratch_database(part: str) -> contextlib.AbstractContextManager[str]:
    """A new PostgreSQL database, dropped on exit even after the server was restarted."""
    return database.throwaway_postgres_database(
        ADMIN_URL, f"soteria_bench_{part}", drop_attempts=30
    )


def _soteria() -> str:
    return str(Path(sys.executable).with_name("soteria"))


@contextlib.contextmanager
def cluster(part: str, *, token_lifetime_seconds: int = 3600) -> Iterator[Cluster]:
    """A scratch database and var dir; every process started through it is stopped on exit."""
    var_dir = VAR / part
    shutil.rmtree(var_dir, ignore_errors=True)
    var_dir.mkdir(parents=True)
    with scratch_database(f"rel_{part}") as url:
        engine = migrated(url)
        public = f"http://{HOST}:{free_port()}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SOTERIA_", "OTEL_"))}
        env.update(
            UNLIMITED,
            SOTERIA_DATABASE_URL=url,
            SOTERIA_VAR_DIR=str(var_dir),
            SOTERIA_PUBLIC_URL=public,
            SOTERIA_KEK=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            SOTERIA_TOKEN_LIFETIME_SECONDS=str(token_lifetime_seconds),
        )
        built = Cluster(part, url, var_dir, engine, public, env)
        try:
            yield built
        finally:
            built.stop_all()
            engine.dispose()
