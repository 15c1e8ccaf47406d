"""Timing, medians, and the machine a figure was measured on."""

from __future__ import annotations

import os
import platform
import sqlite3
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import psutil
from sqlalchemy import Engine, text

T = TypeVar("T")


def timed(work: Callable[[], T]) -> tuple[float, T]:
    """(seconds, result) of one call, by the monotonic performance counter."""
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


@dataclass
class Series:
    """Repeated measurements of one quantity; figures use the median."""

    values: list[float] = field(default_factory=list)

    def add(self, value: float) -> None:
        self.values.append(value)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def rounded(self, digits: int = 4) -> list[float]:
        return [round(v, digits) for v in self.values]


def load() -> tuple[float, float, float]:
    """The 1, 5 and 15 minute load averages (the machine is shared: a busy box slows all)."""
    one, five, fifteen = os.getloadavg()
    return round(one, 2), round(five, 2), round(fifteen, 2)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine(engine: Engine | None = None) -> dict[str, Any]:
    """What the figures were measured on, for the report."""
    described: dict[str, Any] = {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
    }
    if engine is not None:
        with engine.connect() as conn:
            described["postgresql"] = conn.execute(text("SHOW server_version")).scalar_one()
    return described
