"""The services a running gateway holds, built once in the lifespan and shared by routes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Engine
from starlette.requests import HTTPConnection

from adapters.store.ingest import ChangeHook
from gateway.forces_config import ForcesConfig
from gateway.settings import Settings


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Services:
    settings: Settings
    engine: Engine
    forces: ForcesConfig
    clock: Callable[[], dt.datetime] = utc_now
    ingest_hooks: Sequence[ChangeHook] = ()
    # Filled by the packages that plug into the app (auth runtime, indicator service, ...).
    extras: dict[str, Any] = field(default_factory=dict)


def services_of(conn: HTTPConnection) -> Services:
    return cast(Services, conn.app.state.services)
