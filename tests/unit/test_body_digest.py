"""``BodyDigests``: always the SHA-256 of the whole body, however the values sit in it."""

from __future__ import annotations

import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.graphql.body_digest import BodyDigests

# Small sizes so that values, probes and segments collide often.
VALUES = [b"[[1,2],[3,4]]" * 8, b"ab" * 70, b"[[1,2],[3,4]]" * 8 + b"!", bytes(range(200))]
pieces = st.one_of(
    st.binary(max_size=40),
    st.sampled_from(VALUES),
    st.sampled_from(VALUES).map(lambda v: v[: len(v) // 2]),  # a value cut short
)


@settings(max_examples=400)
@given(
    parts=st.lists(pieces, max_size=8),
    listed=st.lists(st.sampled_from(range(len(VALUES))), max_size=4),
    repeats=st.integers(1, 3),
)
def test_the_digest_is_the_bodys(parts: list[bytes], listed: list[int], repeats: int) -> None:
    digests = BodyDigests(capacity=2, min_size=100)
    body = b"".join(parts)
    embedded = [VALUES[i] for i in listed]
    for _ in range(repeats):  # the second time from a kept state
        assert digests.sha256(body, embedded) == hashlib.sha256(body).hexdigest()


def test_a_kept_state_is_used_only_for_the_same_bytes_before_and_the_same_value() -> None:
    value = b"x" * 200
    digests = BodyDigests(min_size=100)
    first = b'{"a":' + value + b"}"
    assert digests.sha256(first, [value]) == hashlib.sha256(first).hexdigest()
    assert digests.sha256(first, [value]) == hashlib.sha256(first).hexdigest()
    assert digests.hits == 1
    other_prefix = b'{"b":' + value + b"}"
    assert digests.sha256(other_prefix, [value]) == hashlib.sha256(other_prefix).hexdigest()
    equal_copy = bytes(bytearray(value))  # same bytes, another object: a state of its own
    assert digests.sha256(first, [equal_copy]) == hashlib.sha256(first).hexdigest()
    assert digests.hits == 1
