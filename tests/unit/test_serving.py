"""``settle_heap``: what a serving process sets before it serves (in a process of its own:
the settings are process-wide and the test process must keep CPython's defaults)."""

from __future__ import annotations

import json
import subprocess
import sys

from gateway.serving import YOUNG_THRESHOLD

PROBE = """
import gc, json
from gateway.serving import settle_heap
before = gc.get_threshold()
settle_heap()
print(json.dumps({"frozen": gc.get_freeze_count(), "before": before, "after": gc.get_threshold()}))
"""


def test_objects_at_start_are_frozen_and_young_collections_are_rarer() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    seen = json.loads(out.stdout)
    assert seen["frozen"] > 1_000  # at least the interpreter's own modules
    assert seen["after"] == [YOUNG_THRESHOLD, *seen["before"][1:]]
