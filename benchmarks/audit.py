"""Benchmark 6 (issue 6): verifying the audit trail, and what auditing costs a request.

(a) ``soteria audit verify`` speed: 200,000 varied events (GraphQL queries with their
    disclosure, token events, pushes, refusals) in a scratch PostgreSQL database, then
    ``gateway.audit.verify`` three times; the figure is the median rate. The events are
    exactly what ``AuditTrail.append`` writes (the same canonical fields and hashes), but
    inserted in bulk with the append-only triggers suspended by the scratch database's
    superuser, because 200,000 single appends would take minutes. The same-run limit is
    reading the same rows with no checking at all: the same query, the same binary
    server-side cursor and batch size (``ranges.stream_rows``), only counted. Rates are
    given in wall-clock time and in CPU time of the verifying process: on a shared host
    the wall clock says as much about the neighbours as about the code. Target: over
    100,000 events/s.
(b) the cost of auditing a GraphQL request: the same ``indicatorTable`` query (one force,
    one month, every indicator; a real token, a declared purpose) through two apps from
    ``create_app`` on the same database, in alternating blocks of sequential requests
    (``httpx`` over ``ASGITransport``). One app is as built; in the other the trail's
    ``append_standalone`` builds the event and its canonical hash but writes nothing
    (``UnwrittenTrail``). The difference is the whole cost of writing the event; the
    ratio is the median of the blocks' ratios. The same-run limit for the write is one
    durable commit: a one-row insert into a scratch table, committed, timed the same
    number of times (an audit event must be on disk before the response leaves, so no
    audited request can cost less than one commit more than an unaudited one).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Final

import httpx
from sqlalchemy import Engine, insert, update
from sqlalchemy.orm import Session

from auth.clients import create_client
from benchmarks.measure import Series
from benchmarks.scratch import migrated, postgres_database
from gateway.app import create_app
from gateway.audit import (
    GENESIS_HASH,
    Actor,
    AuditEvent,
    AuditSettings,
    AuditTrail,
    Disclosure,
    Outcome,
    Purpose,
    RequestContext,
    StoredEvent,
    digest_bytes,
    digest_operation,
    open_trail,
    verify,
)
from gateway.audit.canonical import hash_fields, join_list
from gateway.audit.models import EVENTS, HEAD
from gateway.audit.ranges import snapshot, stream_rows
from gateway.forces_config import ForcesConfig
from gateway.services import Services
from gateway.settings import Settings
from schema import codelists
from schema.record import FIELD_NAMES

EVENT_COUNT: Final = 200_000
INSERT_BATCH: Final = 10_000
VERIFY_BATCH: Final = 10_000
TARGET_EVENTS_PER_SECOND: Final = 100_000
PUBLIC_URL: Final = "http://127.0.0.1:8000"
FORCE: Final = "kent"
BLOCK: Final = 10
COMMITS: Final = 200
QUERY: Final = """
query Month {
  indicatorTable(forces: ["kent"], granularity: MONTH, from: "2024-05-01", to: "2024-05-01") {
    rows suppressedCells coverage { included }
  }
}
"""


def _templates() -> list[AuditEvent]:
    """A dozen events shaped like the real ones (sizes, digests, lists of forces)."""
    forces = [f.code for f in codelists.forces()]
    return [
        AuditEvent(
            action=("indicators:query", "auth:token:issued", "submission:create")[i % 3],
            outcome=(Outcome.ALLOWED, Outcome.ALLOWED, Outcome.DENIED)[i % 3],
            actor=Actor(f"sx_client{i % 5}", f"sx_client{i % 5}", PUBLIC_URL, forces[i]),
            scopes=("indicators:read", "submissions:read")[: 1 + i % 2],
            purpose=Purpose("performance-monitoring", f"board pack {i}") if i % 2 else None,
            forces=tuple(forces[: 1 + i * 3]),
            periods=tuple(f"2024/25_Q{q}" for q in range(1, 1 + i % 5)),
            operation=f"Operation{i}",
            query_sha256=digest_operation(digest_bytes(b"q%d" % i), None),
            disclosure=Disclosure(i * 40, i * 37, i * 3, digest_bytes(b"r%d" % i)),
            request=RequestContext(f"{i:032x}", f"{i + 1:032x}", f"{i + 1:016x}", "10.0.0.7"),
            reason=None if i % 3 != 2 else "insufficient_scope",
        )
        for i in range(12)
    ]


def _fill(engine: Engine, count: int) -> None:
    """``count`` events forming one valid chain, as ``AuditTrail.append`` would write them."""
    templates = _templates()
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    prev, rows = GENESIS_HASH, []
    with engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")  # superuser only
        for seq in range(1, count + 1):
            event = templates[seq % len(templates)]
            when = start + dt.timedelta(milliseconds=seq)
            fields = event.canonical_fields(seq=seq, occurred_at=when, prev_hash=prev)
            prev = hash_fields(fields)
            rows.append(
                {
                    **fields,
                    "occurred_at": when,
                    "scopes": join_list(event.scopes),
                    "forces": join_list(event.forces),
                    "periods": join_list(event.periods),
                    "event_hash": prev,
                }
            )
            if len(rows) == INSERT_BATCH:
                conn.execute(insert(EVENTS), rows)
                rows = []
        if rows:
            conn.execute(insert(EVENTS), rows)
        conn.execute(update(HEAD).values(seq=count, head_hash=prev))
        conn.exec_driver_sql("SET LOCAL session_replication_role = DEFAULT")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE audit_events")


def _stream_only(engine: Engine) -> int:
    with snapshot(engine) as conn:
        return sum(len(batch) for batch in stream_rows(conn, VERIFY_BATCH))


def _rates(work: Any) -> tuple[float, float, Any]:
    """(events per wall second, per CPU second of this process, result)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    count = result if isinstance(result, int) else result.events_checked
    return (
        count / (time.perf_counter() - wall),
        count / max(time.process_time() - cpu, 1e-9),
        result,
    )


