"""``python -m benchmarks.reliability [PART ...]``: the harnesses of ``make reliability``.

Parts: ``load`` (wrk against two gateway replicas), ``fuzz`` (schemathesis on /openapi.json
and /graphql, malformed files on the push path), ``faults`` (SIGKILLed gateways, PostgreSQL
restarts, hanging and garbling force nodes, clients retrying with the same Idempotency-Key).
No part: all of them. Each part builds its own scratch database and processes on 127.0.0.1,
is bounded in count and time, and stops everything it started. Results go to
``benchmarks/results/reliability.json`` and the figures section of ``docs/reliability.md``.

Exit status 1 when a part failed to run or broke an invariant (an answer of 500 or more, a
stored refusal, a lost or duplicated record, an audit chain that does not verify); a speed
target that was missed is recorded as such but is not a failure of the run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
import traceback
from collections.abc import Callable
from typing import Any, Final

from sqlalchemy import create_engine

from benchmarks.measure import load, machine
from benchmarks.reliability import faults, fuzz, report
from benchmarks.reliability import load as load_part
from benchmarks.scratch import ADMIN_URL

PARTS: Final[dict[str, Callable[[], dict[str, Any]]]] = {
    "load": load_part.run,
    "fuzz": fuzz.run,
    "faults": faults.run,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reliability", description=__doc__)
    parser.add_argument("parts", nargs="*", metavar="PART", help=", ".join(PARTS))
    args = parser.parse_args(argv)
    unknown = [name for name in args.parts if name not in PARTS]
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")
    results = report.load_results()
    admin = create_engine(ADMIN_URL)
    try:
        results["machine"] = machine(admin)
    finally:
        admin.dispose()
    failed = False
    for name in args.parts or list(PARTS):
        print(f"reliability {name} ...", flush=True)
        started, at_start = time.perf_counter(), load()
        entry: dict[str, Any] = {
            "measured_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "load_average_at_start": at_start,
        }
        try:
            entry["figures"] = PARTS[name]()
            failed |= not entry["figures"].get("invariants_hold", True)
        except Exception as exc:  # noqa: BLE001 - recorded, reported, and the run goes on
            traceback.print_exc()
            entry["error"] = f"{type(exc).__name__}: {exc}"
            failed = True
        entry["seconds"] = round(time.perf_counter() - started, 1)
        results.setdefault("parts", {})[name] = entry
        print(f"reliability {name}: {entry.get('figures', entry.get('error'))}", flush=True)
        report.save_results(results)
        report.update_doc(results)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
