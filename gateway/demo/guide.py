"""What ``soteria demo`` prints once it is ready: where things are, credentials, a query.

The example query asks for the last complete financial year by quarter (so it has data
whatever day the demo runs), two indicators, and the national and regional totals beside
the 43 forces. Its request body is also written to ``<var>/demo-query.json`` so the
printed ``curl`` line needs no shell quoting.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path

from gateway.demo.clients import SHOWCASE_FORCES, DemoClient
from gateway.demo.nodes import DemoNode

READY_LINE = "Soteria Exchange demo is running on"
QUERY_HEADING = "Example query (GraphiQL, or the curl line below it):"
PURPOSE = "performance-monitoring"


def last_financial_year(today: dt.date) -> tuple[dt.date, dt.date]:
    """First and last day of the last financial year (April to March) that has ended."""
    end_year = today.year if today.month >= 4 else today.year - 1
    return dt.date(end_year - 1, 4, 1), dt.date(end_year, 3, 31)


def example_query(today: dt.date) -> str:
    start, end = last_financial_year(today)
    return (
        "{\n"
        f'  indicatorTable(granularity: QUARTER, from: "{start}", to: "{end}",\n'
        '                 indicators: ["recorded_offences", "charge_outcome_share"],\n'
        "                 groups: [NATIONAL, REGION]) {\n"
        "    cells { indicator force group period { label } value numerator denominator "
        "suppressed note }\n"
        "    coverage { included missing { force reason } }\n"
        "  }\n"
        "}"
    )


def write_query_body(var_dir: Path, query: str) -> Path:
    path = var_dir / "demo-query.json"
    path.write_text(json.dumps({"query": query}), encoding="utf-8")
    return path


def render(
    base_url: str,
    clients: Mapping[str, DemoClient],
    nodes: Mapping[str, DemoNode],
    *,
    query: str,
    query_body: Path,
) -> str:
    analyst = clients["analyst"]
    lines = [
        "",
        f"{READY_LINE} {base_url}",
        *(
            f"  force node for {n.force}: {n.url} (its own database and process)"
            for n in nodes.values()
        ),
        "Synthetic data only (docs/synthetic-data.md). Demo clients (also in var/):",
    ]
    for role in ("analyst", "analyst-exact", "auditor", *(f"force:{f}" for f in SHOWCASE_FORCES)):
        c = clients[role]
        lines.append(f"  {role:22} {c.scopes:48} id={c.client_id} secret={c.client_secret}")
    token_command = (
        f"curl -s -u '{analyst.client_id}:{analyst.client_secret}' "
        f"-d grant_type=client_credentials {base_url}/oauth/token"
    )
    lines += [
        "",
        "Get a token as the analyst (GraphiQL asks for the access_token):",
        f"  {token_command}",
        "",
        QUERY_HEADING,
        *(f"  {line}" for line in query.splitlines()),
        "",
        f"  TOKEN=$({token_command} | python3 -c 'import json,sys; "
        'print(json.load(sys.stdin)["access_token"])\')',
        f'  curl -s {base_url}/graphql -H "Authorization: Bearer $TOKEN" '
        f"-H 'Soteria-Purpose: {PURPOSE}' -H 'Content-Type: application/json' "
        f"--data @{query_body}",
        "",
        f"GraphiQL: {base_url}/graphql (paste the token; it sends Soteria-Purpose for you).",
        "Press Ctrl-C to stop.",
    ]
    return "\n".join(lines)
