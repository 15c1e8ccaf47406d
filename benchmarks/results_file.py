"""A harness's results file and the generated section of its page, shared by ``make bench``
and ``make reliability``: results accumulate per part, and only the text between a page's
two markers is rewritten (the rest is written by hand)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def load(path: Path) -> dict[str, Any]:
    if path.exists():
        loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return loaded
    return {"parts": {}}


def save(path: Path, results: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def replace_section(doc: Path, start_marker: str, end_marker: str, section: str) -> None:
    """Put ``section`` (which carries both markers) where the old one was."""
    text = doc.read_text(encoding="utf-8")
    start, end = text.find(start_marker), text.find(end_marker)
    if start < 0 or end < start:
        raise RuntimeError(f"{doc} has lost its figure markers")
    doc.write_text(text[:start] + section + text[end + len(end_marker) :], encoding="utf-8")
