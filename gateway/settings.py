"""One frozen, typed settings object, read from ``SOTERIA_*`` environment variables.

Built once by the CLI (``Settings.from_env()``) and handed to ``create_app``; nothing else
reads the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

DEFAULT_DATABASE_URL = "sqlite:///var/soteria.db"


class SettingsError(ValueError):
    """A SOTERIA_* variable has a value that cannot be used."""


def _parse_bool(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false, not {raw!r}.")


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    # PostgreSQL connections each process keeps open; as many again open in a burst and
    # close after it. Requests run in up to 40 worker threads, each holding one connection
    # at a time: a pool smaller than the concurrency opens and closes a connection for
    # most requests under load (a new PostgreSQL backend each time).
    database_pool_size: int = 20
    # Where the key-encryption key and other local secrets of the embedded default live.
    var_dir: Path = Path("var")
    # The public base URL: the token issuer and the audience derive from it.
    public_url: str = "http://127.0.0.1:8000"
    max_body_bytes: int = 512 * 1024 * 1024
    forces_config: Path | None = None  # TOML: per-force format, mapping and source
    disclosure_k: int = 10
    token_lifetime_seconds: int = 900
    rate_limit_per_second: float = 50.0
    rate_limit_burst: int = 200
    token_rate_limit_per_second: float = 5.0
    token_rate_limit_burst: int = 50
    external_issuers_file: Path | None = None
    # Base64 key-encryption key for signing keys at rest; unset: a 0600 file in var_dir.
    kek: str | None = None
    purposes: tuple[str, ...] = (
        "performance-monitoring",
        "data-quality",
        "research",
        "audit",
        "foi-request",
    )
    # Per-source deadline of a fan-out: force nodes across the network...
    source_timeout_seconds: float = 2.0
    # ...and this deployment's own stores (a cold first read of a large store takes seconds).
    local_source_timeout_seconds: float = 30.0
    # Set on a force node (``soteria node --force CODE``): the one force it holds.
    node_force: str | None = None
    audit_checkpoint_every: int = 1000
    # Audit events older than this are archived by `soteria audit archive` (six years).
    audit_retention_days: int = 2192
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def issuer(self) -> str:
        return self.public_url.rstrip("/")

    @property
    def audience(self) -> str:
        return self.public_url.rstrip("/") + "/api"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if environ is None else environ
        hints = get_type_hints(cls)
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "extra":
                continue
            name = "SOTERIA_" + f.name.upper()
            if name not in env:
                continue
            values[f.name] = _convert(name, env[name], hints[f.name])
        values.update(overrides)
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        if self.disclosure_k < 2:
            raise SettingsError("SOTERIA_DISCLOSURE_K must be at least 2.")
        if not 1 <= self.database_pool_size <= 200:
            raise SettingsError("SOTERIA_DATABASE_POOL_SIZE must be between 1 and 200.")
        if self.max_body_bytes < 1024:
            raise SettingsError("SOTERIA_MAX_BODY_BYTES must be at least 1024.")


def _convert(name: str, raw: str, hint: Any) -> Any:
    text = str(hint)
    try:
        if hint is bool:
            return _parse_bool(name, raw)
        if hint is int:
            return int(raw)
        if hint is float:
            return float(raw)
        if "Path" in text:
            return Path(raw) if raw else None
        if "tuple" in text:
            return tuple(part.strip() for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise SettingsError(f"{name}={raw!r} is not a valid value: {exc}") from exc
    return raw
