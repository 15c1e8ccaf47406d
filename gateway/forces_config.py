"""Per-force configuration: which input format a force pushes and where its data lives.

Configuration, not code: a TOML file (``SOTERIA_FORCES_CONFIG``) such as::

    [forces.west-yorkshire]
    format = "mapped-csv"
    mapping = "docs/examples/mappings/west-yorkshire.toml"

    [forces.kent]
    source = "remote"
    url = "http://127.0.0.1:8101"

Forces not listed push the standard formats and are held in this deployment's store.
Relative paths are resolved against the configuration file's folder.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schema import codelists


class ForcesConfigError(ValueError):
    """The forces configuration file is unusable; the message says where."""


@dataclass(frozen=True, slots=True)
class ForceConfig:
    code: str
    csv_format: str = "standard-csv"
    mapping: Path | None = None
    source: str = "local"  # local | remote
    url: str | None = None  # remote: the force node's base URL
    database_url: str | None = None  # local: a store of its own (else the shared one)
    client_id: str | None = None  # remote: the gateway's client at that node
    client_secret_file: Path | None = None


@dataclass(frozen=True, slots=True)
class ForcesConfig:
    forces: dict[str, ForceConfig] = field(default_factory=dict)
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def get(self, code: str) -> ForceConfig:
        return self.forces.get(code) or ForceConfig(code)


_FORCE_KEYS = {
    "format",
    "mapping",
    "source",
    "url",
    "database_url",
    "client_id",
    "client_secret_file",
}


def load_forces_config(path: Path | None) -> ForcesConfig:
    if path is None:
        return ForcesConfig()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ForcesConfigError(f"Cannot read forces configuration {path}: {exc}") from exc
    base = path.parent
    forces: dict[str, ForceConfig] = {}
    for code, entry in (data.get("forces") or {}).items():
        forces[code] = _force(code, entry, base)
    groups: dict[str, tuple[str, ...]] = {}
    for name, members in (data.get("groups") or {}).items():
        unknown = [m for m in members if codelists.force(m) is None]
        if unknown:
            raise ForcesConfigError(f"Group '{name}' names unknown forces: {', '.join(unknown)}.")
        groups[name] = tuple(members)
    return ForcesConfig(forces, groups)


def _force(code: str, entry: dict[str, Any], base: Path) -> ForceConfig:
    if codelists.force(code) is None:
        raise ForcesConfigError(f"[forces.{code}]: there is no force '{code}'.")
    unknown = set(entry) - _FORCE_KEYS
    if unknown:
        raise ForcesConfigError(f"[forces.{code}]: unknown keys {', '.join(sorted(unknown))}.")
    fmt = entry.get("format", "standard-csv")
    if fmt not in ("standard-csv", "mapped-csv"):
        raise ForcesConfigError(f"[forces.{code}] format must be standard-csv or mapped-csv.")
    mapping = base / entry["mapping"] if "mapping" in entry else None
    if fmt == "mapped-csv" and mapping is None:
        raise ForcesConfigError(f"[forces.{code}] mapped-csv needs a mapping file.")
    source = entry.get("source", "local")
    if source not in ("local", "remote"):
        raise ForcesConfigError(f"[forces.{code}] source must be local or remote.")
    if source == "remote" and not entry.get("url"):
        raise ForcesConfigError(f"[forces.{code}] a remote source needs a url.")
    secret = entry.get("client_secret_file")
    return ForceConfig(
        code=code,
        csv_format=fmt,
        mapping=mapping,
        source=source,
        url=entry.get("url"),
        database_url=entry.get("database_url"),
        client_id=entry.get("client_id"),
        client_secret_file=base / secret if secret else None,
    )
