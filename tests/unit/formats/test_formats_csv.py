"""standard-csv: RFC 4180 in UTF-8, read as a stream."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator

import pytest

from adapters.errors import FormatError
from adapters.formats import MAX_FIELD_CHARS, RawRow, get_format

CSV = get_format("standard-csv")


def chunked(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def rows(data: bytes, size: int = 7) -> list[tuple[int, dict[str, str | None]]]:
    return [(n, dict(row)) for n, row in CSV.parse(chunked(data, size))]


def error(data: bytes, size: int = 7) -> FormatError:
    with pytest.raises(FormatError) as caught:
        rows(data, size)
    return caught.value


def test_reads_header_and_numbered_rows_with_empty_fields_as_none() -> None:
    parsed = CSV.parse([b"crime_ref,offence_code,outcome_type\nA1,19C,\nA2,,1\n"])
    assert parsed.header == ("crime_ref", "offence_code", "outcome_type")
    assert [(n, dict(r)) for n, r in parsed] == [
        (1, {"crime_ref": "A1", "offence_code": "19C", "outcome_type": None}),
        (2, {"crime_ref": "A2", "offence_code": None, "outcome_type": "1"}),
    ]


def test_rows_are_raw_rows_without_problems() -> None:
    (_, row), *_ = CSV.parse([b"a\nx\n"])
    assert isinstance(row, RawRow)
    assert row.problems == ()


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_reads_utf8_with_or_without_byte_order_mark(bom: bytes) -> None:
    parsed = CSV.parse([bom + "a,b\né,€\n".encode()])
    assert parsed.header == ("a", "b")
    assert [dict(r) for _, r in parsed] == [{"a": "é", "b": "€"}]


def test_reads_crlf_and_a_last_line_without_a_line_break() -> None:
    assert rows(b"a,b\r\n1,2\r\n3,4") == [(1, {"a": "1", "b": "2"}), (2, {"a": "3", "b": "4"})]


def test_reads_quoted_commas_quotes_and_line_breaks_inside_fields() -> None:
    data = b'a,b\r\n"x, y","say ""hi""\r\nthen\nbye"\r\n'
    assert rows(data, 3) == [(1, {"a": "x, y", "b": 'say "hi"\r\nthen\nbye'})]


def test_keeps_surrounding_whitespace_for_the_validator_to_trim() -> None:
    assert rows(b"a,b\n  x , \n") == [(1, {"a": "  x ", "b": " "})]


def test_skips_blank_lines_and_rows_of_empty_fields_without_counting_them() -> None:
    data = b"\n\na,b\n\n1,2\n,\n   \n\r\n3,4\n\n"
    assert rows(data) == [(1, {"a": "1", "b": "2"}), (2, {"a": "3", "b": "4"})]


def test_keeps_line_separator_characters_that_csv_does_not_break_on() -> None:
    data = "a,b\nx\u2028y,p\x0cq\x85\n2,3\n".encode()
    assert rows(data) == [(1, {"a": "x\u2028y", "b": "p\x0cq\x85"}), (2, {"a": "2", "b": "3"})]


def test_a_carriage_return_alone_ends_a_line() -> None:
    assert rows(b"a,b\r1,2\r3,4\r", 2) == [(1, {"a": "1", "b": "2"}), (2, {"a": "3", "b": "4"})]


def test_refuses_an_empty_body() -> None:
    for body in ([], [b""], [b"\xef\xbb\xbf"]):
        with pytest.raises(FormatError) as caught:
            CSV.parse(iter(body))
        assert caught.value.code == "empty_body"


def test_refuses_a_body_of_blank_lines_as_having_no_header() -> None:
    assert error(b"\r\n\n  \n").code == "no_header"


def test_refuses_a_header_line_without_column_names() -> None:
    found = error(b",,\n1,2,3\n")
    assert (found.code, found.line) == ("no_header", 1)


def test_refuses_a_header_without_rows() -> None:
    assert error(b"a,b\r\n\r\n").code == "header_only"


def test_refuses_a_quote_never_closed_with_its_row() -> None:
    found = error(b'a,b\n1,2\n3,"4\n5,6\n')
    assert (found.code, found.row, found.line) == ("broken_quoting", 2, 3)


def test_refuses_text_after_a_closing_quote() -> None:
    found = error(b'a,b\n1,"2"x\n')
    assert (found.code, found.row) == ("broken_quoting", 1)


def test_a_row_with_the_wrong_field_count_is_a_row_problem_and_parsing_goes_on() -> None:
    parsed = list(CSV.parse([b"a,b\n1\n2,3,4\n5,6\n"]))
    assert [n for n, _ in parsed] == [1, 2, 3]
    short, long, good = (row for _, row in parsed)
    assert [(p.code, p.row, p.line) for p in short.problems] == [("wrong_field_count", 1, 2)]
    assert "1 fields but the header has 2" in short.problems[0].message
    assert dict(short) == {"a": "1", "b": None}
    assert [p.code for p in long.problems] == ["wrong_field_count"]
    assert good.problems == ()


def test_reports_invalid_utf8_with_row_line_and_byte_offset() -> None:
    found = error(b"a,b\n1,2\n3,\xe94\n", 4)
    assert (found.code, found.row, found.line) == ("invalid_encoding", 2, 3)
    assert "byte offset 10" in found.message


def test_reports_invalid_utf8_in_the_header() -> None:
    found = error(b"a,\xff\n1,2\n")
    assert (found.code, found.row, found.line) == ("invalid_encoding", None, 1)


def test_refuses_a_field_over_the_limit_naming_row_and_column() -> None:
    big = b"x" * (MAX_FIELD_CHARS + 1)
    found = error(b"a,b\n1,2\n3," + big + b"\n", 4096)
    assert (found.code, found.row, found.field) == ("field_too_large", 2, "b")


def test_accepts_a_field_at_the_limit() -> None:
    value = "x" * MAX_FIELD_CHARS
    assert rows(f"a,b\n1,{value}\n".encode(), 4096) == [(1, {"a": "1", "b": value})]


def test_refuses_a_multi_line_quoted_field_over_the_limit() -> None:
    value = "line\n" * (MAX_FIELD_CHARS // 5 + 1)
    found = error(f'a,b\n1,"{value}"\n'.encode(), 4096)
    assert (found.code, found.row) == ("field_too_large", 1)


def test_refuses_an_oversized_header() -> None:
    found = error(b"a," + b"h" * (MAX_FIELD_CHARS + 1) + b"\n1,2\n", 4096)
    assert (found.code, found.row) == ("field_too_large", None)


def test_an_unclosed_quote_is_refused_early_whatever_the_global_field_limit() -> None:
    consumed = 0

    def endless() -> Iterator[bytes]:
        nonlocal consumed
        yield b'a,b\n1,"never closed\n'
        while consumed < 50_000_000:
            consumed += 65536
            yield b"y" * 65535 + b"\n"

    previous = csv.field_size_limit(sys.maxsize)
    try:
        with pytest.raises(FormatError) as caught:
            list(CSV.parse(endless()))
    finally:
        csv.field_size_limit(previous)
    assert (caught.value.code, caught.value.row) == ("field_too_large", 1)
    assert consumed < 3_000_000


def test_never_changes_the_process_wide_csv_field_limit() -> None:
    before = csv.field_size_limit()
    with pytest.raises(FormatError):
        rows(b"a\n" + b"x" * 200_000 + b"\n", 4096)
    rows(b"a\nx\n")
    assert csv.field_size_limit() == before


def test_refuses_a_line_that_never_ends() -> None:
    def endless() -> Iterator[bytes]:
        yield b"a,b\n"
        while True:
            yield b"z" * 65536

    with pytest.raises(FormatError) as caught:
        list(CSV.parse(endless()))
    assert caught.value.code == "field_too_large"


def test_stopping_early_closes_the_chunk_source() -> None:
    closed = False

    def source() -> Iterator[bytes]:
        nonlocal closed
        try:
            yield b"a\n1\n2\n"
            yield b"3\n"
        finally:
            closed = True

    parsed = CSV.parse(source())
    next(iter(parsed))
    parsed.close()
    assert closed


def test_refuses_a_quote_never_closed_in_the_first_row_giving_its_first_line() -> None:
    found = error(b'\na,b\n\n1,"2\n3,4\n')
    assert (found.code, found.row, found.line) == ("broken_quoting", 1, 4)


def test_a_problem_names_the_line_on_which_its_row_starts() -> None:
    parsed = list(CSV.parse([b'a,b\n1,2\n"x\ny",2,3\n']))
    assert [(p.row, p.line) for p in parsed[1][1].problems] == [(2, 3)]


def test_any_other_csv_error_is_reported_as_invalid_csv() -> None:
    from adapters.formats.standard_csv import _csv_error

    found = _csv_error(csv.Error("something new"), 3, 4)
    assert (found.code, found.row, found.line) == ("invalid_csv", 3, 4)
    assert "something new" in found.message
