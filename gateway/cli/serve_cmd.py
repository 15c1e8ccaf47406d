"""``soteria serve``: run the API with uvicorn on the configured database."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from gateway.settings import Settings

if TYPE_CHECKING:
    from starlette.applications import Starlette


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
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="Worker processes sharing the port (default 1; PostgreSQL only).",
    )
    parser.set_defaults(handler=run)


def serving_app() -> Starlette:
    """The application one serving process runs (uvicorn's factory for ``--workers``)."""
    from gateway.app import create_app
    from gateway.serving import settle_heap

    app = create_app(Settings.from_env())
    settle_heap()
    return app


def run(args: argparse.Namespace) -> int:
    import uvicorn

    settings = Settings.from_env()
    if args.workers < 1:
        print("soteria serve: --workers must be at least 1.", file=sys.stderr)
        return 2
    if args.workers > 1 and settings.database_url.startswith("sqlite"):
        print(
            "soteria serve: several workers need PostgreSQL; the embedded SQLite database "
            "is served by one process (docs/operations.md, 'Scaling out').",
            file=sys.stderr,
        )
        return 2
    options: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "log_level": "info",
        "proxy_headers": True,
    }
    if args.workers == 1:
        uvicorn.run(serving_app(), **options)
    else:  # each worker builds its own application (engine, caches) from the environment
        uvicorn.run(
            "gateway.cli.serve_cmd:serving_app", factory=True, workers=args.workers, **options
        )
    return 0
