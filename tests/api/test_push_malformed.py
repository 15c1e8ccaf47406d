"""Malformed files through the real push path: a clear 4xx, never a 500, nothing half-stored.

hypothesis builds broken bodies from a valid file (bad encodings, huge fields, broken
quoting, deep JSON nesting, random damage) and pushes them with a real token. Whatever comes
back, the answer is a receipt (the damage happened to leave a valid file) or a problem
document with a stable code, and the store changed exactly as the receipt says. The larger
version of this is the fuzzing part of ``make reliability``.
"""

from __future__ import annotations

import codecs
import json
import uuid
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select

from adapters.store.models import Submission, record_versions, records
from schema.record import FIELD_NAMES
from tests.api.conftest import Api

FORCE = "kent"
CONTENT_TYPES = {"csv": "text/csv", "json": "application/json", "ndjson": "application/x-ndjson"}
FUZZ = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
VALID_ROW = {"crime_ref": "M1", "offence_code": "19C", "recorded_date": "2024-05-02"}


def _csv(rows: list[dict[str, str]]) -> str:
    lines = [",".join(FIELD_NAMES)]
    lines += [",".join(row.get(name, "") for name in FIELD_NAMES) for row in rows]
    return "\n".join(lines) + "\n"


def _counts(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return (
            conn.scalar(select(func.count()).select_from(records)) or 0,
            conn.scalar(select(func.count()).select_from(record_versions)) or 0,
            conn.scalar(select(func.count()).select_from(Submission)) or 0,
        )


@pytest.fixture
def pusher_token(api: Api) -> str:
    return api.pusher(FORCE).token


def _push_and_check(
    api: Api, engine: Engine, token: str, body: bytes, content_type: str
) -> httpx.Response:
    """Push ``body``; assert the answer is well formed and the store agrees with it."""
    before = _counts(engine)
    response: httpx.Response = api.http.post(
        f"/v1/forces/{FORCE}/submissions",
        content=body,
        headers={
            "Authorization": f"Bearer {token}",
            "Idempotency-Key": uuid.uuid4().hex,
            "Content-Type": content_type,
        },
    )
    after = _counts(engine)
    assert response.status_code < 500, response.text[:500]
    if response.status_code == 201:
        receipt = response.json()
        assert after[2] == before[2] + 1
        assert after[0] == before[0] + receipt["inserted"]
    else:
        assert response.status_code in {400, 413, 415, 422}, response.text[:500]
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["code"]
        assert problem["detail"]
        assert after == before, f"a refused push ({problem['code']}) changed the store"
    return response


# --- strategies --------------------------------------------------------------------------

_text_values = st.text(alphabet=st.characters(codec="utf-8"), max_size=30)


@st.composite
def rows(draw: st.DrawFn) -> list[dict[str, str]]:
    """A few rows, valid or not, built from field names and arbitrary text."""
    count = draw(st.integers(1, 4))
    out = []
    for i in range(count):
        row = {**VALID_ROW, "crime_ref": f"M{i}"}
        for name in draw(st.lists(st.sampled_from(FIELD_NAMES), max_size=3)):
            row[name] = draw(_text_values)
        out.append(row)
    return out


@st.composite
def badly_encoded(draw: st.DrawFn) -> tuple[bytes, str]:
    text = _csv(draw(rows()))
    codec = draw(st.sampled_from(["utf-16", "utf-16-le", "utf-32", "latin-1", "cp1252", "utf-8"]))
    body = text.encode(codec, errors="replace")
    prefix = draw(st.sampled_from([b"", codecs.BOM_UTF8, codecs.BOM_UTF16_LE, b"\xff\xfe\xfe"]))
    damage = draw(st.binary(max_size=4))
    at = draw(st.integers(0, len(body)))
    return prefix + body[:at] + damage + body[at:], "csv"


@st.composite
def huge_fields(draw: st.DrawFn) -> tuple[bytes, str]:
    size = draw(st.sampled_from([10_001, 65_536, 300_000]))
    field = draw(st.sampled_from(FIELD_NAMES))
    kind = draw(st.sampled_from(["csv", "json", "ndjson"]))
    row = {**VALID_ROW, field: "x" * size}
    if kind == "csv":
        return _csv([row]).encode(), kind
    if kind == "json":
        return _json_bytes([row]), kind
    return _json_bytes(row) + b"\n", kind


def _json_bytes(value: object) -> bytes:
    return json.dumps(value).encode()


@st.composite
def broken_quoting(draw: st.DrawFn) -> tuple[bytes, str]:
    text = _csv([VALID_ROW, {**VALID_ROW, "crime_ref": "M2"}])
    piece = draw(st.sampled_from(['"', '""', '"a"b', 'a"b', '"\n', "\r", '"\r\n"', ',"', "\x00"]))
    at = draw(st.integers(0, len(text)))
    times = draw(st.integers(1, 3))
    return (text[:at] + piece * times + text[at:]).encode(), "csv"


@st.composite
def deep_json(draw: st.DrawFn) -> tuple[bytes, str]:
    depth = draw(st.sampled_from([50, 1_000, 5_000, 100_000]))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
    nested = opener * depth + "1" + closer * depth
    where = draw(st.sampled_from(["top", "value", "ndjson"]))
    if where == "top":
        return nested.encode(), "json"
    record = _json_bytes(VALID_ROW).decode()[:-1] + f', "suspect_ref": {nested}}}'
    if where == "value":
        return f"[{record}]".encode(), "json"
    return (record + "\n").encode(), "ndjson"


@st.composite
def truncated_json(draw: st.DrawFn) -> tuple[bytes, str]:
    kind = draw(st.sampled_from(["json", "ndjson"]))
    rows_ = draw(rows())
    if kind == "json":
        body = _json_bytes(rows_)
    else:
        body = b"\n".join(_json_bytes(r) for r in rows_) + b"\n"
    cut = draw(st.integers(0, len(body)))
    return body[:cut] + draw(st.binary(max_size=3)), kind


def _cases() -> Iterator[tuple[str, st.SearchStrategy[tuple[bytes, str]]]]:
    yield "encoding", badly_encoded()
    yield "huge_field", huge_fields()
    yield "quoting", broken_quoting()
    yield "nesting", deep_json()
    yield "truncated", truncated_json()


@pytest.mark.parametrize(("kind", "strategy"), list(_cases()), ids=[k for k, _ in _cases()])
def test_malformed_files_are_refused_cleanly_and_store_nothing(
    api: Api,
    engine: Engine,
    pusher_token: str,
    kind: str,
    strategy: st.SearchStrategy[tuple[bytes, str]],
) -> None:
    @FUZZ
    @given(case=strategy)
    def check(case: tuple[bytes, str]) -> None:
        body, fmt = case
        _push_and_check(api, engine, pusher_token, body, CONTENT_TYPES[fmt])

    check()


@pytest.mark.parametrize(
    ("body", "content_type", "code"),
    [
        (b"\xff\xfe" + "crime_ref\n".encode("utf-16-le"), "text/csv", "invalid_encoding"),
        ('{"a":' * 100_000 + "1" + "}" * 100_000, "application/json", "wrong_shape"),
        ("[" * 100_000 + "]" * 100_000, "application/json", "invalid_json"),
        ("[" + '{"a":' * 100_000 + "1" + "}" * 100_000 + "]", "application/json", "invalid_json"),
        ('{"a":' * 100_000 + "1" + "}" * 100_000 + "\n", "application/x-ndjson", "invalid_json"),
    ],
    ids=["utf16_csv", "deep_object", "deep_array", "deep_record", "deep_ndjson_line"],
)
def test_named_malformations_get_a_specific_code(
    api: Api,
    engine: Engine,
    pusher_token: str,
    body: bytes | str,
    content_type: str,
    code: str,
) -> None:
    raw = body.encode() if isinstance(body, str) else body
    response = _push_and_check(api, engine, pusher_token, raw, content_type)
    assert response.status_code in {400, 422}
    assert response.json()["code"] == code
