"""The Soteria-Purpose header: ``code`` or ``code; free text``."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.audit import Purpose, PurposeError, parse_purpose

CODES = ("performance-monitoring", "data-quality", "research", "audit", "foi-request")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("research", Purpose("research")),
        ("  research  ", Purpose("research")),
        ("research; Q3 attrition study", Purpose("research", "Q3 attrition study")),
        ("audit;quarterly DPO review; part 2", Purpose("audit", "quarterly DPO review; part 2")),
        ("audit;   ", Purpose("audit")),
        ("foi-request; FOI 2026/0412", Purpose("foi-request", "FOI 2026/0412")),
    ],
)
def test_accepts_a_declared_purpose(header: str, expected: Purpose) -> None:
    assert parse_purpose(header, CODES) == expected


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "missing"),
        ("", "missing"),
        ("   ", "missing"),
        ("; just text", "malformed"),
        ("Research", "malformed"),
        ("research study", "malformed"),
        ("marketing", "unknown_purpose"),
        ("research; " + "x" * 501, "text_too_long"),
        ("research; tab\there", "text_not_printable"),
        ("research; caf\u00e9", "text_not_printable"),
        ("research; line\nbreak", "text_not_printable"),
    ],
)
def test_refuses_with_a_stable_code(header: str | None, code: str) -> None:
    result = parse_purpose(header, CODES)

    assert isinstance(result, PurposeError)
    assert result.code == code


def test_unknown_purpose_message_lists_the_allowed_codes() -> None:
    result = parse_purpose("marketing", CODES)

    assert result == PurposeError(
        "unknown_purpose",
        "'marketing' is not a declared purpose; use one of 'audit', 'data-quality', "
        "'foi-request', 'performance-monitoring', 'research'.",
    )


def test_free_text_of_exactly_the_limit_is_accepted() -> None:
    assert parse_purpose("audit; " + "y" * 500, CODES) == Purpose("audit", "y" * 500)


@given(
    code=st.sampled_from(CODES),
    text=st.none() | st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=500),
)
def test_header_value_round_trips(code: str, text: str | None) -> None:
    expected = Purpose(code, text.strip() or None if text is not None else None)

    assert parse_purpose(Purpose(code, text).header_value(), CODES) == expected


@given(st.text(max_size=600))
def test_never_raises_on_any_header(header: str) -> None:
    assert isinstance(parse_purpose(header, CODES), Purpose | PurposeError)
