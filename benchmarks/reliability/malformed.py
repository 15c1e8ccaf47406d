"""hypothesis-built malformed files pushed to a live server (part of the fuzzing harness).

Families: bad encodings (UTF-16/32, Latin-1, stray BOMs, invalid UTF-8 bytes), huge fields
and rows, broken CSV quoting, deep JSON nesting, truncated JSON and NDJSON, random bytes,
and bodies sent under the wrong Content-Type. Every push has a fresh Idempotency-Key.
Each answer must be a receipt or a 4xx problem document; the harness compares the store
with the receipts afterwards (``fuzz.py``).
"""

from __future__ import annotations

import codecs
import json
import time
import uuid
from typing import Any, Final, Protocol

import httpx
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from schema.record import FIELD_NAMES

CASES_PER_FAMILY: Final = 70
TYPES: Final = {"csv": "text/csv", "json": "application/json", "ndjson": "application/x-ndjson"}
VALID: Final = {"crime_ref": "F1", "offence_code": "19C", "recorded_date": "2024-05-02"}


class Recorder(Protocol):
    def response(self, where: str, status: int, body: bytes, what: str) -> None: ...
    def receipt(self, status: int, payload: Any) -> None: ...
    def finding(self, name: str, detail: str) -> None: ...


def _csv(rows: list[dict[str, str]]) -> str:
    lines = [",".join(FIELD_NAMES)]
    lines += [",".join(row.get(name, "") for name in FIELD_NAMES) for row in rows]
    return "\n".join(lines) + "\n"


_values = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)


@st.composite
def _rows(draw: st.DrawFn) -> list[dict[str, str]]:
    out = []
    for i in range(draw(st.integers(1, 5))):
        row = {**VALID, "crime_ref": f"F{i}-{draw(st.integers(0, 10**6))}"}
        for name in draw(st.lists(st.sampled_from(FIELD_NAMES), max_size=4)):
            row[name] = draw(_values)
        out.append(row)
    return out


@st.composite
def encodings(draw: st.DrawFn) -> tuple[bytes, str]:
    text = _csv(draw(_rows()))
    codec = draw(st.sampled_from(["utf-16", "utf-16-be", "utf-32", "latin-1", "cp1252", "utf-8"]))
    body = text.encode(codec, errors="replace")
    prefix = draw(st.sampled_from([b"", codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF32]))
    at = draw(st.integers(0, len(body)))
    return prefix + body[:at] + draw(st.binary(max_size=6)) + body[at:], "csv"


@st.composite
def huge(draw: st.DrawFn) -> tuple[bytes, str]:
    size = draw(st.sampled_from([10_001, 100_000, 2_100_000]))
    field = draw(st.sampled_from([*FIELD_NAMES, "unknown_column"]))
    kind = draw(st.sampled_from(list(TYPES)))
    row = {**VALID, field: draw(st.sampled_from(["x", "é", '"', "\n"])) * size}
    if kind == "csv":
        return _csv([row]).encode(), kind
    if kind == "json":
        return json.dumps([row]).encode(), kind
    return json.dumps(row).encode() + b"\n", kind


@st.composite
def quoting(draw: st.DrawFn) -> tuple[bytes, str]:
    text = _csv([VALID, {**VALID, "crime_ref": "F2"}, {**VALID, "crime_ref": "F3"}])
    for _ in range(draw(st.integers(1, 4))):
        piece = draw(st.sampled_from(['"', '""', '"a"b', 'a"b', '"\n', "\r", ',"', "\x00", ";"]))
        at = draw(st.integers(0, len(text)))
        text = text[:at] + piece + text[at:]
    return text.encode(), "csv"


@st.composite
def nesting(draw: st.DrawFn) -> tuple[bytes, str]:
    depth = draw(st.sampled_from([2, 64, 999, 1001, 20_000, 200_000]))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
    nested = opener * depth + "1" + closer * depth
    where = draw(st.sampled_from(["top", "value", "ndjson"]))
    if where == "top":
        return nested.encode(), "json"
    record = json.dumps(VALID)[:-1] + f', "suspect_ref": {nested}}}'
    if where == "value":
        return f"[{record}]".encode(), "json"
    return (record + "\n").encode(), "ndjson"


@st.composite
def truncated(draw: st.DrawFn) -> tuple[bytes, str]:
    kind = draw(st.sampled_from(["json", "ndjson"]))
    rows = draw(_rows())
    body = (
        json.dumps(rows).encode()
        if kind == "json"
        else b"\n".join(json.dumps(r).encode() for r in rows) + b"\n"
    )
    cut = draw(st.integers(0, len(body)))
    return body[:cut] + draw(st.binary(max_size=4)), kind


@st.composite
def noise(draw: st.DrawFn) -> tuple[bytes, str]:
    return draw(st.binary(max_size=2_000)), draw(st.sampled_from(list(TYPES)))


@st.composite
def wrong_type(draw: st.DrawFn) -> tuple[bytes, str]:
    rows = draw(_rows())
    body = draw(
        st.sampled_from(
            [_csv(rows).encode(), json.dumps(rows).encode(), json.dumps(rows[0]).encode()]
        )
    )
    return body, draw(st.sampled_from(list(TYPES)))


FAMILIES: Final = {
    "encoding": encodings(),
    "huge_field": huge(),
    "quoting": quoting(),
    "nesting": nesting(),
    "truncated": truncated(),
    "noise": noise(),
    "wrong_type": wrong_type(),
}


def run(url: str, token: str, force: str, tally: Recorder, deadline: float) -> int:
    """Push ``CASES_PER_FAMILY`` files of each family; returns how many were pushed."""
    pushed = 0
    with httpx.Client(base_url=url, timeout=120) as http:

        def push(family: str, body: bytes, kind: str) -> None:
            nonlocal pushed
            if time.monotonic() > deadline:
                return
            response = http.post(
                f"/v1/forces/{force}/submissions",
                content=body,
                headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Type": TYPES[kind],
                    "Idempotency-Key": uuid.uuid4().hex,
                },
            )
            pushed += 1
            tally.response("malformed", response.status_code, response.content, family)
            media_type = response.headers.get("content-type", "")
            if response.status_code in (200, 201):
                tally.receipt(response.status_code, response.json())
            elif not (400 <= response.status_code < 500) or "problem+json" not in media_type:
                tally.finding(
                    f"malformed {family}: not a 4xx problem document",
                    f"{response.status_code} {media_type} {response.text[:200]}",
                )

        for family, strategy in FAMILIES.items():
            _each(strategy, lambda case, family=family: push(family, *case))
    return pushed


def _each(strategy: st.SearchStrategy[tuple[bytes, str]], call: Any) -> None:
    @settings(
        max_examples=CASES_PER_FAMILY,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )
    @given(case=strategy)
    def check(case: tuple[bytes, str]) -> None:
        call(case)

    check()
