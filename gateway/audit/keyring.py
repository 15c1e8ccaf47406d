"""Public keys for verifying checkpoints: the keyring file, and the database's copy.

Trust comes from where a verifier gets its public keys. The keyring file
(``<var>/audit-public-keys.json``) is written when a signing key is created or rotated; an
auditor copies it somewhere the gateway cannot write and verifies against that copy. The
``audit_signing_keys`` table is filled automatically by each signer on its first
checkpoint, which is convenient when several hosts sign, but anyone who can write the
database can add a key there, so ``soteria audit verify`` trusts it only when asked.

Keys are never removed from a keyring: a checkpoint signed years ago must still verify.
The file format::

    {"version": 1, "keys": [{"key_id": "...", "algorithm": "ed25519",
                             "public_key": "<base64 of the raw 32 bytes>"}]}
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import fcntl
import json
import os
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, select

from gateway.audit.errors import PublicKeyError
from gateway.audit.models import SIGNING_KEYS
from gateway.audit.signing import PublicKey

KEYRING_FILE_NAME: Final = "audit-public-keys.json"


def load_keyring(path: Path) -> dict[str, PublicKey]:
    """The keys in a keyring file, by key id. Raises ``PublicKeyError``."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        entries = document["keys"]
        return dict(_key_item(entry) for entry in entries)
    except FileNotFoundError:
        raise PublicKeyError(f"keyring {path} does not exist") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PublicKeyError(f"keyring {path} is not a valid audit keyring") from exc


def add_to_keyring(path: Path, key: PublicKey) -> None:
    """Add ``key`` to the keyring file (created if absent); other keys are kept."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path):
        keys = load_keyring(path) if path.exists() else {}
        if key.key_id in keys:
            return
        keys[key.key_id] = key
        document = {"version": 1, "keys": [_key_json(k) for k in keys.values()]}
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        temporary.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        temporary.replace(path)


def register_key(conn: Connection, key: PublicKey, now: dt.datetime) -> None:
    """Record ``key`` in ``audit_signing_keys`` if it is not there yet (caller's transaction)."""
    known = conn.execute(
        select(SIGNING_KEYS.c.key_id).where(SIGNING_KEYS.c.key_id == key.key_id)
    ).first()
    if known is None:
        conn.execute(
            SIGNING_KEYS.insert().values(
                key_id=key.key_id,
                algorithm=key.algorithm,
                public_key=_encode(key.raw),
                created_at=now,
            )
        )


def database_keys(conn: Connection) -> dict[str, PublicKey]:
    """Every key in ``audit_signing_keys``, by key id (see the module's note on trust)."""
    rows = conn.execute(
        select(SIGNING_KEYS.c.key_id, SIGNING_KEYS.c.algorithm, SIGNING_KEYS.c.public_key)
    )
    keys: dict[str, PublicKey] = {}
    for key_id, algorithm, public_key in rows:
        entry = {"key_id": key_id, "algorithm": algorithm, "public_key": public_key}
        try:
            keys.update([_key_item(entry)])
        except (ValueError, KeyError) as exc:
            raise PublicKeyError(f"audit_signing_keys holds a malformed key {key_id}") from exc
    return keys


def _key_item(entry: Mapping[str, Any]) -> tuple[str, PublicKey]:
    if entry["algorithm"] != "ed25519":
        raise ValueError(f"unsupported algorithm {entry['algorithm']!r}")
    try:
        raw = base64.b64decode(entry["public_key"], validate=True)
    except binascii.Error as exc:
        raise ValueError("public_key is not base64") from exc
    key = PublicKey.ed25519(raw)
    if key.key_id != entry["key_id"]:
        raise ValueError(f"key id {entry['key_id']!r} does not match its key")
    return key.key_id, key


def _key_json(key: PublicKey) -> dict[str, str]:
    return {"key_id": key.key_id, "algorithm": key.algorithm, "public_key": _encode(key.raw)}


def _encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialise read-modify-write of the keyring between processes on this host."""
    fd = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
