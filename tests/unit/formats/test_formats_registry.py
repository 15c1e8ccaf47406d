"""Choosing a format by name or by media type."""

from __future__ import annotations

import pytest

from adapters.errors import FormatError
from adapters.formats import CONTENT_TYPES, FORMAT_NAMES, format_for_content_type, get_format


@pytest.mark.parametrize("name", ["standard-csv", "standard-json", "standard-ndjson"])
def test_standard_formats_are_found_by_name(name: str) -> None:
    assert get_format(name).name == name


def test_every_format_is_listed() -> None:
    assert FORMAT_NAMES == ("standard-csv", "standard-json", "standard-ndjson", "mapped-csv")


@pytest.mark.parametrize(
    ("content_type", "name"),
    [
        ("text/csv", "standard-csv"),
        ("text/csv; charset=utf-8", "standard-csv"),
        ('TEXT/CSV; Charset="UTF-8"', "standard-csv"),
        ("application/json", "standard-json"),
        ("application/x-ndjson; charset=utf8", "standard-ndjson"),
    ],
)
def test_media_types_choose_their_standard_format(content_type: str, name: str) -> None:
    assert format_for_content_type(content_type).name == name
    assert CONTENT_TYPES[content_type.partition(";")[0].lower()] == name


def test_an_unknown_format_name_is_refused() -> None:
    with pytest.raises(FormatError) as caught:
        get_format("excel")
    assert caught.value.code == "unknown_format"
    assert "standard-csv" in caught.value.message


@pytest.mark.parametrize(
    "content_type", ["application/xml", "text/plain", "text/csv; charset=windows-1252", ""]
)
def test_an_unsupported_media_type_is_refused(content_type: str) -> None:
    with pytest.raises(FormatError) as caught:
        format_for_content_type(content_type)
    assert caught.value.code == "unsupported_media_type"
