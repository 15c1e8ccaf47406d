"""Benchmark 5 (issue 5): indicator queries through HTTP with a real token.

On a copy of the national dataset (``benchmarks.national``: 2,000,000 synthetic records of
all 43 forces in PostgreSQL), the real application (``create_app``) is served by one
uvicorn worker in a subprocess (``python -m benchmarks.http_query serve``), with three
plain Starlette routes added in this benchmark only (``LIMIT_ROUTES``). Each asks the
same ``IndicatorService`` for the same table, with the same viewer, and answers with
orjson: ``/bench/table-serialised`` serialises the cells' rows on every request (the
issue's limit: "the same cells read from the same store and serialised with orjson by a
plain Starlette JSON route"); ``/bench/table`` sends the same pre-serialised bytes the
cached table keeps for the GraphQL ``rows`` field (a stricter limit: no serialisation
at all); ``/bench/table-audited`` does that and writes the audit event the GraphQL route
writes for every disclosure (the same trail, digest and durable commit). A client
with ``indicators:read`` gets a real token from ``/oauth/token``; ``wrk`` (Debian package)
drives every figure with ``benchmarks/http_query.lua`` (token, ``Soteria-Purpose``,
body; it counts GraphQL ``errors`` in 200 answers). The rate limit is raised to 100,000/s
so the figures measure the work, not the throttle (the shared bucket still costs its
round trip, once per batch). Figures:

(a) the national table (43 forces, 8 quarters, every indicator, national totals): p50 of
    one connection (``wrk -c1``) for the GraphQL fast form (``rows``), the three plain
    routes and the typed ``cells`` form, in alternating rounds; the fast form's ratio to
    each plain route, the target judged against the issue's limit and the strict one
    reported beside it (``met_strict``);
(b) one force, one quarter, every indicator: requests per second on the one worker
    (``wrk -t2 -c16``), typed ``cells`` and ``rows``, with the plain route for scale;
(c) fan-out over 43 sources in process (``benchmarks.fanout``): each source sleeps a known
    latency (20 to 41 ms) and decodes its force's real partials from the node wire
    format, as a remote source does after the network; the overhead is the
    ``IndicatorService.table`` time minus the slowest source called alone, both medians;
(d) per-request costs measured in process: an audit event written (``append_standalone``)
    and a GraphQL document from the parsed-document cache against parsing and validating.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import httpx
import orjson
from sqlalchemy.orm import Session

from auth.clients import create_client
from benchmarks import fanout, national
from benchmarks.http_stream import _free_port, _stop, _wait_ready
from benchmarks.measure import Series, load
from schema import codelists

HERE: Final = Path(__file__).resolve().parent
LUA: Final = HERE / "http_query.lua"
PURPOSE: Final = "performance-monitoring"
NATIONAL: Final = {"granularity": "QUARTER", "from": "2024-01-01", "to": "2025-12-31"}
ONE_FORCE: Final = "kent"
ONE_QUARTER: Final = {
    "granularity": "QUARTER",
    "from": "2025-10-01",
    "to": "2025-12-31",
    "forces": [ONE_FORCE],
}
ROWS_QUERY: Final = """query Table($granularity: Granularity!, $from: Date!, $to: Date!,
                 $forces: [ID!]) {
  indicatorTable(granularity: $granularity, from: $from, to: $to, forces: $forces) {
    columns rows coverage { included missing { force reason } }
  }
}"""
CELLS_QUERY: Final = """query Cells($granularity: Granularity!, $from: Date!, $to: Date!,
                 $forces: [ID!]) {
  indicatorTable(granularity: $granularity, from: $from, to: $to, forces: $forces) {
    cells { indicator force group period { label start end } breakdown value numerator
            denominator suppressed exact note }
    coverage { included missing { force reason } }
  }
}"""
# The plain routes served beside the app: form -> (path, serialise rows per request?, audit?)
LIMIT_ROUTES: Final = {
    "plain_route": ("/bench/table", False, False),
    "plain_serialised": ("/bench/table-serialised", True, False),
    "plain_audited": ("/bench/table-audited", False, True),
}
TARGET_P50_MS: Final = 20.0
TARGET_RATIO: Final = 2.0
TARGET_RPS: Final = 300.0
LATENCY_SECONDS: Final = 8
LATENCY_ROUNDS: Final = 3
LOAD_SECONDS: Final = 15
LOAD_CONNECTIONS: Final = 16


# --- the benchmark app (served in a subprocess) ---------------------------------------


def serve(argv: Sequence[str]) -> None:
    """``create_app`` from the environment plus the plain JSON route, on one worker."""
    import uvicorn
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from auth.guard import require
    from auth.policy import Action, sees_exact
    from gateway import audit_log
    from gateway.app import create_app
    from gateway.audit import Outcome
    from gateway.audit.tally import DisclosureTally
    from gateway.graphql.body_digest import BodyDigests
    from gateway.graphql_context import declared_purpose, tally_table
    from gateway.indicators.service import IndicatorService, Viewer
    from gateway.services import services_of
    from gateway.serving import settle_heap
    from gateway.settings import Settings
    from schema.graphql.query import table_query
    from schema.tables import IndicatorTable

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)

    digests = BodyDigests()
    settings = Settings.from_env()

    def limit_route(*, serialise: bool, audit: bool) -> Callable[[Request], Awaitable[Response]]:
        """The same table from the same ``IndicatorService``, as a plain JSON route would
        serve it: ``serialise`` its rows with orjson on every request (the issue's limit)
        or send the pre-serialised rows the GraphQL ``rows`` field sends (the strict one);
        with ``audit``, write the audit event the GraphQL route writes for it."""

        async def route(request: Request) -> Response:
            principal = require(request, Action.READ_INDICATORS)
            service: IndicatorService = services_of(request).extras["indicators"]
            params = request.query_params
            query = table_query(
                granularity=params["granularity"],
                from_=dt.date.fromisoformat(params["from"]),
                to=dt.date.fromisoformat(params["to"]),
                forces=params.getlist("forces") or None,
            )
            viewer = Viewer(own_force=principal.force, exact_everything=sees_exact(principal, None))

            def work() -> bytes:
                table = service.table(query, viewer)
                rows = table.rows_json()
                body = orjson.dumps(
                    {
                        "columns": IndicatorTable.COLUMNS,
                        "rows": table.rows() if serialise else orjson.Fragment(rows),
                        "coverage": {
                            "included": table.coverage.included,
                            "missing": [
                                {"force": m.force, "reason": m.reason}
                                for m in table.coverage.missing
                            ],
                        },
                    }
                )
                if audit:
                    tally = DisclosureTally()
                    tally_table(tally, table)
                    event = audit_log.event(
                        request,
                        "indicators:query",
                        Outcome.ALLOWED,
                        forces=sorted(tally.forces),
                        periods=sorted(tally.periods),
                        purpose=declared_purpose(request, settings.purposes),
                        disclosure=tally.disclosure(digests.sha256(body, [rows])),
                    )
                    audit_log.standalone(request, event)
                return body

            body = await run_in_threadpool(work)
            return Response(body, media_type="application/json")

        return route

    app = create_app(settings)
    for path, serialise, audit in LIMIT_ROUTES.values():
        route = limit_route(serialise=serialise, audit=audit)
        app.router.routes.insert(0, Route(path, route, methods=["GET"]))
    settle_heap()  # as ``soteria serve`` does
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


# --- driving it with wrk -------------------------------------------------------------------


@dataclass(frozen=True)
class WrkResult:
    requests: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    bad_status: int
    graphql_errors: int


_UNITS: Final = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([0-9.]+)([a-z]+)", text.strip()).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def wrk(
    url: str,
    token: str,
    *,
    body: bytes | None,
    seconds: int,
    connections: int,
    threads: int,
    work: Path,
) -> WrkResult:
    """One ``wrk`` run (POST with ``body``, else GET); raises if wrk is missing or fails."""
    binary = shutil.which("wrk")
    if binary is None:
        raise RuntimeError("wrk is not installed: apt-get install -y wrk")
    env = {**os.environ, "SOTERIA_TOKEN": token, "SOTERIA_PURPOSE": PURPOSE}
    if body is not None:
        body_file = work / "body.json"
        body_file.write_bytes(body)
        env["SOTERIA_BODY_FILE"] = str(body_file)
    else:
        env.pop("SOTERIA_BODY_FILE", None)
    command = [binary, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    command += ["--timeout", "10s", "-s", str(LUA), url]
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=seconds + 60, check=True
    )
    out = done.stdout

    def find(pattern: str, default: str | None = None) -> str:
        match = re.search(pattern, out)
        if match is None:
            if default is not None:
                return default
            raise RuntimeError(f"unexpected wrk output:\n{out}\n{done.stderr}")
        return match.group(1)

    return WrkResult(
        requests=int(find(r"(\d+) requests in")),
        requests_per_second=float(find(r"Requests/sec:\s+([0-9.]+)")),
        p50_ms=_ms(find(r"\s50%\s+(\S+)")),
        p99_ms=_ms(find(r"\s99%\s+(\S+)")),
        bad_status=int(find(r"Non-2xx or 3xx responses: (\d+)", "0")),
        graphql_errors=int(find(r"graphql_errors (\d+)", "0")),
    )


def _graphql_body(query: str, variables: dict[str, Any]) -> bytes:
    return orjson.dumps({"query": query, "variables": variables})


def _plain_url(base: str, variables: dict[str, Any], form: str = "plain_route") -> str:
    params = httpx.QueryParams(
        [(k, v) for k, v in variables.items() if k != "forces"]
        + [("forces", f) for f in variables.get("forces", [])]
    )
    return f"{base}{LIMIT_ROUTES[form][0]}?{params}"


def _check_same_rows(http: httpx.Client, base: str, token: str, variables: dict[str, Any]) -> int:
    """The GraphQL fast form and every plain route serve the same rows; returns how many."""
    headers = {"Authorization": f"Bearer {token}", "Soteria-Purpose": PURPOSE}
    graphql = http.post(
        "/graphql",
        content=_graphql_body(ROWS_QUERY, variables),
        headers=headers | {"Content-Type": "application/json"},
    ).json()
    if "errors" in graphql:
        raise RuntimeError(f"the GraphQL query failed: {graphql['errors']}")
    table = graphql["data"]["indicatorTable"]
    for form in LIMIT_ROUTES:
        plain = http.get(_plain_url(base, variables, form), headers=headers).json()
        if (
            table["rows"] != plain["rows"]
            or table["coverage"]["included"] != plain["coverage"]["included"]
        ):
            raise RuntimeError(f"{form} and GraphQL disagree: not the same work")
    if len(table["coverage"]["included"]) != len(variables.get("forces") or codelists.forces()):
        raise RuntimeError(f"forces missing from the table: {table['coverage']['missing']}")
    return len(plain["rows"])


def _serve(url: str, var_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SOTERIA_DATABASE_URL": url,
        "SOTERIA_VAR_DIR": str(var_dir),
        "SOTERIA_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "SOTERIA_RATE_LIMIT_PER_SECOND": "100000",
        "SOTERIA_RATE_LIMIT_BURST": "100000",
        # The first national table is computed cold from 2,000,000 records (seconds); it
        # must not time out before the figures, which are of the cached steady state.
        "SOTERIA_SOURCE_TIMEOUT_SECONDS": "300",
    }
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "benchmarks.http_query", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=HERE.parent,
        )


def _token(http: httpx.Client, url: str) -> str:
    from adapters.store.engine import make_engine

    engine = make_engine(url)
    try:
        with Session(engine) as session:
            client = create_client(
                session, name="benchmark analyst", scopes=["indicators:read"], force=None
            )
            session.commit()
    finally:
        engine.dispose()
    assert client.client_secret is not None
    response = http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client.client_id, client.client_secret),
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def _latency(base: str, token: str, work: Path, rows: int) -> dict[str, Any]:
    """(a): p50 of one connection, alternating rounds of every form and limit route."""
    forms = {
        "graphql_rows": (f"{base}/graphql", _graphql_body(ROWS_QUERY, NATIONAL)),
        **{name: (_plain_url(base, NATIONAL, name), None) for name in LIMIT_ROUTES},
        "graphql_cells": (f"{base}/graphql", _graphql_body(CELLS_QUERY, NATIONAL)),
    }
    p50: dict[str, Series] = {name: Series() for name in forms}
    ratios: dict[str, Series] = {name: Series() for name in LIMIT_ROUTES}
    runs: dict[str, list[WrkResult]] = {name: [] for name in forms}
    for _ in range(LATENCY_ROUNDS):
        for name, (url, body) in forms.items():
            result = wrk(
                url, token, body=body, seconds=LATENCY_SECONDS, connections=1, threads=1, work=work
            )
            if result.bad_status or result.graphql_errors:
                raise RuntimeError(f"{name}: {result}")
            runs[name].append(result)
            p50[name].add(result.p50_ms)
        for name, series in ratios.items():
            series.add(p50["graphql_rows"].values[-1] / p50[name].values[-1])
    rows_p50 = p50["graphql_rows"].median
    ratio = {name: round(series.median, 2) for name, series in ratios.items()}
    return {
        "rows": rows,
        "p50_ms": {name: round(series.median, 2) for name, series in p50.items()},
        "p50_rounds_ms": {name: series.rounded(2) for name, series in p50.items()},
        "p99_ms": {name: round(max(r.p99_ms for r in rs), 1) for name, rs in runs.items()},
        "requests": {name: sum(r.requests for r in rs) for name, rs in runs.items()},
        # Against the limit: the same cells serialised with orjson by a plain route.
        "ratio": ratio["plain_serialised"],
        "ratios": ratios["plain_serialised"].rounded(2),
        "ratio_to": ratio,
        "ratios_to": {name: series.rounded(2) for name, series in ratios.items()},
        "target_p50_ms": TARGET_P50_MS,
        "target_ratio": TARGET_RATIO,
        "met": rows_p50 < TARGET_P50_MS and ratio["plain_serialised"] <= TARGET_RATIO,
        "met_strict": rows_p50 < TARGET_P50_MS and ratio["plain_route"] <= TARGET_RATIO,
    }


def _throughput(base: str, token: str, work: Path) -> dict[str, Any]:
    """(b): requests per second on one worker, one force and one quarter."""
    forms = {
        "graphql_cells": (f"{base}/graphql", _graphql_body(CELLS_QUERY, ONE_QUARTER)),
        "graphql_rows": (f"{base}/graphql", _graphql_body(ROWS_QUERY, ONE_QUARTER)),
        "plain_route": (_plain_url(base, ONE_QUARTER), None),
    }
    figures: dict[str, Any] = {}
    for name, (url, body) in forms.items():
        wrk(url, token, body=body, seconds=2, connections=4, threads=1, work=work)  # warm
        result = wrk(
            url,
            token,
            body=body,
            seconds=LOAD_SECONDS,
            connections=LOAD_CONNECTIONS,
            threads=2,
            work=work,
        )
        if result.bad_status or result.graphql_errors:
            raise RuntimeError(f"{name}: {result}")
        figures[name] = {
            "requests_per_second": round(result.requests_per_second),
            "p50_ms": round(result.p50_ms, 2),
            "p99_ms": round(result.p99_ms, 1),
            "requests": result.requests,
        }
    best = figures["graphql_cells"]["requests_per_second"]
    return {
        "force": ONE_FORCE,
        "connections": LOAD_CONNECTIONS,
        "seconds": LOAD_SECONDS,
        **figures,
        "target_rps": TARGET_RPS,
        "met": best >= TARGET_RPS,
    }


def run() -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="soteria-bench-") as tmp,
        national.copy() as url,
    ):
        work = Path(tmp)
        (work / "var").mkdir()
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        log = work / "server.log"
        server = _serve(url, work / "var", port, log)
        try:
            _wait_ready(base, server, log)
            with httpx.Client(base_url=base, timeout=120) as http:
                token = _token(http, url)
                started = time.perf_counter()
                rows = _check_same_rows(http, base, token, NATIONAL)
                cold = time.perf_counter() - started
                _check_same_rows(http, base, token, ONE_QUARTER)
            before = load()
            figures: dict[str, Any] = {"load_average": before}
            figures["national_cold_seconds"] = round(cold, 1)
            figures["national"] = _latency(base, token, work, rows)
            figures["one_force"] = _throughput(base, token, work)
        finally:
            _stop(server)
        figures["fanout"] = fanout.run(url)
        figures["per_request"] = fanout.per_request_costs(url, CELLS_QUERY)
    return figures


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        serve(sys.argv[2:])
    else:
        print(orjson.dumps(run(), option=orjson.OPT_INDENT_2).decode())
