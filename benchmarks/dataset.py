"""The synthetic bodies the benchmarks push (``gateway.demo.synthetic``: no real case data).

Rows are generated for one force with a fixed seed and end date, so every run pushes the
same bytes; ``today`` is the day after ``END`` so every date is in the past.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Final

from gateway.demo import synthetic
from gateway.demo.volumes import ANNUAL_VOLUMES

END: Final = dt.date(2025, 12, 31)
SEED: Final = 20_251_231
CHUNK_BYTES: Final = 64 * 1024
YEARS: Final = 7.0

Row = tuple[str, ...]


def rows(force: str, count: int, *, seed: int = SEED, end: dt.date = END) -> Iterator[Row]:
    """Exactly ``count`` rows for ``force``, recorded over the ``YEARS`` up to ``end``."""
    scale = count / (ANNUAL_VOLUMES[force] * YEARS) * 1.001  # round up, then cut
    generated = synthetic.generate_rows(force, years=YEARS, seed=seed, end=end, scale=scale)
    return itertools.islice(generated, count)


def updates(base: Iterable[Row], *, seed: int, fraction: float, end: dt.date) -> Iterator[Row]:
    """A later version of about ``fraction`` of ``base`` (``synthetic.update_rows``)."""
    return synthetic.update_rows(base, seed=seed, fraction=fraction, end=end)


def write(path: Path, data: Iterable[Row], *, expect: int | None = None) -> Path:
    """A standard CSV body (header = the standard's fields) of ``expect`` rows if given."""
    count = synthetic.write_csv(path, data)
    if expect is not None and count != expect:
        raise RuntimeError(f"{path.name}: {count} rows written, {expect} wanted")
    return path


def chunks(path: Path, size: int = CHUNK_BYTES) -> Iterator[bytes]:
    """The body as an upload delivers it: chunk by chunk, never whole."""
    with path.open("rb") as body:
        while chunk := body.read(size):
            yield chunk


def at(day: dt.date) -> dt.datetime:
    """Noon UTC of ``day``: the clock an ingestion is given."""
    return dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
