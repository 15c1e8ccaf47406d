"""Several real gateway processes on one PostgreSQL database, driven through HTTP.

``start_replicas`` runs ``python -m gateway.cli.main serve`` (the ``soteria serve`` command,
uvicorn) once per replica on 127.0.0.1 and a free port, all with the same settings: one
database, one key-encryption key, one var dir (the audit signing key and keyring, as the
compose stack's shared volume or the Kubernetes Secret give them), one public URL (the
proxy's, which they sit behind in production). Each process leads its own process group and
is stopped with it, also when a test or the start-up fails. ``soteria`` CLI jobs (key
rotation, audit verification) run with the same environment through ``cli``.
"""

from __future__ import annotations

import base64
import ctypes
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy.orm import Session

from adapters.store.engine import make_engine
from auth.clients import create_client
from gateway import database
from schema import codelists

# The address clients use in production (the reverse proxy's): the issuer and audience of
# every token derive from it, so it must be the same on every replica.
PUBLIC_URL = "http://127.0.0.1:8080"
# `soteria serve`, with the interpreter running the tests (the package is installed in it).
SERVE = (sys.executable, "-m", "gateway.cli.main", "serve")
START_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0


@dataclass
class Replica:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30.0)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text_ = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text_.splitlines()[-lines:])


@dataclass
class Client:
    """A registered OAuth client; ``token(replica)`` asks that replica's token endpoint."""

    client_id: str
    secret: str

    def token(self, replica: Replica) -> str:
        with replica.http() as http:
            response = http.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(self.client_id, self.secret),
            )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token


@dataclass
class Deployment:
    """The replicas, their shared environment and a direct line to their database."""

    replicas: list[Replica]
    env: Mapping[str, str]
    database_url: str

    def client(self, scopes: str, force: str | None = None, name: str = "replica test") -> Client:
        engine = make_engine(self.database_url)
        try:
            with Session(engine) as session:
                new = create_client(
                    session,
                    name=name,
                    scopes=scopes.split(),
                    force=force,
                    force_exists=lambda code: codelists.force(code) is not None,
                )
                session.commit()
        finally:
            engine.dispose()
        assert new.client_secret is not None
        return Client(new.client_id, new.client_secret)

    def cli(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """Run ``soteria ARGS`` with the replicas' settings; output captured as text."""
        return subprocess.run(
            [sys.executable, "-m", "gateway.cli.main", *args],
            env=dict(self.env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def kek() -> str:
    """A fresh 32-byte key-encryption key, as SOTERIA_KEK carries it."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


def _die_with_parent() -> None:  # pragma: no cover - runs in the child, before exec
    """Linux: the replica gets SIGKILL if the test process dies without tearing down."""
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def replica_env(database_url: str, var_dir: Path, **settings: str) -> dict[str, str]:
    """The environment of every replica: ours replaces any SOTERIA_* or OTEL_* inherited."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOTERIA_", "OTEL_"))}
    env |= {
        "SOTERIA_DATABASE_URL": database_url,
        "SOTERIA_VAR_DIR": str(var_dir),
        "SOTERIA_PUBLIC_URL": PUBLIC_URL,
        "SOTERIA_KEK": kek(),
        "PYTHONUNBUFFERED": "1",
    }
    env |= {"SOTERIA_" + name.upper(): value for name, value in settings.items()}
    return env


def postgres_database(admin_url: str) -> AbstractContextManager[str]:
    """A database of its own on the test server, dropped (connections and all) afterwards."""
    return database.throwaway_postgres_database(admin_url, "soteria_replicas")


def _stop(replicas: list[Replica]) -> None:
    """SIGTERM to each replica's process group, SIGKILL if it lingers; never raises."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        running = [r.process for r in replicas if r.process.poll() is None]
        for process in running:
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, sig)
        for process in running:
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=STOP_TIMEOUT)
    # Anything a replica started in its group goes too, even after the leader exited.
    for replica in replicas:
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(replica.process.pid, signal.SIGKILL)


def _wait_ready(replica: Replica, deadline: float) -> None:
    while time.monotonic() < deadline:
        if replica.process.poll() is not None:
            raise RuntimeError(
                f"replica {replica.name} exited with {replica.process.returncode} before it "
                f"was ready:\n{replica.log_tail()}"
            )
        try:
            if httpx.get(replica.url + "/readyz", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(
        f"replica {replica.name} not ready in {START_TIMEOUT}s:\n{replica.log_tail()}"
    )


@contextmanager
def start_replicas(
    count: int, env: Mapping[str, str], log_dir: Path, *, serve_args: Sequence[str] = ()
) -> Iterator[list[Replica]]:
    """``count`` gateways serving at once; all are stopped on leaving, whatever happened.

    ``serve_args`` are added to each ``soteria serve`` command line (``--workers 2``)."""
    replicas: list[Replica] = []
    try:
        for number in range(1, count + 1):
            port = free_port()
            log = log_dir / f"gateway-{number}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [*SERVE, "--host", "127.0.0.1", "--port", str(port), *serve_args],
                    env=dict(env),
                    cwd=log_dir,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group, killed as one
                    preexec_fn=_die_with_parent,  # noqa: PLW1509 - only prctl, no locks
                )
            replicas.append(Replica(f"gateway-{number}", f"http://127.0.0.1:{port}", process, log))
        deadline = time.monotonic() + START_TIMEOUT
        for replica in replicas:
            _wait_ready(replica, deadline)
        yield replicas
    finally:
        _stop(replicas)
