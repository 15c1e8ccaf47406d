"""``soteria demo``: the complete system on http://127.0.0.1:8000 with synthetic data.

Migrates the embedded database, registers demo clients, serves the API, generates
synthetic records for all 43 forces and pushes them through the real token-protected push
path (with a progress bar), then prints credentials, a token command and an example query.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from adapters.store.engine import make_engine
from gateway import database
from gateway.cli.push_cmd import get_token, push_file
from gateway.demo.clients import SHOWCASE_FORCES, DemoClient, ensure_demo_clients
from gateway.demo.nodes import NODE_FORCES, DemoNode, prepare_node, start_node, write_forces_config
from gateway.demo.synthetic import generate_files
from gateway.settings import Settings
from schema import codelists


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "demo",
        help="Serve the whole system with synthetic demo data for all 43 forces.",
        description=__doc__,
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--years", type=float, default=3.0, help="Years of synthetic records per force (default 3)."
    )
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument(
        "--no-serve", action="store_true", help="Load the data, print the credentials and stop."
    )
    parser.set_defaults(handler=run)


def _serve_in_thread(settings: Settings, host: str, port: int) -> tuple[Any, threading.Thread]:
    import uvicorn

    from gateway.app import create_app

    config = uvicorn.Config(create_app(settings), host=host, port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    return server, thread


def _wait_ready(base_url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the API did not become ready at {base_url}")


def _load(
    base_url: str, files: list[Path], clients: dict[str, DemoClient], nodes: dict[str, DemoNode]
) -> None:
    """Each force's file through the real push path: its node's, or the gateway's."""
    for path in files:
        force = path.stem
        node = nodes.get(force)
        if node is not None:
            url, client_id, secret = node.url, node.pusher_id, node.pusher_secret
        else:
            client = clients[f"force:{force}"]
            url, client_id, secret = base_url, client.client_id, client.client_secret
        with httpx.Client(base_url=url, timeout=600) as http:
            token = get_token(http, client_id, secret, "records:write")
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
            response = push_file(
                http, token=token, force=force, path=path, key=f"demo-{digest}", fmt="standard-csv"
            )
        if response.status_code not in (200, 201):
            raise RuntimeError(f"{force}: push refused: {response.text[:500]}")


def _print_guide(base_url: str, clients: dict[str, DemoClient], nodes: dict[str, DemoNode]) -> None:
    analyst = clients["analyst"]
    print("\nSoteria Exchange demo is running on", base_url)
    for node in nodes.values():
        print(f"  force node for {node.force}: {node.url} (its own database and process)")
    print("Synthetic data only (docs/synthetic-data.md). Demo clients (also in var/):")
    for role in ("analyst", "analyst-exact", "auditor", *(f"force:{f}" for f in SHOWCASE_FORCES)):
        c = clients[role]
        print(f"  {role:22} {c.scopes:48} id={c.client_id} secret={c.client_secret}")
    print("\nGet a token as the analyst:")
    print(
        f"  curl -s -u '{analyst.client_id}:{analyst.client_secret}' "
        f"-d grant_type=client_credentials {base_url}/oauth/token"
    )
    print("\nPress Ctrl-C to stop.")


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    engine = make_engine(settings.database_url)
    database.upgrade(engine)
    clients = ensure_demo_clients(engine, settings.var_dir / "demo-clients.json")
    engine.dispose()
    nodes = {force: prepare_node(settings.var_dir, force, port) for force, port in NODE_FORCES}
    forces_file = settings.var_dir / "demo-forces.toml"
    write_forces_config(forces_file, list(nodes.values()))
    settings = dataclasses.replace(settings, forces_config=forces_file)
    base_url = f"http://{args.host}:{args.port}"
    processes = [start_node(node) for node in nodes.values()]
    server, thread = _serve_in_thread(settings, args.host, args.port)
    try:
        for node in nodes.values():
            _wait_ready(node.url)
        _wait_ready(base_url)
        end = dt.datetime.now(dt.UTC).date()
        data_dir = settings.var_dir / "demo-data" / f"seed{args.seed}-{end}-{args.years}y"
        forces = [f.code for f in codelists.forces()]
        files = sorted(data_dir.glob("*.csv"))
        if len(files) != len(forces):
            print(f"generating synthetic records for {len(forces)} forces ...")
            files = generate_files(
                data_dir, forces=forces, years=args.years, seed=args.seed, end=end
            )
        print(f"pushing {len(files)} forces through {base_url}/v1/forces/<force>/submissions")
        _load(base_url, files, clients, nodes)
        _print_guide(base_url, clients, nodes)
        if args.no_serve:
            return 0
        while thread.is_alive():
            thread.join(timeout=1)
    except KeyboardInterrupt:
        pass
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        for process in processes:
            process.terminate()
            process.wait(timeout=10)
    return 0
