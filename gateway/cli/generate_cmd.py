"""``soteria generate``: synthetic standard-format files for the forces (demo, benchmarks)."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import Any

from gateway.demo.synthetic import generate_files
from schema import codelists


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "generate",
        help="Write synthetic standard-format CSV files (no real case data).",
        description="Write one synthetic <force>.csv per force in Record Standard v1, with "
        "volumes proportional to each force's recorded RASSO volume and realistic outcome "
        "timelines (docs/synthetic-data.md). Deterministic for a seed.",
    )
    parser.add_argument("--out", type=Path, required=True, help="Folder to write into.")
    parser.add_argument(
        "--forces",
        default="all",
        help="'all' or a comma-separated list of force codes (default all).",
    )
    parser.add_argument(
        "--years", type=float, default=3.0, help="Years of recorded crime before --end (default 3)."
    )
    parser.add_argument("--seed", type=int, default=2024, help="Random seed (default 2024).")
    parser.add_argument(
        "--end",
        type=dt.date.fromisoformat,
        default=None,
        help="Last recorded date, YYYY-MM-DD (default today).",
    )
    parser.add_argument(
        "--scale", type=float, default=1.0, help="Multiply every force's volume (default 1.0)."
    )
    parser.set_defaults(handler=run)


def parse_forces(value: str) -> list[str]:
    if value == "all":
        return [f.code for f in codelists.forces()]
    codes = [c.strip() for c in value.split(",") if c.strip()]
    unknown = [c for c in codes if codelists.force(c) is None]
    if unknown:
        raise ValueError(f"unknown force code(s): {', '.join(unknown)}")
    return codes


def run(args: argparse.Namespace) -> int:
    try:
        forces = parse_forces(args.forces)
    except ValueError as exc:
        print(f"error: {exc}")
        return 2
    if args.years <= 0 or args.scale <= 0:
        print("error: --years and --scale must be positive")
        return 2
    end = args.end or dt.datetime.now(dt.UTC).date()
    paths = generate_files(
        args.out, forces=forces, years=args.years, seed=args.seed, end=end, scale=args.scale
    )
    print(f"wrote {len(paths)} files to {args.out} (synthetic data, seed {args.seed})")
    return 0
