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

from collections.abc import Callable
from typing import Any, Final

from benchmarks.harness import Harness, main
from benchmarks.reliability import faults, fuzz, report
from benchmarks.reliability import load as load_part

PARTS: Final[dict[str, Callable[[], dict[str, Any]]]] = {
    "load": load_part.run,
    "fuzz": fuzz.run,
    "faults": faults.run,
}


HARNESS: Final = Harness(
    prog="python -m benchmarks.reliability",
    label="reliability",
    description=__doc__ or "",
    parts=PARTS,
    results=report.RESULTS,
    publish=report.update_doc,
    broke=lambda figures: not figures.get("invariants_hold", True),
)


if __name__ == "__main__":
    raise SystemExit(main(HARNESS))
