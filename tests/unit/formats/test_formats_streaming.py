"""Bodies are streamed: memory stays flat however many rows arrive."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Callable, Iterator

import pytest

from adapters.formats import get_format
from schema.record import FIELD_NAMES

CSV_ROWS = 200_000  # about 30 MB
JSON_ROWS = 50_000  # about 24 MB; JSON is slower to trace, row for row
LIMIT = 8 * 1024 * 1024  # measured peaks are under 1 MB
VALUES = (
    "19C", "2024-04-03", "2024-04-02", "2024-03-30", "25-34", "F", "acquaintance", "S-7781",
    "2024-04-05", "", "1", "2024-09-02", "true", "false", "", "", "active",
    "2024-09-02T14:10:00+01:00",
)  # fmt: skip


BLOCK = 500  # rows per chunk; the same chunk is sent again and again


def _block(line: Callable[[int], str]) -> bytes:
    return "".join(line(n) for n in range(BLOCK)).encode()


def _ndjson_line(n: int) -> str:
    return json.dumps(dict(zip(FIELD_NAMES, (f"CR-{n:08d}", *VALUES), strict=True))) + "\n"


CSV_BLOCK = _block(lambda n: f"CR-{n:08d}," + ",".join(VALUES) + "\r\n")
NDJSON_BLOCK = _block(_ndjson_line)
JSON_BLOCK = b"," + NDJSON_BLOCK.rstrip(b"\n").replace(b"\n", b",")


def csv_chunks() -> Iterator[bytes]:
    yield (",".join(FIELD_NAMES) + "\r\n").encode()
    for _ in range(CSV_ROWS // BLOCK):
        yield CSV_BLOCK


def ndjson_chunks() -> Iterator[bytes]:
    for _ in range(JSON_ROWS // BLOCK):
        yield NDJSON_BLOCK


def json_chunks() -> Iterator[bytes]:
    yield b"[" + JSON_BLOCK[1:]
    for _ in range(JSON_ROWS // BLOCK - 1):
        yield JSON_BLOCK
    yield b"]"


def test_the_bodies_are_far_larger_than_the_memory_limit() -> None:
    for chunks in (csv_chunks, ndjson_chunks, json_chunks):
        assert sum(map(len, chunks())) > 2 * LIMIT


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "chunks", "rows"),
    [
        ("standard-csv", csv_chunks, CSV_ROWS),
        ("standard-ndjson", ndjson_chunks, JSON_ROWS),
        ("standard-json", json_chunks, JSON_ROWS),
    ],
)
def test_a_large_body_is_parsed_in_flat_memory(
    name: str, chunks: Callable[[], Iterator[bytes]], rows: int
) -> None:
    tracemalloc.start()
    try:
        count = last = 0
        for number, row in get_format(name).parse(chunks()):
            count, last = count + 1, number
            assert row["crime_ref"] is not None
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (count, last) == (rows, rows)
    assert peak < LIMIT, f"peak {peak / 1e6:.1f} MB"
