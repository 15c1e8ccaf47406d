"""The demo's OAuth clients: made once, remembered in a 0600 file under the var dir.

Re-running ``make demo`` reuses them (their secrets cannot be read back from the database,
which stores only hashes), so the printed curl lines keep working.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from adapters.store.engine import immediate_writes
from auth.clients import create_client, get_client
from schema import codelists

SHOWCASE_FORCES = ("west-yorkshire", "dyfed-powys", "kent")


@dataclass(frozen=True)
class DemoClient:
    role: str
    name: str
    scopes: str
    force: str | None
    client_id: str
    client_secret: str


def _wanted() -> list[tuple[str, str, str, str | None]]:
    """(role, name, scopes, force) for every demo client."""
    wanted: list[tuple[str, str, str, str | None]] = [
        ("analyst", "Joint Unit analyst (demo)", "indicators:read", None),
        (
            "analyst-exact",
            "Joint Unit cleared analyst (demo)",
            "indicators:read indicators:exact",
            None,
        ),
        ("auditor", "Data protection auditor (demo)", "audit:read submissions:read", None),
        ("federation", "Gateway at force nodes (demo)", "federation:read", None),
    ]
    wanted += [
        (
            f"force:{f.code}",
            f"{f.name} record system (demo)",
            "records:write submissions:read indicators:read",
            f.code,
        )
        for f in codelists.forces()
    ]
    return wanted


def ensure_demo_clients(engine: Engine, path: Path) -> dict[str, DemoClient]:
    known: dict[str, DemoClient] = {}
    if path.exists():
        known = {c["role"]: DemoClient(**c) for c in json.loads(path.read_text("utf-8"))}
    result: dict[str, DemoClient] = {}
    with Session(immediate_writes(engine)) as session:
        for role, name, scopes, force in _wanted():
            existing = known.get(role)
            if existing is not None and get_client(session, existing.client_id) is not None:
                result[role] = existing
                continue
            new = create_client(session, name=name, scopes=scopes.split(), force=force)
            assert new.client_secret is not None
            result[role] = DemoClient(role, name, scopes, force, new.client_id, new.client_secret)
        session.commit()
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump([asdict(c) for c in result.values()], handle, indent=2)
    return result
