"""``soteria serve``: run the API with uvicorn on the configured database."""

from __future__ import annotations

import argparse
from typing import Any

from gateway.settings import Settings


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "serve",
        help="Serve the API (default http://127.0.0.1:8000).",
        description="Serve the Soteria Exchange API with uvicorn. Configuration comes from "
        "SOTERIA_* environment variables (see docs/operations.md).",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="Interface to bind (default %(default)s)."
    )
    parser.add_argument("--port", type=int, default=8000, help="Port (default %(default)s).")
    parser.add_argument("--workers", type=int, default=1, help="Worker processes (default 1).")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from gateway.app import create_app
    from gateway.serving import settle_heap

    settings = Settings.from_env()
    app = create_app(settings)
    settle_heap()
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", proxy_headers=True)
    return 0
