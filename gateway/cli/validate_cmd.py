"""``soteria validate``: the push path's validation, offline, with the same error report."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from adapters.checking import checked_rows, header_issues
from adapters.errors import AdapterError
from adapters.store.errors import MAX_REPORTED_ISSUES
from gateway.forces_config import load_forces_config
from gateway.settings import Settings
from gateway.submission_formats import UnsupportedFormatError, choose_format
from schema import codelists
from schema.validation import Issue, Severity

_SUFFIX_TYPES = {
    ".csv": "text/csv",
    ".json": "application/json",
    ".ndjson": "application/x-ndjson",
    ".jsonl": "application/x-ndjson",
}


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "validate",
        help="Validate a file offline, exactly as the push path would.",
        description="Validate FILE against Record Standard v1 for a force, with the push "
        "path's error report. Exit 1 if there are errors.",
    )
    parser.add_argument("file", type=Path, help="The file to check.")
    parser.add_argument("--force", required=True, help="Force code, e.g. west-yorkshire.")
    parser.add_argument(
        "--format",
        dest="fmt",
        default=None,
        help="standard-csv, standard-json, standard-ndjson or mapped-csv "
        "(default: from the file suffix and the force's configuration).",
    )
    parser.add_argument("--json", action="store_true", help="Print the report as JSON.")
    parser.set_defaults(handler=run)


def file_chunks(path: Path, size: int = 1 << 16) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(size):
            yield chunk


def run(args: argparse.Namespace) -> int:
    if codelists.force(args.force) is None:
        print(f"error: there is no force '{args.force}'")
        return 2
    settings = Settings.from_env()
    forces = load_forces_config(settings.forces_config)
    content_type = _SUFFIX_TYPES.get(args.file.suffix.lower(), "text/csv")
    try:
        fmt = choose_format(forces, args.force, content_type, args.fmt)
    except UnsupportedFormatError as exc:
        print(f"error: {exc}")
        return 2
    errors: list[Issue] = []
    warnings: list[Issue] = []
    rows = 0
    try:
        parsed = fmt.parse(file_chunks(args.file))
        errors.extend(header_issues(parsed))
        for _number, _record, issues in checked_rows(parsed, dt.datetime.now(dt.UTC).date()):
            rows += 1
            for issue in issues:
                (errors if issue.severity is Severity.ERROR else warnings).append(issue)
    except AdapterError as exc:
        print(f"error: {exc}")
        return 1
    except OSError as exc:
        print(f"error: cannot read {args.file}: {exc.strerror}")
        return 2
    report = {
        "file": str(args.file),
        "force": args.force,
        "format": fmt.name,
        "rows": rows,
        "error_count": len(errors),
        "warning_count": len(warnings),
        "errors": [i.as_dict() for i in errors[:MAX_REPORTED_ISSUES]],
        "warnings": [i.as_dict() for i in warnings[:MAX_REPORTED_ISSUES]],
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for issue in errors[:MAX_REPORTED_ISSUES] + warnings[:MAX_REPORTED_ISSUES]:
            where = f"row {issue.row}" if issue.row is not None else "header"
            print(
                f"{issue.severity}: {where}, {issue.field or '-'}: {issue.message} [{issue.code}]"
            )
        verdict = "refused" if errors else "valid"
        print(
            f"{args.file}: {rows} rows, {len(errors)} errors, {len(warnings)} warnings: {verdict}"
        )
    return 1 if errors else 0
