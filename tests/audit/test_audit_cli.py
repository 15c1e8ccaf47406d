"""``soteria audit``: export, verify, archive, checkpoint and rotate-key end to end."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, update

from gateway.audit import AuditSettings, EventFilter, iter_events, open_trail
from gateway.audit.models import EVENTS
from gateway.cli import audit_cmd
from gateway.settings import Settings
from tests.audit.audit_testkit import Suspend, fill, tamper


def soteria(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="soteria")
    audit_cmd.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    result: int = args.handler(args)
    return result


@pytest.fixture
def cli_env(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AuditSettings:
    monkeypatch.setenv("SOTERIA_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("SOTERIA_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SOTERIA_AUDIT_CHECKPOINT_EVERY", "4")
    return AuditSettings.from_settings(Settings.from_env())


def test_export_writes_events_and_records_the_consultation(
    engine: Engine, cli_env: AuditSettings, tmp_path: Path
) -> None:
    fill(engine, open_trail(cli_env), 6)
    out = tmp_path / "export.jsonl"

    code = soteria(
        "audit", "export", "--actor", "client-1", "--out", str(out),
        "--purpose", "audit; DPO quarterly review",
    )  # fmt: skip

    assert code == 0
    exported = [json.loads(line) for line in out.read_text().splitlines()]
    assert [e["seq"] for e in exported] == [2, 5]
    assert {e["client_id"] for e in exported} == {"client-1"}
    with engine.connect() as conn:
        last = list(iter_events(conn, EventFilter(action="audit:export")))
    assert len(last) == 1
    assert (last[0].purpose_code, last[0].purpose_text) == ("audit", "DPO quarterly review")
    assert last[0].rows_returned == 2
    assert last[0].subject is not None
    assert last[0].subject.startswith("cli:")


def test_export_requires_a_declared_purpose(
    cli_env: AuditSettings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = soteria("audit", "export", "--purpose", "curiosity", "--out", str(tmp_path / "x"))

    assert code == 2
    assert "not a declared purpose" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_export_csv_between_dates(engine: Engine, cli_env: AuditSettings, tmp_path: Path) -> None:
    fill(engine, open_trail(cli_env), 3)
    out = tmp_path / "export.csv"
    today = dt.datetime.now(dt.UTC).date().isoformat()

    code = soteria(
        "audit", "export", "--from", today, "--to", today, "--format", "csv", "--out", str(out),
        "--purpose", "audit",
    )  # fmt: skip

    assert code == 0
    assert len(out.read_text().splitlines()) == 1 + 3


def test_verify_archive_and_verify_again(
    engine: Engine,
    cli_env: AuditSettings,
    tmp_path: Path,
    suspend_triggers: Suspend,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fill(engine, open_trail(cli_env), 9)
    archive = tmp_path / "archive.jsonl"
    tomorrow = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).date().isoformat()

    assert soteria("audit", "verify") == 0
    assert soteria("audit", "archive", "--before", tomorrow, "--out", str(archive)) == 0
    assert soteria("audit", "checkpoint") == 0
    assert soteria("audit", "verify") == 0
    assert soteria("audit", "verify", "--archive", str(archive)) == 0
    assert "archived events 1..9 (9)" in capsys.readouterr().out

    tamper(engine, suspend_triggers, update(EVENTS).where(EVENTS.c.seq == 10).values(reason="x"))
    assert soteria("audit", "verify") == 1
    assert "BROKEN: edited at event 10" in capsys.readouterr().out


def test_rotate_key_keeps_old_checkpoints_verifiable(
    engine: Engine, cli_env: AuditSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    fill(engine, open_trail(cli_env), 5)

    assert soteria("audit", "rotate-key") == 0
    with engine.connect() as conn:
        rotations = list(iter_events(conn, EventFilter(action="audit:key:rotated")))
    assert [e.seq for e in rotations] == [6]
    fill(engine, open_trail(cli_env), 2, start=6)

    assert soteria("audit", "verify") == 0  # checkpoint 4 (old key) and 8 (new key)
    assert "2 checkpoints" in capsys.readouterr().out
    assert soteria("audit", "verify", "--public-keys", str(cli_env.key_path)) == 2
    assert "not a valid audit keyring" in capsys.readouterr().err
