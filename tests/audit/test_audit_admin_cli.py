"""``soteria clients`` and ``soteria keys`` leave one audit event per run, naming the
local operator; a change and its event commit together."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, func, select

from auth.models import Client, SigningKey
from gateway.audit import ChainHeadMissingError, EventFilter, StoredEvent, query_events
from gateway.audit.models import HEAD
from gateway.cli.main import main
from tests.audit.audit_testkit import Suspend

OPERATOR = f"cli:{getpass.getuser()}"


@pytest.fixture
def cli_env(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    monkeypatch.setenv("SOTERIA_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("SOTERIA_VAR_DIR", str(tmp_path / "var"))
    return engine


def _events(engine: Engine) -> list[StoredEvent]:
    with engine.connect() as conn:
        return list(query_events(conn, EventFilter()).events)


def _create(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(["clients", "create", "--json", *argv]) == 0
    client_id: str = json.loads(capsys.readouterr().out)["client_id"]
    return client_id


def test_client_administration_is_audited(
    cli_env: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    pusher = _create(
        capsys,
        "--name",
        "Kent push",
        "--scope",
        "records:write submissions:read",
        "--force",
        "kent",
    )
    assert main(["clients", "create", "--name", "x", "--scope", "admin"]) == 2
    assert main(["clients", "list", "--json"]) == 0
    assert main(["clients", "disable", pusher]) == 0
    assert main(["clients", "disable", "sx_nobody"]) == 2

    events = _events(cli_env)
    assert [(e.action, e.outcome, e.reason, e.operation) for e in events] == [
        ("auth:client:created", "allowed", None, f"clients create {pusher}"),
        ("auth:client:created", "error", "invalid_registration", "clients create"),
        ("auth:client:listed", "allowed", None, "clients list"),
        ("auth:client:disabled", "allowed", None, f"clients disable {pusher}"),
        ("auth:client:disabled", "error", "unknown_client", "clients disable sx_nobody"),
    ]
    assert {(e.subject, e.issuer, e.client_id) for e in events} == {(OPERATOR, "soteria-cli", None)}
    created, refused, listed, disabled, _ = events
    assert (created.scopes, created.forces) == (("records:write", "submissions:read"), ("kent",))
    assert refused.scopes == ("admin",)
    assert listed.rows_returned == 1
    assert (disabled.scopes, disabled.forces) == (created.scopes, created.forces)


def test_key_rotation_is_audited_with_the_new_key(
    cli_env: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keys", "rotate"]) == 0

    with cli_env.connect() as conn:
        kid = conn.execute(select(SigningKey.kid).where(SigningKey.superseded_at.is_(None)))
        current = kid.scalar_one()
    [rotated] = _events(cli_env)
    assert (rotated.action, rotated.outcome, rotated.subject) == (
        "auth:key:rotated",
        "allowed",
        OPERATOR,
    )
    assert rotated.operation == f"keys rotate {current}"


def test_a_client_is_not_created_when_its_event_cannot_be_written(
    cli_env: Engine, suspend_triggers: Suspend
) -> None:
    with cli_env.begin() as conn, suspend_triggers(conn):
        conn.execute(delete(HEAD))

    with pytest.raises(ChainHeadMissingError):
        main(["clients", "create", "--name", "x", "--scope", "indicators:read"])

    with cli_env.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Client)).scalar() == 0


def test_a_refused_export_is_audited(cli_env: Engine) -> None:
    assert main(["audit", "export", "--purpose", "curiosity"]) == 2

    [refused] = _events(cli_env)
    assert (refused.action, refused.outcome, refused.reason, refused.subject) == (
        "audit:export",
        "denied",
        "purpose_unknown_purpose",
        OPERATOR,
    )
