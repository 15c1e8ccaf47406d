"""The canonical form of an audit event, and the hashes built on it.

Why a canonical form: an event's hash must be recomputable by anyone, in any language,
from the stored columns or from an export, years later. So it is taken over a documented
byte string, never over a Python ``repr`` or a driver's rendering of a row.

The canonical form, version 1 (``docs/audit.md`` is the reference):

* a JSON object whose keys are exactly ``FIELDS`` (the ``audit_events`` column names
  except ``event_hash``), sorted, with no whitespace, encoded as UTF-8;
* strings escaped minimally (``"``, ``\\`` and control characters only; non-ASCII as is);
* integers in decimal (no floats ever occur), absent values as ``null``;
* ``scopes``, ``forces`` and ``periods`` as arrays of strings, sorted and without duplicates;
* ``occurred_at`` as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (UTC, always six fractional digits).

For these value types this is the RFC 8785 (JCS) serialisation; in Python it is
``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()``
(a test holds orjson to that). ``event_hash`` is the lowercase hex SHA-256 of those bytes,
and the object includes ``prev_hash``, the previous event's ``event_hash`` (``GENESIS_HASH``
for the first event ever), which is what makes the events one chain.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from typing import Any, Final

import orjson

FORMAT_VERSION: Final = 1
GENESIS_HASH: Final = "0" * 64
TIME_FORMAT: Final = "%Y-%m-%dT%H:%M:%S.%fZ"

# The keys of the canonical object, sorted: also the audit_events columns, in this order.
FIELDS: Final[tuple[str, ...]] = (
    "action",
    "actor_force",
    "cells_returned",
    "cells_suppressed",
    "client_address",
    "client_id",
    "forces",
    "issuer",
    "occurred_at",
    "operation",
    "outcome",
    "periods",
    "prev_hash",
    "purpose_code",
    "purpose_text",
    "query_sha256",
    "reason",
    "request_id",
    "response_sha256",
    "rows_returned",
    "scopes",
    "seq",
    "span_id",
    "subject",
    "trace_id",
    "version",
)
LIST_FIELDS: Final = frozenset({"scopes", "forces", "periods"})

# Checkpoint signatures cover this prefix too, so a signature over an event-shaped
# payload can never be replayed as a checkpoint (domain separation).
CHECKPOINT_DOMAIN: Final = b"soteria-audit-checkpoint:v1\n"


def format_time(value: dt.datetime) -> str:
    """The canonical text of an aware datetime: UTC, microseconds, ``Z``."""
    if value.tzinfo is None:
        raise ValueError("naive datetimes have no canonical form; give a timezone")
    return value.astimezone(dt.UTC).strftime(TIME_FORMAT)


def parse_time(text: str) -> dt.datetime:
    """The inverse of ``format_time``; refuses any other spelling of a time."""
    return dt.datetime.strptime(text, TIME_FORMAT).replace(tzinfo=dt.UTC)


def canonical_bytes(obj: Mapping[str, Any]) -> bytes:
    """Sorted-key, whitespace-free UTF-8 JSON of ``obj`` (strings, ints, None, lists, maps)."""
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)


def hash_fields(fields: Mapping[str, Any]) -> str:
    """The ``event_hash`` of an event given as its canonical field mapping."""
    return hashlib.sha256(canonical_bytes(fields)).hexdigest()


def join_list(items: tuple[str, ...] | list[str]) -> str:
    """How a list field is stored in its column: items joined by single spaces."""
    return " ".join(items)


def split_list(stored: str | None) -> list[str]:
    """The inverse of ``join_list`` (items never contain whitespace; see events.py)."""
    return stored.split(" ") if stored else []


def digest_query(query: str, variables: Mapping[str, Any] | None = None) -> str:
    """SHA-256 of a GraphQL query and its variables, for ``AuditEvent.query_sha256``.

    The audit keeps this digest, never the variables themselves: they may hold case
    references. The same query and variables always give the same digest, so an auditor
    holding a candidate query can confirm what was asked.
    """
    payload = {"query": query, "variables": dict(variables or {})}
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()


def digest_operation(query_sha256: str | None, variables_sha256: str | None) -> str | None:
    """``AuditEvent.query_sha256`` of a GraphQL request, from the digests its transport keeps.

    SHA-256 of the canonical JSON ``{"query_sha256": Q, "variables_sha256": V}``, where Q
    is the SHA-256 of the query text (UTF-8) and V that of the variables as sorted-key
    compact JSON (null without variables). An auditor holding a candidate query and its
    variables recomputes both and then this; the trail holds neither.
    """
    if query_sha256 is None:
        return None
    payload = {"query_sha256": query_sha256, "variables_sha256": variables_sha256}
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()


def digest_bytes(body: bytes) -> str:
    """SHA-256 of a response body, for ``Disclosure.response_sha256``."""
    return hashlib.sha256(body).hexdigest()


def checkpoint_message(payload: Mapping[str, Any]) -> bytes:
    """The bytes a checkpoint signature covers: the domain prefix and the payload."""
    return CHECKPOINT_DOMAIN + canonical_bytes(payload)
