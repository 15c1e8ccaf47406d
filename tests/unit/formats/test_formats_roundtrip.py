"""Property tests: the same rows, however serialised and however chunked, parse back alike."""

from __future__ import annotations

import json
from collections.abc import Iterator

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.formats import get_format
from schema.record import FIELD_NAMES

Row = dict[str, str | None]

# Anything a force might type, plus the characters that stress CSV and line splitting.
TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"))
    | st.sampled_from('\t\r\n\x0c\x85",; '),
    min_size=1,
    max_size=12,
)
REF = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:/-",
    min_size=1,
    max_size=64,
)
CODE = st.sampled_from(["19C", "19F", "20A", "1", "1A", "16", "true", "false", "F", "25-34"])
DATE = st.dates().map(lambda d: d.isoformat())
VALUE = st.none() | TEXT | CODE | DATE
ROWS = st.lists(
    st.fixed_dictionaries({n: REF if n == "crime_ref" else VALUE for n in FIELD_NAMES}).map(
        lambda row: {n: row[n] for n in FIELD_NAMES}  # in standard order
    ),
    min_size=1,
    max_size=6,
)
CUTS = st.lists(st.integers(min_value=0, max_value=3000), max_size=30)


def split_at(data: bytes, cuts: list[int]) -> Iterator[bytes]:
    start = 0
    for point in sorted({min(c, len(data)) for c in cuts}):
        yield data[start:point]
        start = point
    yield data[start:]


def quoted(value: str | None) -> str:
    """RFC 4180: quote a field holding a comma, a quote or a line break, doubling quotes."""
    if value is None:
        return ""
    if any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def as_csv(rows: list[Row], line_end: str, bom: bool) -> bytes:
    lines = [",".join(FIELD_NAMES)] + [",".join(quoted(r[n]) for n in FIELD_NAMES) for r in rows]
    return (("\ufeff" if bom else "") + line_end.join(lines) + line_end).encode()


def parse(name: str, chunks: Iterator[bytes]) -> tuple[tuple[str, ...], list[tuple[int, Row]]]:
    parsed = get_format(name).parse(chunks)
    return parsed.header, [(n, dict(r)) for n, r in parsed if not r.problems]


def expected(rows: list[Row]) -> tuple[tuple[str, ...], list[tuple[int, Row]]]:
    return FIELD_NAMES, list(enumerate(rows, start=1))


@settings(deadline=None, max_examples=60)
@given(ROWS, CUTS, st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_csv_round_trip_under_any_chunking(
    rows: list[Row], cuts: list[int], line_end: str, bom: bool
) -> None:
    assert parse("standard-csv", split_at(as_csv(rows, line_end, bom), cuts)) == expected(rows)


@settings(deadline=None, max_examples=60)
@given(ROWS, CUTS, st.sampled_from([None, 0, 2]))
def test_json_round_trip_under_any_chunking(
    rows: list[Row], cuts: list[int], indent: int | None
) -> None:
    data = json.dumps(rows, ensure_ascii=False, indent=indent).encode()
    assert parse("standard-json", split_at(data, cuts)) == expected(rows)


@settings(deadline=None, max_examples=60)
@given(ROWS, CUTS, st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_ndjson_round_trip_under_any_chunking(
    rows: list[Row], cuts: list[int], line_end: str, ascii_only: bool
) -> None:
    data = "".join(json.dumps(r, ensure_ascii=ascii_only) + line_end for r in rows).encode()
    assert parse("standard-ndjson", split_at(data, cuts)) == expected(rows)


@settings(deadline=None, max_examples=60)
@given(ROWS)
def test_every_format_gives_the_same_rows(rows: list[Row]) -> None:
    from_csv = parse("standard-csv", iter([as_csv(rows, "\r\n", False)]))
    from_json = parse("standard-json", iter([json.dumps(rows).encode()]))
    lines = "\n".join(json.dumps(r) for r in rows).encode()
    from_ndjson = parse("standard-ndjson", iter([lines]))
    assert from_csv == from_json == from_ndjson
