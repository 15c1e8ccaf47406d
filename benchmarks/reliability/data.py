"""Synthetic records for the harnesses (``gateway.demo.synthetic``: no real case data)."""

from __future__ import annotations

import concurrent.futures
import csv
import io
from collections.abc import Iterable
from typing import Final

import httpx

from benchmarks import dataset
from benchmarks.reliability.cluster import Cluster, token
from gateway.demo import synthetic
from schema import codelists
from schema.record import FIELD_NAMES

END: Final = dataset.END


def csv_body(rows: Iterable[tuple[str, ...]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELD_NAMES)
    writer.writerows(rows)
    return out.getvalue().encode()


def force_rows(force: str, *, years: float, scale: float, seed: int) -> list[tuple[str, ...]]:
    return [
        tuple(row)
        for row in synthetic.generate_rows(force, years=years, seed=seed, end=END, scale=scale)
    ]


def one_row_template() -> str:
    """A valid one-record CSV whose crime_ref is ``{REF}`` (the load test fills it in)."""
    values = dict.fromkeys(FIELD_NAMES, "")
    values.update(
        crime_ref="{REF}",
        offence_code="19C",
        recorded_date="2025-06-02",
        victim_sex="F",
        victim_age_band="25-34",
        updated_at="2025-06-02T10:00:00+00:00",
    )
    return ",".join(FIELD_NAMES) + "\n" + ",".join(values[n] for n in FIELD_NAMES) + "\n"


def seed_all_forces(cluster: Cluster, *, years: float, scale: float) -> int:
    """Push every force's synthetic file through the real push path; returns the rows."""
    return seed_forces(cluster, [f.code for f in codelists.forces()], years=years, scale=scale)


def seed_forces(cluster: Cluster, forces: list[str], *, years: float, scale: float) -> int:
    """Push these forces' synthetic files through the real push path; returns the rows."""
    urls = [r.url for r in cluster.replicas]

    def push(index: int, force: str) -> int:
        creds = cluster.register(f"seed {force}", "records:write", force)
        url = urls[index % len(urls)]
        body = csv_body(force_rows(force, years=years, scale=scale, seed=2024))
        response = httpx.post(
            f"{url}/v1/forces/{force}/submissions",
            content=body,
            headers={
                "Authorization": f"Bearer {token(url, creds)}",
                "Content-Type": "text/csv",
                "Idempotency-Key": f"seed-{force}",
            },
            timeout=300,
        )
        if response.status_code != 201:
            raise RuntimeError(f"seeding {force}: {response.status_code} {response.text[:300]}")
        rows: int = response.json()["rows"]
        return rows

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(urls)) as pool:
        return sum(pool.map(push, range(len(forces)), forces))
