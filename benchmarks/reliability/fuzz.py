"""Fuzzing: schemathesis on ``/openapi.json`` and ``/graphql``; hypothesis on the push path.

A ``soteria serve`` process on a scratch PostgreSQL database, seeded with a few hundred
records so reads have something to read. Three clients with real tokens: a pusher bound to
Kent, an analyst (exact figures) and an auditor. Each request carries the token the
operation needs (the pusher's for the push path and receipts, the analyst's elsewhere,
client credentials at the OAuth endpoints), so generated inputs reach the handlers, not
only the authentication layer. The force parameter of the published document is narrowed
to Kent (own force), Essex (another force) and one unknown code, for the same reason.

* schemathesis, OpenAPI: ``CASES_PER_OPERATION`` generated cases per operation, positive
  and negative (schema-violating) data.
* schemathesis, GraphQL: ``CASES_PER_OPERATION`` generated queries per root field.
* hypothesis: malformed files against the push path (``malformed.py``).

Checks: no answer is 500 or more (the one that must hold); schemathesis's conformance
checks (status code, content type, response schema) are counted and listed, as findings
about the document. Storage: records, versions and submissions counted before and after
and compared with the receipts the run was given; a refused input must add nothing.
"""

from __future__ import annotations

import collections
import contextlib
import time
from collections.abc import Callable
from typing import Any, Final

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import checks as st_checks
from schemathesis.core.result import Ok
from sqlalchemy import Engine, func, select

from adapters.store.models import Submission, record_versions, records
from benchmarks.reliability import data, malformed
from benchmarks.reliability.cluster import Credentials, cluster, token

CASES_PER_OPERATION: Final = 110
FORCE: Final = "kent"
OTHER_FORCE: Final = "essex"
TIME_LIMIT_SECONDS: Final = 900
CONFORMANCE: Final = {
    "status_code_conformance": st_checks.status_code_conformance,
    "content_type_conformance": st_checks.content_type_conformance,
    "response_schema_conformance": st_checks.response_schema_conformance,
}


def stored(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            "records": conn.scalar(select(func.count()).select_from(records)) or 0,
            "record_versions": conn.scalar(select(func.count()).select_from(record_versions)) or 0,
            "submissions": conn.scalar(select(func.count()).select_from(Submission)) or 0,
        }


class Tally:
    """What the fuzzers saw: cases, statuses, server errors, findings, receipts."""

    def __init__(self) -> None:
        self.cases = collections.Counter[str]()
        self.statuses = collections.Counter[int]()
        self.server_errors: list[str] = []
        self.findings = collections.Counter[str]()
        self.examples: dict[str, str] = {}
        self.accepted_submissions: set[str] = set()
        self.inserted = 0
        self.transport_errors = 0

    def response(self, where: str, status: int, body: bytes, what: str) -> None:
        self.cases[where] += 1
        self.statuses[status] += 1
        if status >= 500:
            self.server_errors.append(f"{what} -> {status} {body[:300]!r}")

    def receipt(self, status: int, payload: Any) -> None:
        if status != 201 or not isinstance(payload, dict) or not payload.get("submission_id"):
            return
        if payload["submission_id"] not in self.accepted_submissions:
            self.accepted_submissions.add(payload["submission_id"])
            self.inserted += int(payload.get("inserted", 0))

    def finding(self, name: str, detail: str) -> None:
        self.findings[name] += 1
        self.examples.setdefault(name, detail[:500])


def _narrowed(doc: dict[str, Any]) -> dict[str, Any]:
    """The published document with ``{force}`` narrowed to three interesting values."""
    for operations in doc["paths"].values():
        for op in operations.values():
            for param in op.get("parameters", []):
                if param["name"] == "force" and param["in"] == "path":
                    param["schema"] = {"enum": [FORCE, OTHER_FORCE, "atlantis"]}
    return doc


def _fuzz_operation(
    run: Callable[[Any], None], strategy: Any, deadline: float, examples: int
) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )
    @given(case=strategy)
    def test(case: Any) -> None:
        if time.monotonic() < deadline:
            run(case)

    try:
        test()
    except Unsatisfiable:  # no negative data exists for an operation without inputs
        return


