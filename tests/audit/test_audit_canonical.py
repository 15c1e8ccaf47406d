"""The canonical form is what docs/audit.md says: sorted, compact, minimally escaped JSON."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from hypothesis import given
from hypothesis import strategies as st

from gateway.audit.canonical import FIELDS, canonical_bytes, format_time, parse_time
from tests.audit.audit_testkit import sample_event

_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
_VALUES = st.none() | st.integers(-(2**63), 2**63 - 1) | _TEXT | st.lists(_TEXT, max_size=4)


def _reference(obj: object) -> bytes:
    """The RFC 8785 form for our value types, with nothing but the standard library."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@given(st.dictionaries(_TEXT, _VALUES, max_size=30))
def test_canonical_bytes_match_the_standard_library_reference(obj: dict[str, object]) -> None:
    assert canonical_bytes(obj) == _reference(obj)


def test_event_fields_are_exactly_the_documented_keys_in_sorted_order() -> None:
    fields = sample_event(3).canonical_fields(
        seq=1, occurred_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), prev_hash="0" * 64
    )

    assert tuple(fields) == FIELDS == tuple(sorted(FIELDS))
    assert canonical_bytes(fields) == _reference(fields)


def test_a_known_event_has_a_known_canonical_form_and_hash() -> None:
    """Pinned bytes and hash (the worked example in docs/audit.md): changing the canonical
    form would make every stored hash unverifiable."""
    fields = dict.fromkeys(FIELDS) | {
        "action": "indicators:query",
        "forces": ["kent"],
        "occurred_at": "2026-01-02T03:04:05.000006Z",
        "outcome": "allowed",
        "periods": [],
        "prev_hash": "0" * 64,
        "scopes": ["indicators:read"],
        "seq": 1,
        "version": 1,
    }

    assert canonical_bytes(fields) == (
        b'{"action":"indicators:query","actor_force":null,"cells_returned":null,'
        b'"cells_suppressed":null,"client_address":null,"client_id":null,"forces":["kent"],'
        b'"issuer":null,"occurred_at":"2026-01-02T03:04:05.000006Z","operation":null,'
        b'"outcome":"allowed","periods":[],"prev_hash":"' + b"0" * 64 + b'",'
        b'"purpose_code":null,"purpose_text":null,"query_sha256":null,"reason":null,'
        b'"request_id":null,"response_sha256":null,"rows_returned":null,'
        b'"scopes":["indicators:read"],"seq":1,"span_id":null,"subject":null,"trace_id":null,'
        b'"version":1}'
    )
    assert hashlib.sha256(canonical_bytes(fields)).hexdigest() == (
        "dcc9b6092acdc9f116ac8f2bfd30c1a2b60107e7dc6acae1aff375b06c74bb1c"
    )


@given(
    st.datetimes(
        min_value=dt.datetime(1970, 1, 2),
        max_value=dt.datetime(9999, 12, 30),
        timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=5, minutes=30))]),
    )
)
def test_times_round_trip_through_their_canonical_text(value: dt.datetime) -> None:
    text = format_time(value)

    assert len(text) == 27
    assert text.endswith("Z")
    assert parse_time(text) == value
