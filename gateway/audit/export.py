"""Exporting events for auditors: JSON lines (exact) or CSV (for spreadsheets), streamed.

A JSONL line is an event's canonical object plus ``event_hash`` (keys sorted), so an
export can be re-verified line by line with nothing but a JSON library and SHA-256; the
archive files are the same format. CSV has the same columns (lists space-separated, null
as an empty cell) and is for reading: to keep a spreadsheet from executing a client-chosen
value as a formula, a text cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage
return is written with a leading ``'`` (OWASP's CSV-injection advice). Use JSONL when the
exact values matter.

Both writers stream (the events come from a server-side cursor) and return the count and
the SHA-256 of the bytes written, which the caller records in its ``audit:export`` event.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import BinaryIO, Final

import orjson

from gateway.audit.canonical import FIELDS
from gateway.audit.events import StoredEvent

COLUMNS: Final = (*FIELDS, "event_hash")
_FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")
_FLUSH_EVERY: Final = 500


class ExportFormat(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"


@dataclass(frozen=True, slots=True)
class ExportSummary:
    events: int
    sha256: str
    first_seq: int | None
    last_seq: int | None
    last_hash: str | None


class _HashingWriter:
    """Writes to ``out`` and keeps the SHA-256 and the size of everything written."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._digest = hashlib.sha256()

    def write(self, data: bytes) -> None:
        self._digest.update(data)
        self._out.write(data)

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


def write_events(
    events: Iterable[StoredEvent], out: BinaryIO, fmt: ExportFormat = ExportFormat.JSONL
) -> ExportSummary:
    """Write ``events`` to ``out`` in ``fmt``; returns what was written."""
    writer = _HashingWriter(out)
    count, first, last = 0, None, None
    buffer = io.StringIO()
    table = csv.writer(buffer, lineterminator="\r\n")
    if fmt is ExportFormat.CSV:
        table.writerow(COLUMNS)
    for event in events:
        count += 1
        first = first or event
        last = event
        if fmt is ExportFormat.JSONL:
            writer.write(orjson.dumps(event.export_record(), option=orjson.OPT_SORT_KEYS) + b"\n")
            continue
        table.writerow(_csv_cells(event))
        if count % _FLUSH_EVERY == 0:
            writer.write(buffer.getvalue().encode("utf-8"))
            buffer.seek(0)
            buffer.truncate()
    if fmt is ExportFormat.CSV:
        writer.write(buffer.getvalue().encode("utf-8"))
    return ExportSummary(
        events=count,
        sha256=writer.hexdigest(),
        first_seq=first.seq if first else None,
        last_seq=last.seq if last else None,
        last_hash=last.event_hash if last else None,
    )


def _csv_cells(event: StoredEvent) -> list[str]:
    record = event.export_record()
    cells: list[str] = []
    for name in COLUMNS:
        value = record[name]
        if value is None:
            cells.append("")
        elif isinstance(value, list):
            cells.append(_defuse(" ".join(value)))
        elif isinstance(value, str):
            cells.append(_defuse(value))
        else:
            cells.append(str(value))
    return cells


def _defuse(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_STARTS) else value
