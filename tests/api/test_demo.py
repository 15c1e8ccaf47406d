"""``soteria demo`` starts, answers its own example query, and stops cleanly.

The real command runs as a subprocess (gateway plus two force nodes, each its own process
and SQLite database) on free ports with a throwaway var dir and ``--scale 0.03`` (the same
code path on 3 per cent of the yearly volume). The test reads what the demo prints: the
analyst's token command and the example query, runs them over HTTP, checks the table
covers all 43 forces (the two node forces included), then checks with the cleared
analyst's printed credentials that each national total is the sum of the 43 forces'
exact figures, so the nodes' partials are merged into totals. Ctrl-C (SIGINT) must stop
the demo and both nodes.

The demo is the embedded SQLite default, so this runs in the SQLite pass only.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from gateway.demo.guide import PURPOSE, QUERY_HEADING, READY_LINE
from gateway.demo.nodes import NODE_FORCES
from schema import codelists
from tests.conftest import DATABASE_KIND

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        DATABASE_KIND != "sqlite", reason="the demo runs on the embedded SQLite default"
    ),
]

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 150.0
TOKEN_LINE = re.compile(
    r"curl -s -u '(?P<id>[^:']+):(?P<secret>[^']+)' -d grant_type=client_credentials "
    r"(?P<base>\S+)/oauth/token$"
)
CLIENT_LINE = re.compile(r"^\s+(?P<role>\S+)\s.*id=(?P<id>\S+) secret=(?P<secret>\S+)$")


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for probe in sockets:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in sockets]
    finally:
        for probe in sockets:
            probe.close()


@dataclass
class Demo:
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)

    def pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
        self.done.set()

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return
            if self.done.is_set():
                pytest.fail(f"the demo exited ({self.process.poll()}):\n{self.output[-4000:]}")
            time.sleep(0.2)
        pytest.fail(f"the demo did not print {text!r} in {timeout:.0f} s:\n{self.output[-4000:]}")


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    port, *node_ports = _free_ports(1 + len(NODE_FORCES))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOTERIA_")}
    env |= {
        "SOTERIA_VAR_DIR": str(tmp_path),
        "SOTERIA_DATABASE_URL": f"sqlite:///{tmp_path / 'soteria.db'}",
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        *(sys.executable, "-m", "gateway.cli.main", "demo"),
        *("--port", str(port), "--node-ports", ",".join(map(str, node_ports))),
        *("--scale", "0.03"),
    ]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # a failed test can end the whole group
    )
    running = Demo(process)
    threading.Thread(target=running.pump, name="demo-output", daemon=True).start()
    try:
        yield running
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        assert process.stdout is not None
        process.stdout.close()


def _example(lines: list[str]) -> str:
    start = next(i for i, line in enumerate(lines) if QUERY_HEADING in line) + 1
    end = next(i for i in range(start, len(lines)) if not lines[i].strip())
    return textwrap.dedent("\n".join(lines[start:end]))


def _run(http: httpx.Client, client_id: str, secret: str, query: str) -> dict[str, Any]:
    token = http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    assert token.status_code == 200, token.text
    headers = {
        "Authorization": f"Bearer {token.json()['access_token']}",
        "Soteria-Purpose": PURPOSE,
    }
    response = http.post("/graphql", json={"query": query}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]["indicatorTable"]  # type: ignore[no-any-return]


def test_the_demo_serves_its_example_query_over_all_forces_and_stops_cleanly(
    demo: Demo,
) -> None:
    demo.wait_for("Press Ctrl-C to stop.", START_TIMEOUT)
    token_line = next(m for line in demo.lines if (m := TOKEN_LINE.search(line.strip())))
    base = token_line["base"]
    assert any(f"{READY_LINE} {base}" in line for line in demo.lines)
    clients = {m["role"]: m for line in demo.lines if (m := CLIENT_LINE.match(line))}
    assert clients["analyst"]["id"] == token_line["id"]
    query = _example(demo.lines)
    everyone = {force.code for force in codelists.forces()}
    nodes = {force for force, _ in NODE_FORCES}
    node_processes = psutil.Process(demo.process.pid).children()
    assert len(node_processes) == len(NODE_FORCES)

    with httpx.Client(base_url=base, timeout=30) as http:
        assert http.get("/readyz").status_code == 200
        table = _run(http, token_line["id"], token_line["secret"], query)
        cleared = clients["analyst-exact"]
        exact = _run(http, cleared["id"], cleared["secret"], query)

    assert set(table["coverage"]["included"]) == everyone
    assert nodes <= set(table["coverage"]["included"])
    assert table["coverage"]["missing"] == []
    per_force: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for cell in table["cells"]:
        if cell["force"] is not None:
            per_force[cell["force"]].append(cell)
    assert set(per_force) == everyone
    periods = {cell["period"]["label"] for cell in table["cells"]}
    assert len(periods) == 4  # the four quarters of the last financial year
    for cells in per_force.values():
        assert len(cells) == 2 * len(periods)  # two indicators a quarter
        for cell in cells:  # a figure, withheld with the reason, or a share of nothing
            figure = cell["value"] is not None
            withheld = cell["suppressed"] and cell["note"]
            assert figure or withheld or cell["denominator"] == 0, cell
    national = [c for c in table["cells"] if c["group"] == "national"]
    assert national
    assert all(c["value"] is not None and c["value"] > 0 for c in national if not c["suppressed"])

    recorded = [c for c in exact["cells"] if c["indicator"] == "recorded_offences"]
    for label in periods:
        quarter = [c for c in recorded if c["period"]["label"] == label]
        forces = {c["force"]: c["value"] for c in quarter if c["force"] is not None}
        total = next(c["value"] for c in quarter if c["group"] == "national")
        assert set(forces) == everyone
        assert all(forces[node] > 0 for node in nodes)
        assert total == sum(forces.values())

    demo.process.send_signal(signal.SIGINT)
    assert demo.process.wait(timeout=30) == 0
    gone, alive = psutil.wait_procs(node_processes, timeout=15)
    assert alive == []
    assert len(gone) == len(NODE_FORCES)
