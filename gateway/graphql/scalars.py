"""``JSONPayload``: the fast path for large, pre-built results.

graphene is slow per resolved field (STYLE point 11), so a big table is better returned
as one value of this scalar than as thousands of objects. graphql-core hands the value
to ``serialize`` once and does not look inside it; the endpoint then writes the whole
response with one ``orjson.dumps``. A resolver may return:

* plain JSON-compatible Python data (dicts, lists, str, int, float, bool, None), or
* ``prebuilt(payload_bytes)``: JSON already serialised (a cached table, say), which
  orjson copies into the response as it is, without parsing or walking it.

The bytes given to ``prebuilt`` must be valid JSON; orjson does not check them. A context
that also lists them, in order, in an ``embedded`` list lets the endpoint hash them once
for the audit's response digest (``gateway.graphql.body_digest``) instead of per request.
The scalar is output-only: as an argument it is refused at validation.
"""

from __future__ import annotations

from typing import Any

import graphene
import orjson
from graphql import Undefined, ValueNode


class JSONPayload(graphene.Scalar):
    """A JSON value (object, array or scalar), returned as it is. Output only."""

    @staticmethod
    def serialize(value: Any) -> Any:
        return value

    @staticmethod
    def parse_value(value: Any) -> Any:
        raise ValueError("JSONPayload is an output type and cannot be given as input")

    @staticmethod
    def parse_literal(node: ValueNode, _variables: Any = None) -> Any:
        return Undefined


def prebuilt(payload: bytes) -> orjson.Fragment:
    """Pre-serialised JSON to return from a ``JSONPayload`` field, copied into the response."""
    return orjson.Fragment(payload)
