"""``soteria push``: push a file to a running gateway, with a progress bar and the receipt."""

from __future__ import annotations

import argparse
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from gateway.cli.progress import ProgressBar
from gateway.cli.validate_cmd import file_chunks

_SUFFIX_TYPES = {
    ".csv": "text/csv",
    ".json": "application/json",
    ".ndjson": "application/x-ndjson",
    ".jsonl": "application/x-ndjson",
}


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "push",
        help="Push a file of records to a running Soteria Exchange.",
        description="Push FILE for a force through the API. Credentials come from "
        "--client-id/--client-secret or SOTERIA_CLIENT_ID/SOTERIA_CLIENT_SECRET (a client "
        "with records:write for that force). Retrying with the same --idempotency-key "
        "never stores twice.",
    )
    parser.add_argument("file", type=Path, help="The file to push.")
    parser.add_argument("--force", required=True, help="Force code, e.g. west-yorkshire.")
    parser.add_argument(
        "--url", default="http://127.0.0.1:8000", help="Base URL of the API (default %(default)s)."
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="Validate and report what would change; store nothing.",
    )
    parser.add_argument(
        "--format",
        dest="fmt",
        default=None,
        help="Input format name (default: from the suffix and the force).",
    )
    parser.add_argument(
        "--idempotency-key", default=None, help="Key for safe retries (default: a new random key)."
    )
    parser.add_argument("--client-id", default=os.environ.get("SOTERIA_CLIENT_ID"))
    parser.add_argument("--client-secret", default=os.environ.get("SOTERIA_CLIENT_SECRET"))
    parser.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        help="Seconds to wait for the receipt (default 600).",
    )
    parser.set_defaults(handler=run)


def get_token(client: httpx.Client, client_id: str, client_secret: str, scope: str) -> str:
    response = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": scope},
        auth=(client_id, client_secret),
    )
    if response.status_code != 200:
        raise PushError(f"token request refused ({response.status_code}): {response.text}")
    return str(response.json()["access_token"])


class PushError(RuntimeError):
    """The server refused the push or could not be reached; the message says why."""


def push_file(
    client: httpx.Client,
    *,
    token: str,
    force: str,
    path: Path,
    key: str,
    dry_run: bool = False,
    fmt: str | None = None,
    progress: bool = True,
) -> httpx.Response:
    size = path.stat().st_size
    bar = ProgressBar(size, f"{force:>20}") if progress else None

    def body() -> Iterator[bytes]:
        for chunk in file_chunks(path):
            if bar is not None:
                bar.advance(len(chunk))
            yield chunk

    params: dict[str, str] = {}
    if dry_run:
        params["dry_run"] = "true"
    if fmt:
        params["format"] = fmt
    try:
        return client.post(
            f"/v1/forces/{force}/submissions",
            params=params,
            content=body(),
            headers={
                "Authorization": f"Bearer {token}",
                "Idempotency-Key": key,
                "Content-Type": _SUFFIX_TYPES.get(path.suffix.lower(), "text/csv"),
            },
        )
    finally:
        if bar is not None:
            bar.close()


def run(args: argparse.Namespace) -> int:
    if not args.client_id or not args.client_secret:
        print(
            "error: give --client-id and --client-secret (or SOTERIA_CLIENT_ID and "
            "SOTERIA_CLIENT_SECRET)"
        )
        return 2
    if not args.file.is_file():
        print(f"error: {args.file} is not a file")
        return 2
    key = args.idempotency_key or str(uuid.uuid4())
    try:
        with httpx.Client(base_url=args.url, timeout=args.timeout) as client:
            token = get_token(client, args.client_id, args.client_secret, "records:write")
            response = push_file(
                client,
                token=token,
                force=args.force,
                path=args.file,
                key=key,
                dry_run=args.dry_run,
                fmt=args.fmt,
            )
    except (httpx.HTTPError, PushError) as exc:
        print(f"error: {exc}")
        return 1
    print(json.dumps(response.json(), indent=2))
    return 0 if response.status_code in (200, 201) else 1
