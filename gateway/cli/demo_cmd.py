"""``soteria demo``: the complete system on http://127.0.0.1:8000 with synthetic data.

Migrates the embedded database, registers demo clients, starts two forces' nodes (their
own processes and databases) and serves the API, generates synthetic records for all 43
forces and pushes them through the real token-protected push path, then prints
credentials, a token command and an example query. Ctrl-C or SIGTERM stops the API and
the nodes; a node also stops if the demo process dies (Linux).

``--scale`` multiplies every force's yearly volume (the tests run the same code path on a
few per cent of the data); ``--port`` and ``--node-ports`` choose where everything listens.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from adapters.store.engine import make_engine
from gateway import database
from gateway.cli.push_cmd import get_token, push_file
from gateway.demo import guide
from gateway.demo.clients import DemoClient, ensure_demo_clients
from gateway.demo.nodes import NODE_FORCES, DemoNode, prepare_node, start_node, write_forces_config
from gateway.demo.synthetic import generate_files
from gateway.settings import Settings
from schema import codelists


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "demo",
        help="Serve the whole system with synthetic demo data for all 43 forces.",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--node-ports",
        type=_ports,
        default=tuple(port for _, port in NODE_FORCES),
        help="Ports of the force nodes ("
        + ", ".join(force for force, _ in NODE_FORCES)
        + "), comma-separated (default "
        + ",".join(str(port) for _, port in NODE_FORCES)
        + ").",
    )
    parser.add_argument(
        "--years", type=float, default=3.0, help="Years of synthetic records per force (default 3)."
    )
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="Multiply every force's yearly volume (default 1.0: about 190,000 a year).",
    )
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument(
        "--no-serve", action="store_true", help="Load the data, print the credentials and stop."
    )
    parser.set_defaults(handler=run)


def _ports(text: str) -> tuple[int, ...]:
    try:
        ports = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of port numbers: {text!r}") from None
    if len(ports) != len(NODE_FORCES) or not all(0 < port < 65536 for port in ports):
        raise argparse.ArgumentTypeError(f"give {len(NODE_FORCES)} port numbers, e.g. 8101,8102")
    return ports


def _serve_in_thread(settings: Settings, host: str, port: int) -> tuple[Any, threading.Thread]:
    import uvicorn

    from gateway.app import create_app

    config = uvicorn.Config(create_app(settings), host=host, port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    return server, thread


def _wait_ready(base_url: str, alive: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError(f"the server for {base_url} stopped (is the port in use?)")
        try:
            if httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
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


def _running(process: subprocess.Popen[bytes]) -> Callable[[], bool]:
    return lambda: process.poll() is None


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def run(args: argparse.Namespace) -> int:
    if args.years <= 0 or args.scale <= 0:
        print("error: --years and --scale must be positive")
        return 2
    base_url = f"http://{args.host}:{args.port}"
    # The demo is reached at base_url: tokens name it as their issuer.
    settings = Settings.from_env(public_url=base_url)
    engine = make_engine(settings.database_url)
    database.upgrade(engine)
    clients = ensure_demo_clients(engine, settings.var_dir / "demo-clients.json")
    engine.dispose()
    nodes = {
        force: prepare_node(settings.var_dir, force, port)
        for (force, _), port in zip(NODE_FORCES, args.node_ports, strict=True)
    }
    forces_file = settings.var_dir / "demo-forces.toml"
    write_forces_config(forces_file, list(nodes.values()))
    settings = dataclasses.replace(settings, forces_config=forces_file)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupt)  # stop the nodes on SIGTERM as on Ctrl-C
    processes: list[subprocess.Popen[bytes]] = []
    server: Any = None
    thread: threading.Thread | None = None
    try:
        processes = [start_node(node) for node in nodes.values()]
        server, thread = _serve_in_thread(settings, args.host, args.port)
        for node, process in zip(nodes.values(), processes, strict=True):
            _wait_ready(node.url, _running(process))
        _wait_ready(base_url, thread.is_alive)
        today = dt.datetime.now(dt.UTC).date()
        name = f"seed{args.seed}-{today}-{args.years}y" + (
            f"-x{args.scale}" if args.scale != 1.0 else ""
        )
        data_dir = settings.var_dir / "demo-data" / name
        forces = [f.code for f in codelists.forces()]
        files = sorted(data_dir.glob("*.csv"))
        if len(files) != len(forces):
            print(f"generating synthetic records for {len(forces)} forces ...", flush=True)
            files = generate_files(
                data_dir,
                forces=forces,
                years=args.years,
                seed=args.seed,
                end=today,
                scale=args.scale,
            )
        print(f"pushing {len(files)} forces through {base_url}/v1/forces/<force>/submissions")
        _load(base_url, files, clients, nodes)
        query = guide.example_query(today)
        body = guide.write_query_body(settings.var_dir, query)
        print(guide.render(base_url, clients, nodes, query=query, query_body=body), flush=True)
        if args.no_serve:
            return 0
        while thread.is_alive():
            thread.join(timeout=1)
    except KeyboardInterrupt:
        pass
    finally:
        if server is not None and thread is not None:
            server.should_exit = True
            thread.join(timeout=10)
        for process in processes:
            _stop(process)
    return 0