def _verify_speed(url: str) -> dict[str, Any]:
    engine = migrated(url)
    try:
        started = time.perf_counter()
        _fill(engine, EVENT_COUNT)
        fill_seconds = time.perf_counter() - started
        verify_wall, verify_cpu, stream_wall, stream_cpu = Series(), Series(), Series(), Series()
        for _ in range(3):
            wall, cpu, _count = _rates(lambda: _stream_only(engine))
            stream_wall.add(wall)
            stream_cpu.add(cpu)
            wall, cpu, report = _rates(lambda: verify(engine, {}, batch_size=VERIFY_BATCH))
            if not report.ok or report.events_checked != EVENT_COUNT:
                raise RuntimeError(f"the benchmark chain did not verify: {report.breaks}")
            verify_wall.add(wall)
            verify_cpu.add(cpu)
    finally:
        engine.dispose()
    rate = verify_wall.median
    return {
        "events": EVENT_COUNT,
        "fill_seconds": round(fill_seconds, 1),
        "verify_per_second": round(rate),
        "verify_per_cpu_second": round(verify_cpu.median),
        "verify_rates": [round(v) for v in verify_wall.values],
        "stream_per_second": round(stream_wall.median),
        "stream_per_cpu_second": round(stream_cpu.median),
        "ratio_to_stream": round(rate / stream_wall.median, 3),
        "target": TARGET_EVENTS_PER_SECOND,
        "met": rate > TARGET_EVENTS_PER_SECOND,
        "met_in_cpu_time": verify_cpu.median > TARGET_EVENTS_PER_SECOND,
    }


class UnwrittenTrail(AuditTrail):
    """The control: builds each event and its canonical hash, writes nothing."""

    def append_standalone(self, engine: Engine, event: AuditEvent) -> StoredEvent:
        now = self.now()
        fields = event.canonical_fields(seq=0, occurred_at=now, prev_hash=GENESIS_HASH)
        return StoredEvent.from_canonical(fields, hash_fields(fields))


def _settings(url: str, var_dir: Path) -> Settings:
    return Settings(
        database_url=url,
        var_dir=var_dir,
        public_url=PUBLIC_URL,
        rate_limit_per_second=1_000_000.0,
        rate_limit_burst=1_000_000,
    )


async def _block_ms(http: httpx.AsyncClient, headers: dict[str, str]) -> float:
    start = time.perf_counter()
    for _ in range(BLOCK):
        response = await http.post("/graphql", json={"query": QUERY}, headers=headers)
        if response.status_code != 200 or "errors" in response.json():
            raise RuntimeError(f"GraphQL: {response.status_code} {response.text[:300]}")
    return (time.perf_counter() - start) / BLOCK * 1000


