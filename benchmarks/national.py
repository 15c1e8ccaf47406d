"""The national dataset of issue 4: 2,000,000 synthetic records of all 43 forces, cached.

About ten years of England and Wales RASSO volume (``gateway.demo.synthetic``; no real case
data), split between the forces in proportion to their annual volumes. Each force's history
goes through the real push path (``adapters.store.ingest``, parse and validate included):
the whole file received on ``BASE_DAY``, then ``ROUNDS`` monthly updates in which a
``FRACTION`` of the cases moves on (suspects identified, outcomes, referrals, devices
returned), so ``record_versions`` holds real history for the as-at figures. The rollups are
then built by ``rollup.rebuild`` (the tests pin rebuild == what the hook maintains).

Building takes minutes, so the result is kept as a PostgreSQL *template* database named
after the generator's parameters, ``soteria_bench_cache_national_<key>``, and every run works
on a fresh copy of it (``CREATE DATABASE ... TEMPLATE``), dropped afterwards: a run that
pushes submissions never changes the cache. The cache is brought up to date before it is
copied: migrations are applied (as in production), and the rollups are rebuilt when what
they hold has changed (``ROLLUP_DEFINITION``, bumped with any change to what a rollup row
means; the indicators benchmark checks every cell against the GROUP BY baseline, so stale
rollups cannot pass unnoticed). Caches with other parameters are dropped, so at most one is
kept. Benchmarks of other parts use the same cache, so building and bringing it up to date
is serialised by an advisory lock.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from sqlalchemy import Engine, create_engine, text

from adapters.indicators import rollup
from adapters.store.engine import make_engine
from benchmarks import dataset
from benchmarks.ingest_postgres import push
from benchmarks.scratch import ADMIN_URL, migrated
from gateway import database
from gateway.demo import synthetic
from gateway.demo.volumes import ANNUAL_VOLUMES
from schema import codelists

TOTAL: Final = 2_000_000
YEARS: Final = 10.0
SEED: Final = 20_251_231
END: Final = dataset.END  # the last recorded date
BASE_DAY: Final = END + dt.timedelta(days=1)
ROUNDS: Final = 3
ROUND_DAYS: Final = 30
FRACTION: Final = 0.05
BUILDER_VERSION: Final = 1  # bump when the build procedure changes what is stored
PREFIX: Final = "soteria_bench_cache_national_"
# Bump when what the rollup tables hold changes (layout or meaning): the cache rebuilds them.
ROLLUP_DEFINITION: Final = "2"
_LOCK_KEY: Final = 0x507E21A0  # pg_advisory_lock key: "the national dataset cache"


def round_day(r: int) -> dt.date:
    """The day update round ``r`` (1..ROUNDS) is received; its rows are dated before it."""
    return BASE_DAY + dt.timedelta(days=ROUND_DAYS * r)


def received_at(day: dt.date) -> dt.datetime:
    return dataset.at(day)


def counts() -> dict[str, int]:
    """Rows per force: ``TOTAL`` split by annual volume (largest remainders), summing to it."""
    volumes = {f.code: ANNUAL_VOLUMES[f.code] for f in codelists.forces()}
    whole = sum(volumes.values())
    shares = {code: TOTAL * v / whole for code, v in volumes.items()}
    out = {code: int(share) for code, share in shares.items()}
    left = TOTAL - sum(out.values())
    for code in sorted(shares, key=lambda c: out[c] - shares[c])[:left]:
        out[code] += 1
    return out


def _key() -> str:
    params = [TOTAL, YEARS, SEED, END.isoformat(), ROUNDS, ROUND_DAYS, FRACTION, BUILDER_VERSION]
    return hashlib.sha256(json.dumps(params).encode()).hexdigest()[:10]


def _url(name: str) -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def _rows(force: str, count: int) -> list[synthetic.Row]:
    scale = count / (ANNUAL_VOLUMES[force] * YEARS) * 1.002  # round up, then cut
    generated = synthetic.generate_rows(force, years=YEARS, seed=SEED, end=END, scale=scale)
    rows = list(itertools.islice(generated, count))
    if len(rows) != count:
        raise RuntimeError(f"{force}: {len(rows)} rows generated, {count} wanted")
    return rows


def _build_force(engine: Engine, force: str, count: int, directory: Path) -> tuple[int, int]:
    """Push one force's history; (rows, updates applied)."""
    rows = _rows(force, count)
    body = dataset.write(directory / f"{force}.csv", rows, expect=count)
    result = push(engine, body, force=force, today=BASE_DAY)
    if result.receipt.inserted != count:
        raise RuntimeError(f"{force}: {result.receipt}")
    body.unlink()
    state = {row[0]: row for row in rows}
    updated = 0
    for r in range(1, ROUNDS + 1):
        day = round_day(r)
        moved = list(
            dataset.updates(
                state.values(), seed=SEED + r, fraction=FRACTION, end=day - dt.timedelta(days=1)
            )
        )
        if not moved:
            continue
        body = dataset.write(directory / f"{force}-{r}.csv", moved, expect=len(moved))
        result = push(engine, body, force=force, today=day)
        if result.receipt.updated != len(moved):
            raise RuntimeError(f"{force} round {r}: {result.receipt}")
        body.unlink()
        updated += len(moved)
        state.update((row[0], row) for row in moved)
    return count, updated


