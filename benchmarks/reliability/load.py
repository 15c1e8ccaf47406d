"""Load: a realistic mix against two gateway replicas on one PostgreSQL database, with wrk.

Two ``soteria serve`` processes (uvicorn, 127.0.0.1) share a scratch database seeded with a
year and a half of synthetic records for all 43 forces, pushed through the real push path.
wrk (``load.lua``) spreads its connections round-robin over the replicas and sends, with
real tokens: 80 % indicator queries over GraphQL (a handful of dashboard-like tables),
10 % pushes of a one-record CSV with a fresh Idempotency-Key (four forces), and 10 % audit
reads (GraphQL ``auditEvents`` when the schema has it, else the receipts a force's
submissions left, ``GET /v1/forces/{force}/submissions``). A short warm-up run, then the
measured run; bounded by ``DURATION`` seconds.

Figures: sustained requests/s, p50/p90/p99 latency, errors (socket errors and any answer
that is not 2xx), and the audit check: the events each client caused during the measured
run against the requests it had answered (one ``indicators:query`` per GraphQL request, one
``submission:create`` per accepted push). Target: at least 200 req/s, p99 under 250 ms,
no errors, no audit event missing.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any, Final

import psutil
from sqlalchemy import func, select

from benchmarks.reliability import data
from benchmarks.reliability.cluster import Cluster, Proc, cluster, token
from gateway.audit.models import AuditEventRow
from schema.graphql.build import build_schema

LUA: Final = Path(__file__).with_name("load.lua")
DURATION: Final = 60
WARMUP: Final = 10
CONNECTIONS: Final = 8
QUERY_SHARE: Final = 0.8
PUSH_SHARE: Final = 0.1
TARGET_RPS: Final = 200.0
TARGET_P99_MS: Final = 250.0
PUSH_FORCES: Final = ("kent", "essex", "durham", "dorset")
SEED_YEARS: Final = 1.5
SEED_SCALE: Final = 0.3

_TABLE = (
    "query Dashboard($g: Granularity!, $from: Date!, $to: Date!, $i: [ID!], $f: [ID!], "
    "$groups: [GroupBy!]) { indicatorTable(granularity: $g, from: $from, to: $to, "
    "indicators: $i, forces: $f, groups: $groups) { columns rows suppressedCells "
    "coverage { included missing { force reason } } } }"
)
QUERIES: Final = [
    {
        "g": "QUARTER",
        "from": "2024-04-01",
        "to": "2025-03-31",
        "i": ["recorded_offences", "charge_outcome_share"],
        "groups": ["NATIONAL", "REGION"],
    },
    {
        "g": "MONTH",
        "from": "2025-01-01",
        "to": "2025-06-30",
        "i": ["recorded_offences"],
        "f": ["kent", "essex", "surrey", "sussex"],
        "groups": ["NATIONAL"],
    },
    {
        "g": "FINANCIAL_YEAR",
        "from": "2024-04-01",
        "to": "2025-03-31",
        "i": ["charge_outcome_share", "victim_withdrawal_share", "no_suspect_share"],
        "groups": ["NATIONAL", "COUNTRY"],
    },
    {
        "g": "QUARTER",
        "from": "2025-01-01",
        "to": "2025-09-30",
        "i": ["open_investigations", "median_days_to_outcome"],
        "f": ["west-yorkshire", "metropolitan"],
    },
    {
        "g": "ROLLING_YEAR",
        "from": "2025-06-01",
        "to": "2025-06-30",
        "i": ["recorded_offences", "isva_referral_rate", "sarc_referral_rate"],
        "groups": ["NATIONAL", "REGION"],
    },
]
AUDIT_QUERY: Final = (
    'query Trail($force: ID) { auditEvents(force: $force, action: "submission:create", '
    "first: 20) { items { seq occurredAt action outcome clientId forces } "
    "pageInfo { hasNextPage endCursor } } }"
)
DATA_QUALITY: Final = '{ dataQuality(forces: ["kent", "essex"]) { force recordsHeld } }'


def _bodies() -> list[str]:
    bodies = [json.dumps({"query": _TABLE, "variables": v}) for v in QUERIES]
    bodies.append(json.dumps({"query": DATA_QUALITY}))
    return bodies


def audit_request(force: str) -> tuple[str, str, str, str]:
    """(what, method, path, body) of the audit read: GraphQL ``auditEvents`` once it exists."""
    query_type = build_schema().graphql_schema.query_type
    if query_type is not None and "auditEvents" in query_type.fields:
        body = json.dumps({"query": AUDIT_QUERY, "variables": {"force": force}})
        return "GraphQL auditEvents", "POST", "/graphql", body
    return (
        "receipts (GET /v1/forces/{force}/submissions)",
        "GET",
        (f"/v1/forces/{force}/submissions?limit=20"),
        "",
    )


def _wrk(env: dict[str, str], url: str, seconds: int) -> dict[str, Any]:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed: apt-get install -y wrk (make reliability does)")
    done = subprocess.run(
        [
            wrk,
            "-t",
            str(CONNECTIONS),
            "-c",
            str(CONNECTIONS),
            "-d",
            f"{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(LUA),
            url,
        ],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=False,
    )
    for line in done.stdout.splitlines():
        if line.startswith("SOTERIA-RESULT "):
            result: dict[str, Any] = json.loads(line.removeprefix("SOTERIA-RESULT "))
            return result
    raise RuntimeError(f"wrk gave no result (exit {done.returncode}): {done.stderr[-2000:]}")


def _events_by_client(c: Cluster) -> dict[tuple[str | None, str], int]:
    with c.engine.connect() as conn:
        rows = conn.execute(
            select(AuditEventRow.client_id, AuditEventRow.action, func.count()).group_by(
                AuditEventRow.client_id, AuditEventRow.action
            )
        ).all()
    return {(client, action): n for client, action, n in rows}


def _delta(
    after: dict[tuple[str | None, str], int], before: dict[tuple[str | None, str], int]
) -> dict[tuple[str | None, str], int]:
    return {k: n - before.get(k, 0) for k, n in after.items() if n != before.get(k, 0)}


def run() -> dict[str, Any]:
    with cluster("load") as c:
        replicas = [c.add_replica(), c.add_replica()]
        for replica in replicas:
            replica.wait_ready()
        seeded = data.seed_all_forces(c, years=SEED_YEARS, scale=SEED_SCALE)
        url = replicas[0].url
        analyst = c.register("load analyst", "indicators:read")
        auditor = c.register("load auditor", "audit:read submissions:read indicators:read")
        pushers = {f: c.register(f"load {f}", "records:write", f) for f in PUSH_FORCES}
        queries_file = c.var_dir / "queries.jsonl"
        queries_file.write_text("\n".join(_bodies()) + "\n", encoding="utf-8")
        audit_what, method, path, body = audit_request(PUSH_FORCES[0])
        env = {
            "SOTERIA_PORTS": ",".join(str(r.port) for r in replicas),
            "SOTERIA_QUERY_SHARE": str(QUERY_SHARE),
            "SOTERIA_PUSH_SHARE": str(PUSH_SHARE),
            "SOTERIA_QUERIES_FILE": str(queries_file),
            "SOTERIA_PUSHERS": ",".join(f"{f}={token(url, p)}" for f, p in pushers.items()),
            "SOTERIA_PUSH_TEMPLATE": data.one_row_template(),
            "SOTERIA_ANALYST_TOKEN": token(url, analyst),
            "SOTERIA_AUDITOR_TOKEN": token(url, auditor),
            "SOTERIA_AUDIT_METHOD": method,
            "SOTERIA_AUDIT_PATH": path,
            "SOTERIA_AUDIT_BODY": body,
        }
        _wrk({**env, "SOTERIA_RUN_ID": "w" + uuid.uuid4().hex[:6]}, url, WARMUP)
        before = _events_by_client(c)
        cpu_before = cpu_seconds(replicas, c.database_url)
        result = _wrk({**env, "SOTERIA_RUN_ID": "m" + uuid.uuid4().hex[:6]}, url, DURATION)
        cpu_after = cpu_seconds(replicas, c.database_url)
        events = _delta(_events_by_client(c), before)
        cpu = {k: cpu_after[k] - cpu_before.get(k, 0.0) for k in cpu_after}
        return _figures(
            cpu,
            result,
            events,
            seeded,
            audit_what,
            analyst.client_id,
            {p.client_id for p in pushers.values()},
            auditor.client_id,
        )


def cpu_seconds(replicas: list[Proc], database_url: str) -> dict[str, float]:
    """CPU time so far of the replicas (with their children) and of their database's
    PostgreSQL backends (found by the database name in their process title)."""
    database = database_url.rsplit("/", 1)[1]
    gateway = 0.0
    for replica in replicas:
        if replica.process is None:
            continue
        with contextlib.suppress(psutil.NoSuchProcess):
            parent = psutil.Process(replica.process.pid)
            for proc in [parent, *parent.children(recursive=True)]:
                times = proc.cpu_times()
                gateway += times.user + times.system
    postgres = 0.0
    for proc in psutil.process_iter(["cmdline"]):
        with contextlib.suppress(psutil.Error):
            if any(database in part for part in proc.info["cmdline"] or ()):
                times = proc.cpu_times()
                postgres += times.user + times.system
    return {"gateway": gateway, "postgres": postgres}


def _figures(
    cpu: dict[str, float],
    result: dict[str, Any],
    events: dict[tuple[str | None, str], int],
    seeded: int,
    audit_what: str,
    analyst: str,
    pushers: set[str],
    auditor: str,
) -> dict[str, Any]:
    seconds = result["duration_us"] / 1e6
    answered: dict[str, int] = result["answered"]
    ok = {
        kind: sum(n for k, n in answered.items() if k.startswith(kind + ":2") and k[-1] != "e")
        for kind in ("query", "push", "audit")
    }
    not_ok = sum(
        n for k, n in answered.items() if not k.split(":")[1].startswith("2") or k[-1] == "e"
    )
    socket_errors = sum(
        result[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts")
    )
    query_events = sum(
        n
        for (client, action), n in events.items()
        if client == analyst and action == "indicators:query"
    )
    push_events = sum(
        n
        for (client, action), n in events.items()
        if client in pushers and action == "submission:create"
    )
    audit_events = sum(n for (client, _), n in events.items() if client == auditor)
    audited_reads = audit_what.startswith("GraphQL")
    missing = {
        "queries": max(0, ok["query"] - query_events),
        "pushes": max(0, ok["push"] - push_events),
        "audit_reads": max(0, ok["audit"] - audit_events) if audited_reads else None,
    }
    latency = {p: v / 1000 for p, v in result["latency_us"].items()}
    requests = max(1, result["requests"])
    cpu_ms = {k: 1000 * v / requests for k, v in cpu.items()}
    total_cpu_ms = sum(cpu_ms.values())
    rps = result["requests"] / seconds
    errors = not_ok + socket_errors
    return {
        "seeded_rows": seeded,
        "replicas": 2,
        "connections": CONNECTIONS,
        "seconds": round(seconds, 1),
        "requests": result["requests"],
        "requests_per_second": round(rps, 1),
        "p50_ms": round(latency["50"], 1),
        "p90_ms": round(latency["90"], 1),
        "p99_ms": round(latency["99"], 1),
        "max_ms": round(result["latency_max_us"] / 1000, 1),
        "errors": errors,
        "error_rate": round(errors / max(1, result["requests"]), 5),
        "issued": result["issued"],
        "answered_ok": ok,
        "cpu_ms_per_request": {
            "gateway": round(cpu_ms["gateway"], 2),
            "postgres": round(cpu_ms["postgres"], 2),
            "total": round(total_cpu_ms, 2),
            "capacity_rps": round(2000 / total_cpu_ms, 0) if total_cpu_ms else None,
        },
        "answered": answered,
        "audit_read": audit_what,
        "audit_events": {
            "queries": query_events,
            "pushes": push_events,
            "audit_reads": audit_events,
        },
        "audit_events_missing": missing,
        "targets": {"rps": TARGET_RPS, "p99_ms": TARGET_P99_MS},
        "invariants_hold": not any(missing.values())
        and not any(k.split(":")[1].startswith("5") for k in answered),
        "met": rps >= TARGET_RPS
        and latency["99"] < TARGET_P99_MS
        and errors == 0
        and not any(missing.values()),
    }
