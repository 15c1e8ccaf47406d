"""Running the parts of a harness (``make bench``, ``make reliability``), keeping the results.

Each part named on the command line (all of them without any) runs in turn; its figures,
when it ran and how loaded the machine was replace that part's entry in the harness's
results file, and the page's generated section is written again after every part, so an
interrupted run keeps what it measured. A part that raises is recorded as failed and the
run goes on; the exit status is 1 if any part failed or broke an invariant.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine

from benchmarks import results_file
from benchmarks.measure import load, machine
from benchmarks.scratch import ADMIN_URL

Figures = dict[str, Any]


@dataclass(frozen=True)
class Harness:
    prog: str  # how it is run, for --help
    label: str  # printed before each part's name
    description: str
    parts: Mapping[str, Callable[[], Figures]]
    results: Path
    publish: Callable[[dict[str, Any]], None]  # writes the page's generated section
    broke: Callable[[Figures], bool] = lambda figures: False  # an invariant failed


def main(harness: Harness, argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=harness.prog, description=harness.description)
    parser.add_argument("parts", nargs="*", metavar="PART", help=", ".join(harness.parts))
    args = parser.parse_args(argv)
    unknown = [name for name in args.parts if name not in harness.parts]
    if unknown:
        choices = ", ".join(harness.parts)
        parser.error(f"unknown part(s) {', '.join(unknown)}; choose from {choices}")
    results = results_file.load(harness.results)
    admin = create_engine(ADMIN_URL)
    try:
        results["machine"] = machine(admin)
    finally:
        admin.dispose()
    failed = False
    for name in args.parts or list(harness.parts):
        print(f"{harness.label} {name} ...", flush=True)
        entry = _run(harness.parts[name])
        failed |= "error" in entry or harness.broke(entry.get("figures", {}))
        results.setdefault("parts", {})[name] = entry
        print(f"{harness.label} {name}: {entry.get('figures', entry.get('error'))}", flush=True)
        results_file.save(harness.results, results)
        harness.publish(results)
    return 1 if failed else 0


def _run(part: Callable[[], Figures]) -> dict[str, Any]:
    started, at_start = time.perf_counter(), load()
    entry: dict[str, Any] = {
        "measured_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average_at_start": at_start,
    }
    try:
        entry["figures"] = part()
    except Exception as exc:  # noqa: BLE001 - recorded, reported, and the run goes on
        traceback.print_exc()
        entry["error"] = f"{type(exc).__name__}: {exc}"
    entry["seconds"] = round(time.perf_counter() - started, 1)
    return entry
