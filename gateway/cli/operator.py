"""The local operator as an audit actor, and the trail administrative commands write to.

Commands that change credentials or keys (``soteria clients``, ``soteria keys``,
``soteria audit``) act for whoever runs them on the host, not for an OAuth client: the
actor is ``cli:<login name>`` with issuer ``soteria-cli``. The OS account is the only
identity a local command has, so run them from personal accounts, not a shared one, for
the trail to name a person.

What an administrative event holds: ``operation`` names the command and what it acted
on (``clients disable sx_...``, ``keys rotate <kid>``); for ``auth:client:*`` events
``scopes`` and ``forces`` are the scopes and force of the client acted on. A refused
command is recorded too, with outcome ``error`` and a ``reason``.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

from adapters.store.engine import make_engine
from gateway.audit import (
    Actor,
    AuditEvent,
    AuditSettings,
    AuditTrail,
    Disclosure,
    Outcome,
    Purpose,
    caller_values,
    open_trail,
)
from gateway.settings import Settings

ISSUER = "soteria-cli"


def operator() -> Actor:
    """The person running the command, as the OS knows them."""
    try:
        login = getpass.getuser()
    except (OSError, KeyError):
        login = "unknown"
    return Actor(subject=f"cli:{login}", issuer=ISSUER)


def trail_for(settings: Settings) -> AuditTrail:
    return open_trail(AuditSettings.from_settings(settings))


@contextmanager
def database(settings: Settings) -> Iterator[Engine]:
    """An engine for one command, disposed when it ends."""
    engine = make_engine(settings.database_url)
    try:
        yield engine
    finally:
        engine.dispose()


def admin_event(
    action: str,
    outcome: Outcome,
    operation: str,
    *,
    reason: str | None = None,
    scopes: Iterable[str] = (),
    forces: Iterable[str | None] = (),
    rows: int | None = None,
    purpose: Purpose | None = None,
    response_sha256: str | None = None,
) -> AuditEvent:
    """The event of one administrative command run by the local operator."""
    return AuditEvent(
        action=action,
        outcome=outcome,
        actor=operator(),
        scopes=caller_values(scopes, limit=50),
        forces=caller_values(force for force in forces if force),
        operation=operation[:200],
        purpose=purpose,
        disclosure=Disclosure(rows=rows, response_sha256=response_sha256),
        reason=reason,
    )
