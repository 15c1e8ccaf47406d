"""The ``soteria`` command: one subcommand per job, each with ``--help``.

Each subcommand lives in its own module and registers itself through ``register``; this
module only assembles the parser and maps failures to exit codes (0 ok, 1 the job found
problems, 2 bad usage or configuration).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from gateway.cli import (
    audit_cmd,
    clients_cmd,
    database_cmd,
    demo_cmd,
    docs_cmd,
    generate_cmd,
    keys_cmd,
    node_cmd,
    push_cmd,
    serve_cmd,
    validate_cmd,
)

COMMANDS = (
    serve_cmd,
    node_cmd,
    demo_cmd,
    database_cmd,
    validate_cmd,
    push_cmd,
    generate_cmd,
    clients_cmd,
    keys_cmd,
    audit_cmd,
    docs_cmd,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="soteria",
        description="Soteria Exchange: RASSO records in, standard indicators out.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.handler(args)
    except KeyboardInterrupt:
        return 130
    return result


if __name__ == "__main__":
    sys.exit(main())