def fuzz_openapi(
    url: str, headers_for: Callable[[str, str], dict[str, str]], tally: Tally, deadline: float
) -> int:
    doc = _narrowed(httpx.get(f"{url}/openapi.json", timeout=30).json())
    schema = schemathesis.openapi.from_dict(doc)
    operations = 0
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            tally.finding("openapi: operation not loadable", str(result))
            continue
        operation = result.ok()
        operations += 1
        label = f"{operation.method.upper()} {operation.path}"

        def run(case: Any, label: str = label, path: str = operation.path) -> None:
            headers = {**(case.headers or {}), **headers_for(case.method, path)}
            case.headers = headers
            try:
                response = case.call(base_url=url, timeout=30)
            except Exception as exc:  # noqa: BLE001 - a refused connection is a finding too
                tally.transport_errors += 1
                tally.server_errors.append(f"{label}: {type(exc).__name__}: {exc}")
                return
            tally.response("openapi", response.status_code, response.content, label)
            if label == "POST /v1/forces/{force}/submissions":
                with contextlib.suppress(ValueError):
                    tally.receipt(response.status_code, response.json())
            for name, check in CONFORMANCE.items():
                try:
                    case.validate_response(response, checks=[check])
                except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - a FailureGroup
                    tally.finding(f"{label}: {name}", f"{response.status_code}: {exc}")

        for mode in ("positive", "negative"):
            strategy = operation.as_strategy(generation_mode=schemathesis.GenerationMode(mode))
            _fuzz_operation(run, strategy, deadline, CASES_PER_OPERATION // 2)
    return operations


def fuzz_graphql(url: str, headers: dict[str, str], tally: Tally, deadline: float) -> int:
    schema = schemathesis.graphql.from_url(f"{url}/graphql", headers=headers, timeout=30)
    operations = 0
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            tally.finding("graphql: operation not loadable", str(result))
            continue
        operation = result.ok()
        operations += 1
        label = f"graphql {operation.label}"

        def run(case: Any, label: str = label) -> None:
            try:
                response = case.call(base_url=url, headers=headers, timeout=30)
            except Exception as exc:  # noqa: BLE001
                tally.transport_errors += 1
                tally.server_errors.append(f"{label}: {type(exc).__name__}: {exc}")
                return
            tally.response("graphql", response.status_code, response.content, label)

        _fuzz_operation(run, operation.as_strategy(), deadline, CASES_PER_OPERATION)
    return operations


def run() -> dict[str, Any]:
    started = time.monotonic()
    deadline = started + TIME_LIMIT_SECONDS
    with cluster("fuzz") as c:
        replica = c.add_replica()
        replica.wait_ready()
        url = replica.url
        _seed(c.register("seed", "records:write", FORCE), url)
        pusher = c.register("fuzz pusher", "records:write submissions:read", FORCE)
        analyst = c.register("fuzz analyst", "indicators:read indicators:exact")
        pusher_token, analyst_token = token(url, pusher), token(url, analyst)
        before = stored(c.engine)
        tally = Tally()

        def headers_for(method: str, path: str) -> dict[str, str]:
            if path.startswith("/oauth/") and method.upper() == "POST":
                auth = httpx.BasicAuth(pusher.client_id, pusher.secret)
                return {"Authorization": auth._auth_header}
            bearer = pusher_token if path.startswith("/v1/forces/") else analyst_token
            return {"Authorization": f"Bearer {bearer}"}

        rest_operations = fuzz_openapi(url, headers_for, tally, deadline)
        graphql_headers = {
            "Authorization": f"Bearer {analyst_token}",
            "Soteria-Purpose": "performance-monitoring",
        }
        graphql_operations = fuzz_graphql(url, graphql_headers, tally, deadline)
        files = malformed.run(url, pusher_token, FORCE, tally, deadline)
        after = stored(c.engine)
    growth = {k: after[k] - before[k] for k in after}
    unexplained = {
        "submissions": growth["submissions"] - len(tally.accepted_submissions),
        "records": growth["records"] - tally.inserted,
    }
    total = sum(tally.cases.values())
    return {
        "cases": total,
        "cases_by_fuzzer": dict(tally.cases),
        "rest_operations": rest_operations,
        "graphql_operations": graphql_operations,
        "malformed_files": files,
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "server_errors": len(tally.server_errors),
        "server_error_examples": tally.server_errors[:10],
        "transport_errors": tally.transport_errors,
        "accepted_submissions": len(tally.accepted_submissions),
        "store_growth": growth,
        "rows_from_refused_inputs": unexplained,
        "conformance_findings": dict(tally.findings),
        "conformance_examples": tally.examples,
        "seconds": round(time.monotonic() - started, 1),
        "invariants_hold": not tally.server_errors and not any(unexplained.values()),
        "met": total >= 2000 and not tally.server_errors and not any(unexplained.values()),
    }


def _seed(creds: Credentials, url: str) -> None:
    body = data.csv_body(data.force_rows(FORCE, years=1.0, scale=0.3, seed=7))
    response = httpx.post(
        f"{url}/v1/forces/{FORCE}/submissions",
        content=body,
        headers={
            "Authorization": f"Bearer {token(url, creds)}",
            "Content-Type": "text/csv",
            "Idempotency-Key": "fuzz-seed",
        },
        timeout=120,
    )
    response.raise_for_status()
