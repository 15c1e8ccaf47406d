"""``soteria docs``: regenerate the documentation pages derived from code."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from schema.jsonschema import record_standard_markdown

GENERATED = {Path("docs/record-standard.md"): record_standard_markdown}


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "docs",
        help="Regenerate docs pages derived from code (record standard).",
        description="Write docs/record-standard.md from the record standard's definition.",
    )
    parser.add_argument("--check", action="store_true", help="Only check they are up to date.")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    stale = []
    for path, render in GENERATED.items():
        text = render()
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(path)
        else:
            path.write_text(text, encoding="utf-8")
    for path in stale:
        print(f"{path} is out of date: run `soteria docs`")
    return 1 if stale else 0
