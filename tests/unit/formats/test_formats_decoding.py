"""The incremental UTF-8 decoder under every format."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.errors import FormatError
from adapters.formats.decoding import Utf8Text


def pieces(*chunks: bytes) -> list[str]:
    return list(Utf8Text(iter(chunks)))


def test_decodes_a_character_split_across_chunks() -> None:
    data = "é€😀".encode()
    assert "".join(pieces(*(data[i : i + 1] for i in range(len(data))))) == "é€😀"


def test_drops_a_byte_order_mark_at_the_start_even_when_split() -> None:
    assert "".join(pieces(b"\xef", b"\xbb", b"\xbfa,b")) == "a,b"


def test_keeps_a_byte_order_mark_that_is_not_at_the_start() -> None:
    assert "".join(pieces(b"a", "\ufeffb".encode())) == "a\ufeffb"


def test_counts_bytes_and_characters_read() -> None:
    text = Utf8Text(iter([b"\xef\xbb\xbf", "é".encode()]))
    assert list(text) == ["é"]
    assert (text.bytes_read, text.chars_read) == (5, 1)


def test_hands_on_valid_text_before_reporting_an_invalid_byte_with_its_offset() -> None:
    got: list[str] = []
    with pytest.raises(FormatError) as caught:
        got.extend(Utf8Text(iter([b"ab", b"c\xe9d"])))
    assert got == ["ab", "c"]
    assert caught.value.code == "invalid_encoding"
    assert "byte offset 3" in caught.value.message
    assert "0xe9" in caught.value.message
    assert "Windows-1252" in caught.value.message


def test_reports_a_body_that_ends_inside_a_character() -> None:
    with pytest.raises(FormatError) as caught:
        pieces(b"ab", "€".encode()[:2])
    assert caught.value.code == "invalid_encoding"
    assert "byte offset 2" in caught.value.message
    assert "ends in the middle of a character" in caught.value.message


def test_recognises_utf16_and_says_so() -> None:
    with pytest.raises(FormatError) as caught:
        pieces("a,b".encode("utf-16"))
    assert caught.value.code == "invalid_encoding"
    assert "UTF-16" in caught.value.message


def test_never_lets_a_unicode_decode_error_escape() -> None:
    with pytest.raises(FormatError):
        pieces(b"\xff\xff\xff")


def split_at(data: bytes, cuts: list[int]) -> Iterator[bytes]:
    points = sorted({min(c, len(data)) for c in cuts})
    start = 0
    for point in points:
        yield data[start:point]
        start = point
    yield data[start:]


@given(st.text(), st.lists(st.integers(min_value=0, max_value=400), max_size=20))
def test_any_chunking_decodes_to_the_same_text(text: str, cuts: list[int]) -> None:
    data = text.encode()
    assert "".join(Utf8Text(split_at(data, cuts))) == text.removeprefix("\ufeff")
