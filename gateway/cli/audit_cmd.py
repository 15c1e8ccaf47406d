"""``soteria audit``: verify, export and archive the audit trail; sign and rotate keys.

Exit codes follow the CLI's rule: 0 ok, 1 the job found problems (a broken chain), 2 bad
usage or configuration. Reading the trail is a consultation like any other, so ``export``
requires a declared purpose and records an ``audit:export`` event (a refused export too);
``archive`` records ``audit:archive`` in the transaction that removes the rows, and
``rotate-key`` records ``audit:key:rotated``. The operator is recorded as
``cli:<login name>`` (``gateway.cli.operator``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Engine

from adapters.store.engine import make_engine
from gateway.audit import (
    ArchiveError,
    AuditError,
    AuditEvent,
    AuditSettings,
    Disclosure,
    EventFilter,
    ExportFormat,
    Outcome,
    PublicKey,
    PurposeError,
    archive_events,
    database_keys,
    iter_events,
    load_keyring,
    open_trail,
    parse_purpose,
    rotate_key,
    verify,
    verify_archive,
    write_events,
)
from gateway.cli.operator import admin_event, operator
from gateway.settings import Settings


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "audit",
        help="Audit trail: verify, export, archive, checkpoint, rotate-key.",
        description="Work with the hash-chained audit trail (docs/audit.md).",
    )
    actions = parser.add_subparsers(dest="audit_action", required=True, metavar="ACTION")

    verify = actions.add_parser("verify", help="Re-check every event, checkpoint and cut.")
    verify.add_argument(
        "--public-keys", type=Path, help="Trusted keyring JSON (default: the var keyring)."
    )
    verify.add_argument(
        "--database-keys",
        action="store_true",
        help="Also trust public keys recorded in the database (weaker: see docs/audit.md).",
    )
    verify.add_argument("--archive", type=Path, help="Verify this archive file instead.")
    verify.add_argument(
        "--workers",
        type=int,
        default=1,
        help="Worker processes for long chains (ranges of 50,000+ events each); worth it "
        "only with idle cores. Default 1.",
    )
    verify.set_defaults(handler=_verify)

    export = actions.add_parser("export", help="Write events as JSON lines or CSV.")
    export.add_argument("--from", dest="since", type=_moment, help="From (ISO date or time).")
    export.add_argument("--to", dest="until", type=_end_moment, help="To (a date includes it).")
    export.add_argument("--actor", help="Only events of this client id.")
    export.add_argument("--force", help="Only events of or about this force.")
    export.add_argument("--action", help="Only this action, or a namespace like 'auth:*'.")
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    export.add_argument("--out", type=Path, help="Output file (default: standard output).")
    export.add_argument(
        "--purpose", required=True, help="Why you are reading the trail: 'code' or 'code; text'."
    )
    export.set_defaults(handler=_export)

    archive = actions.add_parser("archive", help="Move events older than a date to a file.")
    archive.add_argument(
        "--before", type=_moment, help="Cut (ISO date or time; default: now - retention)."
    )
    archive.add_argument("--out", type=Path, required=True, help="New archive file (JSONL).")
    archive.set_defaults(handler=_archive)

    checkpoint = actions.add_parser("checkpoint", help="Sign the current head now.")
    checkpoint.set_defaults(handler=_checkpoint)

    rotate = actions.add_parser("rotate-key", help="Replace the checkpoint signing key.")
    rotate.set_defaults(handler=_rotate)


def _moment(text: str) -> dt.datetime:
    """An ISO date (midnight UTC) or date-time (UTC if it names no zone)."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO date or time: {text!r}") from exc
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _end_moment(text: str) -> dt.datetime:
    """Like ``_moment``, but a bare date means the end of that day (so it is included)."""
    value = _moment(text)
    return value + dt.timedelta(days=1) if len(text.strip()) == 10 else value


@contextmanager
def _engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings.database_url)
    try:
        yield engine
    finally:
        engine.dispose()


def _trusted_keys(args: argparse.Namespace, audit: AuditSettings) -> dict[str, PublicKey]:
    if args.public_keys is not None:
        return load_keyring(args.public_keys)
    if audit.keyring_path.exists():
        return load_keyring(audit.keyring_path)
    print(f"note: no keyring at {audit.keyring_path}; no checkpoint can verify")
    return {}


