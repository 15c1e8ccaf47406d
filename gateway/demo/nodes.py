"""The demo's force nodes: separate processes with their own databases, so federation is real.

Each node gets its own SQLite database and var dir, a client for its force's record
system, and a ``federation:read`` client for the gateway (secret in a 0600 file that the
gateway's forces configuration points to).
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from adapters.store.engine import immediate_writes, make_engine
from auth.clients import create_client, get_client
from gateway import database

NODE_FORCES = (("cleveland", 8101), ("gwent", 8102))


@dataclass(frozen=True)
class DemoNode:
    force: str
    port: int
    var_dir: Path
    pusher_id: str
    pusher_secret: str
    federation_id: str
    secret_file: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.var_dir / 'node.db'}"


def _write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


def prepare_node(var_dir: Path, force: str, port: int) -> DemoNode:
    node_dir = var_dir / f"node-{force}"
    node_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(f"sqlite:///{node_dir / 'node.db'}")
    database.upgrade(engine)
    saved = node_dir / "demo-clients.json"
    known = json.loads(saved.read_text("utf-8")) if saved.exists() else {}
    with Session(immediate_writes(engine)) as session:
        for role, scopes, bound in (
            ("pusher", "records:write submissions:read", force),
            ("federation", "federation:read", None),
        ):
            if role in known and get_client(session, known[role]["id"]) is not None:
                continue
            new = create_client(
                session, name=f"demo {role} at {force} node", scopes=scopes.split(), force=bound
            )
            known[role] = {"id": new.client_id, "secret": new.client_secret}
        session.commit()
    engine.dispose()
    _write_private(saved, json.dumps(known))
    secret_file = node_dir / "gateway-federation.secret"
    _write_private(secret_file, known["federation"]["secret"])
    return DemoNode(
        force,
        port,
        node_dir,
        known["pusher"]["id"],
        known["pusher"]["secret"],
        known["federation"]["id"],
        secret_file,
    )


def write_forces_config(path: Path, nodes: list[DemoNode]) -> None:
    lines = ["# Written by `soteria demo`: forces on their own nodes.", ""]
    for node in nodes:
        lines += [
            f"[forces.{node.force}]",
            'source = "remote"',
            f'url = "{node.url}"',
            f'client_id = "{node.federation_id}"',
            f'client_secret_file = "{node.secret_file}"',
            "",
        ]
    lines += [
        "[groups]",
        '"Soteria pathfinders" = ["avon-and-somerset", "durham", "south-wales", "west-midlands"]',
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


def _die_with_parent() -> None:
    """In the child before exec (Linux): SIGTERM when the demo process goes away."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def start_node(node: DemoNode) -> subprocess.Popen[bytes]:
    """The node's process; it is stopped by the demo, or by the kernel if the demo dies."""
    env = {
        **os.environ,
        "SOTERIA_DATABASE_URL": node.database_url,
        "SOTERIA_VAR_DIR": str(node.var_dir),
        "SOTERIA_PUBLIC_URL": node.url,
    }
    env.pop("SOTERIA_FORCES_CONFIG", None)
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module, fixed arguments
        [
            sys.executable,
            "-m",
            "gateway.cli.main",
            "node",
            "--force",
            node.force,
            "--port",
            str(node.port),
        ],
        env=env,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
    )
