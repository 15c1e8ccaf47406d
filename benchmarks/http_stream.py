"""Benchmark 3: a 1,000,000-row push streamed through the real server.

``soteria serve`` runs in a subprocess (uvicorn on 127.0.0.1 and a free port) on a scratch
PostgreSQL database with ``SOTERIA_VAR_DIR`` a temporary directory, exactly as deployed:
token-protected route, body pumped to a worker thread, the indicator rollups and the audit
event committed with the records. A registered client gets a real token from
``/oauth/token`` and uploads the CSV (about 160 MB) as a streamed body (a generator of
64 KiB chunks). The server process's resident memory is sampled every 50 ms with psutil.

Figures: peak RSS (target under 400 MB), rows per second, and that throughput divided by a
binary COPY of the same validated rows into ``copy_ref`` in the same database, measured
after the push.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import httpx
import psutil
from sqlalchemy.orm import Session

from auth.clients import create_client
from benchmarks import dataset, reference
from benchmarks.measure import load
from benchmarks.scratch import migrated, postgres_database
from schema import codelists

FORCE: Final = "metropolitan"
ROWS: Final = 1_000_000
TARGET_RSS_MB: Final = 400.0
SAMPLE_SECONDS: Final = 0.05
TODAY: Final = dataset.END  # the server's clock is the real one; every date is older


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RssSampler:
    """Samples a process's resident set (with any children) on a thread until stopped."""

    def __init__(self, pid: int, interval: float = SAMPLE_SECONDS) -> None:
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def rss(self) -> int:
        total = self.process.memory_info().rss
        for child in self.process.children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess):
                total += child.memory_info().rss
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self.rss())
                self.samples += 1
            except psutil.NoSuchProcess:
                return
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _serve(url: str, var_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SOTERIA_DATABASE_URL": url,
        "SOTERIA_VAR_DIR": str(var_dir),
        "SOTERIA_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "SOTERIA_RATE_LIMIT_PER_SECOND": "10000",
        "SOTERIA_RATE_LIMIT_BURST": "10000",
    }
    soteria = Path(sys.executable).with_name("soteria")
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(soteria), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _wait_ready(base_url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the server did not become ready")


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def run() -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="soteria-bench-") as tmp,
        postgres_database("http") as url,
    ):
        directory = Path(tmp)
        body = dataset.write(directory / "million.csv", dataset.rows(FORCE, ROWS), expect=ROWS)
        engine = migrated(url)
        try:
            with Session(engine) as session:
                client = create_client(
                    session,
                    name="benchmark pusher",
                    scopes=["records:write"],
                    force=FORCE,
                    force_exists=lambda code: codelists.force(code) is not None,
                )
                session.commit()
            assert client.client_secret is not None
            port = _free_port()
            base_url = f"http://127.0.0.1:{port}"
            log = directory / "server.log"
            (directory / "var").mkdir()
            server = _serve(url, directory / "var", port, log)
            try:
                _wait_ready(base_url, server, log)
                figures = _push(base_url, server.pid, client.client_id, client.client_secret, body)
            finally:
                _stop(server)
            reference.create_postgres(engine)
            stream = reference.prepare_postgres(
                engine, body, directory / "million.copy", force=FORCE, today=TODAY
            )
            copy_seconds = reference.copy_postgres(engine, stream)
        finally:
            engine.dispose()
    figures["reference"] = {
        "what": "binary COPY of the same validated rows into copy_ref, committed",
        "seconds": round(copy_seconds, 3),
        "rows_per_second": round(ROWS / copy_seconds),
    }
    figures["ratio"] = round(copy_seconds / figures["seconds"], 3)
    return figures


def _push(base_url: str, pid: int, client_id: str, secret: str, body: Path) -> dict[str, Any]:
    with httpx.Client(base_url=base_url, timeout=httpx.Timeout(1800, connect=10)) as http:
        response = http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "scope": "records:write"},
            auth=(client_id, secret),
        )
        response.raise_for_status()
        token = response.json()["access_token"]

        def upload() -> Iterator[bytes]:
            yield from dataset.chunks(body)

        sampler = RssSampler(pid)
        idle = sampler.rss()
        before = load()
        with sampler:
            start = time.perf_counter()
            response = http.post(
                f"/v1/forces/{FORCE}/submissions",
                content=upload(),
                headers={
                    "Authorization": f"Bearer {token}",
                    "Idempotency-Key": "benchmark-million",
                    "Content-Type": "text/csv",
                },
            )
            seconds = time.perf_counter() - start
    if response.status_code != 201 or response.json()["inserted"] != ROWS:
        raise RuntimeError(f"the push failed: {response.status_code} {response.text[:500]}")
    return {
        "rows": ROWS,
        "body_mb": round(body.stat().st_size / 2**20, 1),
        "seconds": round(seconds, 2),
        "rows_per_second": round(ROWS / seconds),
        "idle_rss_mb": round(idle / 2**20, 1),
        "peak_rss_mb": round(sampler.peak / 2**20, 1),
        "rss_samples": sampler.samples,
        "target_rss_mb": TARGET_RSS_MB,
        "met": sampler.peak / 2**20 < TARGET_RSS_MB,
        "load_average": before,
    }