def _build(name: str) -> None:
    print(f"  building {name}: {TOTAL:,} records, {ROUNDS} update rounds", flush=True)
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    engine = migrated(_url(name))
    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="soteria-national-") as tmp:
            total_updates = 0
            for force, count in counts().items():
                _, updates = _build_force(engine, force, count, Path(tmp))
                total_updates += updates
                print(f"    {force}: {count:,} rows, {updates:,} updates", flush=True)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE bench_meta (key text PRIMARY KEY, value text)"))
            conn.execute(
                text("INSERT INTO bench_meta VALUES ('updates', :n), ('complete', 'no')"),
                {"n": str(total_updates)},
            )
    except BaseException:
        engine.dispose()
        _drop(name)
        raise
    engine.dispose()
    print(f"  records pushed in {time.perf_counter() - started:.0f} s", flush=True)


def _rebuild_rollups(engine: Engine) -> None:
    started = time.perf_counter()
    rollup.rebuild_all(engine)
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.exec_driver_sql("VACUUM ANALYZE")
    print(f"  rollups rebuilt in {time.perf_counter() - started:.0f} s", flush=True)


def _meta(engine: Engine, key: str) -> str | None:
    with engine.connect() as conn:
        if conn.execute(text("SELECT to_regclass('bench_meta')")).scalar() is None:
            return None
        value = conn.execute(
            text("SELECT value FROM bench_meta WHERE key = :key"), {"key": key}
        ).scalar()
    return None if value is None else str(value)


def _set_meta(engine: Engine, key: str, value: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO bench_meta VALUES (:key, :value) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
            ),
            {"key": key, "value": value},
        )


def _drop(name: str) -> None:
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def _existing() -> list[str]:
    admin = create_engine(ADMIN_URL)
    try:
        with admin.connect() as conn:
            return [
                str(n)
                for n in conn.execute(
                    text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                    {"p": PREFIX + "%"},
                ).scalars()
            ]
    finally:
        admin.dispose()


@contextmanager
def _locked() -> Iterator[None]:
    """Holds the cache's advisory lock (another process may be building or copying it)."""
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as lock:
            lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _LOCK_KEY})
            try:
                yield
            finally:
                lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _LOCK_KEY})
    finally:
        admin.dispose()


def template() -> str:
    """The name of the up-to-date cached template database, built if need be."""
    with _locked():
        return _up_to_date()


def _up_to_date() -> str:
    name = PREFIX + _key()
    for other in _existing():
        if other != name:
            print(f"  dropping an outdated dataset cache {other}", flush=True)
            _drop(other)
    if name in _existing():
        engine = make_engine(_url(name))
        try:
            complete = _meta(engine, "complete")
        finally:
            engine.dispose()
        if complete is None:  # a build that died half-way
            _drop(name)
    if name not in _existing():
        _build(name)
    engine = make_engine(_url(name))
    try:
        if database.current_revision(engine) != database.head_revision(engine):
            database.upgrade(engine)  # a migration that changes the rollups bumps the definition
        if _meta(engine, "rollups") != ROLLUP_DEFINITION:
            _rebuild_rollups(engine)
            _set_meta(engine, "rollups", ROLLUP_DEFINITION)
        _set_meta(engine, "complete", "yes")
    finally:
        engine.dispose()
    return name


@contextmanager
def copy() -> Iterator[str]:
    """The URL of a fresh copy of the national dataset, dropped on exit."""
    name = f"soteria_bench_national_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with _locked():
            source = _up_to_date()
            started = time.perf_counter()
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{source}"'))
        print(f"  dataset copied in {time.perf_counter() - started:.0f} s", flush=True)
        try:
            yield _url(name)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


if __name__ == "__main__":
    print(template())
