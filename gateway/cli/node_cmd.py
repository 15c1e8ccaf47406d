"""``soteria node``: run one force's node: its push path, its own store, federation.

The node keeps the force's records in its own database (``SOTERIA_DATABASE_URL``) and
answers the gateway's federation questions with mergeable partials only.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from schema import codelists


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "node",
        help="Run a force node (one force's push path and federation endpoint).",
        description=__doc__,
    )
    parser.add_argument("--force", required=True, help="The force this node holds.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8101)
    parser.add_argument(
        "--migrate", action="store_true", help="Run the database migrations before serving."
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from adapters.store.engine import make_engine
    from gateway import database
    from gateway.app import create_app
    from gateway.serving import settle_heap
    from gateway.settings import Settings

    if codelists.force(args.force) is None:
        print(f"error: there is no force '{args.force}'")
        return 2
    settings = dataclasses.replace(Settings.from_env(), node_force=args.force)
    if args.migrate:
        database.upgrade(make_engine(settings.database_url))
    app = create_app(settings)
    settle_heap()
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
