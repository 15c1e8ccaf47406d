"""standard-json and standard-ndjson: JSON objects, streamed, with the shared value rules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters.errors import FormatError
from adapters.formats import MAX_FIELD_CHARS, InputFormat, get_format

JSON = get_format("standard-json")
NDJSON = get_format("standard-ndjson")


def chunked(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def rows(fmt: InputFormat, data: bytes, size: int = 5) -> list[tuple[int, dict[str, str | None]]]:
    return [(n, dict(row)) for n, row in fmt.parse(chunked(data, size))]


def error(fmt: InputFormat, data: bytes, size: int = 5) -> FormatError:
    with pytest.raises(FormatError) as caught:
        rows(fmt, data, size)
    return caught.value


VALUES_JSON = (
    b'[{"a": "x", "b": "", "c": null, "d": true, "e": false, "f": 12, "g": -7, "h": " y "}]'
)
VALUES_ROW = {"a": "x", "b": None, "c": None, "d": "true", "e": "false", "f": "12", "g": "-7"}


def test_json_converts_values_to_raw_text() -> None:
    assert rows(JSON, VALUES_JSON) == [(1, {**VALUES_ROW, "h": " y "})]


def test_ndjson_converts_values_to_raw_text() -> None:
    assert rows(NDJSON, VALUES_JSON[1:-1] + b"\n") == [(1, {**VALUES_ROW, "h": " y "})]


def test_json_keeps_huge_integers_as_their_digits() -> None:
    digits = "9" * 5000
    assert rows(JSON, f'[{{"a": {digits}}}]'.encode(), 512) == [(1, {"a": digits})]


def test_header_is_the_first_objects_keys_and_each_row_keeps_its_own_keys() -> None:
    for fmt, data in (
        (JSON, b'[{"a": "1", "b": "2"}, {"a": "3", "c": "4"}]'),
        (NDJSON, b'{"a": "1", "b": "2"}\n{"a": "3", "c": "4"}\n'),
    ):
        parsed = fmt.parse([data])
        assert parsed.header == ("a", "b")
        assert [dict(r) for _, r in parsed] == [{"a": "1", "b": "2"}, {"a": "3", "c": "4"}]


@pytest.mark.parametrize(
    ("value", "what"),
    [
        ("1.5", "a fraction"),
        ("1e3", "an exponent"),
        ("NaN", "fraction"),
        ("{}", "an object"),
        ("[1]", "an array"),
    ],
)
def test_a_float_or_nested_value_is_a_row_problem_naming_the_field(value: str, what: str) -> None:
    data = f'[{{"a": "ok"}}, {{"a": "x", "b": {value}}}, {{"a": "y"}}]'.encode()
    parsed = list(JSON.parse([data]))
    assert len(parsed) == 3
    _, row = parsed[1]
    assert dict(row) == {"a": "x", "b": None}
    [problem] = row.problems
    assert (problem.code, problem.row, problem.field) == ("invalid_value_type", 2, "b")
    assert what in problem.message
    assert parsed[2][1].problems == ()


def test_ndjson_value_problems_carry_the_line() -> None:
    parsed = list(NDJSON.parse([b'{"a": "x"}\n\n{"a": 0.5}\n']))
    [problem] = parsed[1][1].problems
    assert (problem.code, problem.row, problem.line, problem.field) == (
        "invalid_value_type",
        2,
        3,
        "a",
    )


def test_a_repeated_key_is_a_row_problem() -> None:
    for fmt, data in ((JSON, b'[{"a": "1", "a": "2"}]'), (NDJSON, b'{"a": "1", "a": "2"}')):
        [(_, row)] = fmt.parse([data])
        assert row["a"] == "2"
        assert [(p.code, p.field) for p in row.problems] == [("duplicate_key", "a")]


def test_an_element_cut_anywhere_by_chunk_boundaries_reads_the_same() -> None:
    data = '[ {"a": "é€😀", "b": true, "c": null, "d": 123, "e": "\\u00e9\\n"} ,\n{"a": "2"}]'
    expected = rows(JSON, data.encode(), 10_000)
    for size in (1, 2, 3, 7):
        assert rows(JSON, data.encode(), size) == expected
    assert expected[0][1] == {"a": "é€😀", "b": "true", "c": None, "d": "123", "e": "é\n"}


def test_json_refusals() -> None:
    assert error(JSON, b"").code == "empty_body"
    assert error(JSON, b"  \n ").code == "invalid_json"
    assert error(JSON, b"[]").code == "no_rows"
    assert error(JSON, b" [ \n ] ").code == "no_rows"
    single = error(JSON, b'{"a": "1"}')
    assert single.code == "wrong_shape"
    assert "standard-ndjson" in single.message
    assert error(JSON, b'"text"').code == "wrong_shape"
    element = error(JSON, b'[{"a": "1"}, "x"]')
    assert (element.code, element.row) == ("wrong_shape", 2)


@pytest.mark.parametrize(
    ("body", "row", "line", "column"),
    [
        (b'[{"a": "1"},\n {"a" "2"}]', 2, 2, 7),
        (b'[{"a": "1"},]', None, 1, 13),
        (b'[{"a": "1"}', None, 1, 12),
        (b'[{"a": "1"} {"a": "2"}]', 1, 1, 13),
        (b'[{"a": "1"}] []', None, 1, 14),
        (b'[{"a": "1}]', 1, 1, 8),
        (b"[{'a': 1}]", 1, 1, 3),
    ],
)
def test_json_syntax_errors_give_line_and_column(
    body: bytes, row: int | None, line: int, column: int
) -> None:
    for size in (1, 4, 1000):
        found = error(JSON, body, size)
        assert (found.code, found.row, found.line) == ("invalid_json", row, line)
        assert f"line {line}, column {column}:" in found.message


def test_json_column_is_right_after_the_buffer_has_moved_on() -> None:
    padding = b'{"a": "1"}, ' * 3000
    found = error(JSON, b"[" + padding + b'{"a" 1}]', 64)
    assert (found.line, found.row) == (1, 3001)
    assert f"column {1 + len(padding) + 6}:" in found.message


def test_json_refuses_invalid_utf8_with_its_row() -> None:
    found = error(JSON, b'[{"a": "1"},\n{"a": "\xe9"}]', 3)
    assert (found.code, found.row, found.line) == ("invalid_encoding", 2, 2)


def test_json_refuses_a_string_over_the_field_limit() -> None:
    big = "x" * (MAX_FIELD_CHARS + 1)
    found = error(JSON, f'[{{"a": "1"}}, {{"a": "2", "b": "{big}"}}]'.encode(), 4096)
    assert (found.code, found.row, found.field) == ("field_too_large", 2, "b")


def test_json_accepts_a_long_element_whose_fields_are_within_the_limit() -> None:
    fields = {f"k{i}": "v" * 900 for i in range(40)}
    body = "[" + str(fields).replace("'", '"') + "]"
    assert rows(JSON, body.encode(), 1000) == [(1, fields)]


def test_json_refuses_a_string_that_never_ends_without_reading_on() -> None:
    consumed = 0

    def endless() -> Iterator[bytes]:
        nonlocal consumed
        yield b'[{"a": "'
        while consumed < 50_000_000:
            consumed += 65536
            yield b"y" * 65536

    with pytest.raises(FormatError) as caught:
        list(JSON.parse(endless()))
    assert (caught.value.code, caught.value.row) == ("field_too_large", 1)
    assert consumed < 5_000_000


def test_ndjson_skips_blank_lines_and_reads_crlf() -> None:
    data = b'\r\n{"a": "1"}\r\n  \r\n\t{"a": "2"}  \r\n\n'
    assert rows(NDJSON, data, 3) == [(1, {"a": "1"}), (2, {"a": "2"})]


def test_ndjson_refusals_give_line_numbers() -> None:
    assert error(NDJSON, b"").code == "empty_body"
    assert error(NDJSON, b"\n \r\n").code == "no_rows"
    syntax = error(NDJSON, b'{"a": "1"}\n\n{"a": }\n')
    assert (syntax.code, syntax.row, syntax.line) == ("invalid_json", 2, 3)
    assert "line 3 at column 7" in syntax.message
    two = error(NDJSON, b'{"a": "1"} {"a": "2"}\n')
    assert (two.code, two.line) == ("invalid_json", 1)
    array = error(NDJSON, b'{"a": "1"}\n[{"a": "2"}]\n')
    assert (array.code, array.row, array.line) == ("wrong_shape", 2, 2)
    encoding = error(NDJSON, b'{"a": "1"}\n{"a": "\xff"}\n', 4)
    assert (encoding.code, encoding.row, encoding.line) == ("invalid_encoding", 2, 2)


def test_ndjson_refuses_a_line_that_never_ends() -> None:
    def endless() -> Iterator[bytes]:
        yield b'{"a": "1"}\n{"a": "'
        while True:
            yield b"z" * 65536

    with pytest.raises(FormatError) as caught:
        list(NDJSON.parse(endless()))
    assert (caught.value.code, caught.value.row) == ("field_too_large", 2)


def test_ndjson_refuses_a_field_over_the_limit() -> None:
    big = "x" * (MAX_FIELD_CHARS + 1)
    found = error(NDJSON, f'{{"a": "{big}"}}\n'.encode(), 4096)
    assert (found.code, found.row, found.line, found.field) == ("field_too_large", 1, 1, "a")


def test_ndjson_reads_what_the_fast_decoder_refuses_like_the_json_format() -> None:
    digits = "9" * 40
    data = f'{{"a": {digits}}}\n{{"a": NaN}}\n{{"a": "\\ud83d\\ude00"}}\n'.encode()
    parsed = list(NDJSON.parse([data]))
    assert parsed[0][1] == {"a": digits}
    assert [p.code for p in parsed[1][1].problems] == ["invalid_value_type"]
    assert parsed[2][1] == {"a": "😀"}


@pytest.mark.parametrize(
    "line",
    [
        b'{"a": "1", "a": "2"}',
        b'{"a" : "1", "a": "2"}',
        b'{"a"\t:"1","a":"2"}',
        b'{"b": "x\\":y", "a": "1", "a": "2"}',
    ],
)
def test_ndjson_finds_a_repeated_key_however_the_line_is_spaced(line: bytes) -> None:
    [(_, row)] = NDJSON.parse([line])
    assert [(p.code, p.field) for p in row.problems] == [("duplicate_key", "a")]


def test_ndjson_does_not_mistake_quotes_and_colons_in_values_for_repeated_keys() -> None:
    [(_, row)] = NDJSON.parse([b'{"a": "x\\":y", "b" : "2", "c": ":\\" :"}'])
    assert (dict(row), row.problems) == ({"a": 'x":y', "b": "2", "c": ':" :'}, ())


@pytest.mark.parametrize("fmt", [JSON, NDJSON], ids=["json", "ndjson"])
@pytest.mark.parametrize("obj", [b'{"a": "x\\ud800"}', b'{"\\udfff": "x"}'])
def test_an_escaped_half_surrogate_pair_is_refused(fmt: InputFormat, obj: bytes) -> None:
    body = b"[" + obj + b"]" if fmt is JSON else obj + b"\n"
    found = error(fmt, body)
    assert (found.code, found.row) == ("invalid_json", 1)
    assert "surrogate" in found.message