def _commit_ms(engine: Engine) -> float:
    """Median time of a minimal durable write: one row inserted and committed."""
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS bench_commit (n integer)")
    times = Series()
    for n in range(COMMITS):
        start = time.perf_counter()
        with engine.begin() as conn:
            conn.exec_driver_sql(f"INSERT INTO bench_commit VALUES ({n})")
        times.add((time.perf_counter() - start) * 1000)
    return times.median


def _csv(rows: int) -> bytes:
    header = ",".join(FIELD_NAMES)
    lines = []
    for i in range(rows):
        values = dict.fromkeys(FIELD_NAMES, "")
        values |= {
            "crime_ref": f"B{i:05d}",
            "offence_code": ("19C", "19D", "20A")[i % 3],
            "recorded_date": f"2024-05-{1 + i % 28:02d}",
            "updated_at": "2024-06-01T10:00:00+00:00",
        }
        lines.append(",".join(values[name] for name in FIELD_NAMES))
    return ("\n".join([header, *lines]) + "\n").encode()


async def _request_cost(url: str, var_dir: Path, blocks: int) -> dict[str, Any]:
    settings = _settings(url, var_dir)
    engine = migrated(url)
    real = open_trail(AuditSettings.from_settings(settings))
    try:
        with Session(engine) as session:
            analyst = create_client(
                session, name="bench analyst", scopes=["indicators:read"], force=None
            )
            pusher = create_client(
                session, name="bench push", scopes=["records:write"], force=FORCE
            )
            session.commit()
        audited = create_app(settings, services=Services(settings, engine, ForcesConfig()))
        control_services = Services(settings, engine, ForcesConfig())
        control_services.extras["audit"] = UnwrittenTrail(real.signer)
        control = create_app(settings, services=control_services)
        async with (
            audited.router.lifespan_context(audited),
            control.router.lifespan_context(control),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=audited), base_url=PUBLIC_URL
            ) as http,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=control), base_url=PUBLIC_URL
            ) as control_http,
        ):
            tokens = []
            for client in (analyst, pusher):
                response = await http.post(
                    "/oauth/token",
                    data={"grant_type": "client_credentials"},
                    auth=(client.client_id, client.client_secret or ""),
                )
                response.raise_for_status()
                tokens.append(response.json()["access_token"])
            pushed = await http.post(
                f"/v1/forces/{FORCE}/submissions",
                content=_csv(500),
                headers={
                    "Authorization": f"Bearer {tokens[1]}",
                    "Idempotency-Key": "bench",
                    "Content-Type": "text/csv",
                },
            )
            pushed.raise_for_status()
            headers = {
                "Authorization": f"Bearer {tokens[0]}",
                "Soteria-Purpose": "performance-monitoring",
            }
            with_audit, without_audit, ratios = Series(), Series(), Series()
            for _ in range(2):  # warm both: pools, caches, the document cache
                await _block_ms(http, headers)
                await _block_ms(control_http, headers)
            for _ in range(blocks):
                with_audit.add(await _block_ms(http, headers))
                without_audit.add(await _block_ms(control_http, headers))
                ratios.add(with_audit.values[-1] / without_audit.values[-1])
        commit_ms = _commit_ms(engine)
    finally:
        engine.dispose()
    write_ms = with_audit.median - without_audit.median
    return {
        "query": "indicatorTable, one force, one month, every indicator (rows)",
        "with_audit_ms": round(with_audit.median, 2),
        "without_audit_ms": round(without_audit.median, 2),
        "audit_write_ms": round(write_ms, 2),
        "commit_ms": round(commit_ms, 2),
        "write_per_commit": round(write_ms / commit_ms, 2),
        "ratio": round(statistics.median(ratios.values), 3),
        "ratios": ratios.rounded(3),
        "requests_per_block": BLOCK,
    }


def run(blocks: int = 25) -> dict[str, Any]:
    with postgres_database("audit") as url:
        speed = _verify_speed(url)
    with (
        tempfile.TemporaryDirectory(prefix="soteria-bench-") as tmp,
        postgres_database("auditreq") as url,
    ):
        cost = asyncio.run(_request_cost(url, Path(tmp), blocks))
    return {"verify": speed, "graphql_request": cost}