def _verify(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    audit = AuditSettings.from_settings(settings)
    with _engine(settings) as engine:
        try:
            keys = _trusted_keys(args, audit)
            if args.database_keys:
                with engine.connect() as conn:
                    keys.update(database_keys(conn))
                print("note: trusting public keys recorded in the database as well")
            if args.archive is not None:
                cut, problem = verify_archive(engine, args.archive, keys)
                if problem is not None:
                    print(f"BROKEN: {problem.kind} at event {problem.seq}: {problem.detail}")
                    return 1
                print(f"archive verified: events {cut.first_seq}..{cut.through_seq}")
                return 0
            report = verify(engine, keys, workers=args.workers)
        except AuditError as exc:
            print(f"cannot verify: {exc}", file=sys.stderr)
            return 2
    print(
        f"checked {report.events_checked} events (after anchor {report.anchor_seq}, head "
        f"{report.head_seq}), {report.checkpoints_checked} checkpoints, {report.cuts_checked} "
        f"cuts in {report.seconds:.2f}s ({report.events_per_second:,.0f} events/s)"
    )
    for problem in sorted(report.breaks, key=lambda b: b.seq):
        print(f"BROKEN: {problem.kind} at event {problem.seq}: {problem.detail}")
    return 0 if report.ok else 1


def _export(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    audit = AuditSettings.from_settings(settings)
    purpose = parse_purpose(args.purpose, audit.purposes)
    if isinstance(purpose, PurposeError):
        refused = admin_event(
            "audit:export",
            Outcome.DENIED,
            f"cli audit export {args.format}",
            reason=f"purpose_{purpose.code}",
        )
        with _engine(settings) as engine:
            open_trail(audit).append_standalone(engine, refused)
        print(purpose.message, file=sys.stderr)
        return 2
    try:
        filters = EventFilter(
            client_id=args.actor,
            force=args.force,
            action=args.action,
            since=args.since,
            until=args.until,
        )
        trail = open_trail(audit)
        out: BinaryIO = args.out.open("xb") if args.out else sys.stdout.buffer
    except (AuditError, FileExistsError) as exc:
        print(f"cannot export: {exc}", file=sys.stderr)
        return 2
    with _engine(settings) as engine:
        try:
            with engine.connect() as conn, conn.begin():
                events = iter_events(conn, filters)
                summary = write_events(events, out, ExportFormat(args.format))
        except AuditError as exc:
            print(f"cannot export: {exc}", file=sys.stderr)
            return 2
        finally:
            if args.out:
                out.close()
        trail.append_standalone(
            engine,
            AuditEvent(
                action="audit:export",
                outcome=Outcome.ALLOWED,
                actor=operator(),
                purpose=purpose,
                operation=f"cli audit export {args.format}",
                disclosure=Disclosure(rows=summary.events, response_sha256=summary.sha256),
            ),
        )
    print(f"exported {summary.events} events (sha256 {summary.sha256})", file=sys.stderr)
    return 0


def _archive(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    audit = AuditSettings.from_settings(settings)
    trail = open_trail(audit)
    before = args.before or audit.retention_cut(trail.now())
    with _engine(settings) as engine:
        try:
            report = archive_events(
                engine,
                trail,
                load_keyring(audit.keyring_path),
                before=before,
                out=args.out,
                actor=operator(),
            )
        except ArchiveError as exc:
            print(f"archive refused: {exc}", file=sys.stderr)
            return 1
    if report.cut is None:
        print(f"no events occurred before {before.isoformat()}; nothing archived")
        return 0
    cut = report.cut
    print(
        f"archived events {cut.first_seq}..{cut.through_seq} ({cut.event_count}) to "
        f"{report.path} (sha256 {cut.file_sha256}); cut signed by key {trail.signer.key_id}"
    )
    return 0


def _checkpoint(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    trail = open_trail(AuditSettings.from_settings(settings))
    with _engine(settings) as engine:
        checkpoint = trail.checkpoint(engine)
    print(
        f"checkpoint at event {checkpoint.seq}: head {checkpoint.head_hash}, "
        f"key {checkpoint.key_id}, signature {checkpoint.signature.hex()}"
    )
    return 0


def _rotate(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    audit = AuditSettings.from_settings(settings)
    try:
        key = rotate_key(audit)
    except AuditError as exc:
        # Nothing changed, and the refused key file is the one the trail would sign with.
        print(f"cannot rotate the audit key (nothing changed): {exc}", file=sys.stderr)
        return 2
    with _engine(settings) as engine:
        open_trail(audit).append_standalone(
            engine,
            admin_event("audit:key:rotated", Outcome.ALLOWED, f"audit rotate-key {key.key_id}"),
        )
    print(f"new audit signing key {key.key_id}; its public key was added to {audit.keyring_path}")
    print("restart the gateway processes so they sign with it")
    return 0
