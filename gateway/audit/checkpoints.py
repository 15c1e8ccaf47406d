"""Signed checkpoints: "the chain up to ``seq`` ends in ``head_hash``", signed by our key.

Why: the hash chain alone proves order and integrity only against someone who cannot
recompute hashes. Anyone with database write access can rewrite an event and re-hash
everything after it; a checkpoint signed with a key that never enters the database pins
the chain, so such a rewrite shows up at the next checkpoint, and removing events from the
end shows up as the chain stopping short of a signed checkpoint.

Checkpoints are written every ``checkpoint_every`` events (inside the append that reaches
that number), on demand (``AuditTrail.checkpoint``), and by every archive, where the
payload also records the cut. The signed bytes are ``CHECKPOINT_DOMAIN`` followed by the
canonical JSON (canonical.py) of::

    {"archive": null | {"event_count", "file_sha256", "first_seq", "last_hash",
                        "through_seq", "archived_at"},
     "created_at", "head_hash", "key_id", "kind", "seq", "version": 1}
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, select

from gateway.audit.canonical import checkpoint_message, format_time
from gateway.audit.keyring import register_key
from gateway.audit.models import CHECKPOINTS, CUTS
from gateway.audit.signing import PublicKey, Signer


class CheckpointKind(StrEnum):
    PERIODIC = "periodic"
    ON_DEMAND = "on_demand"
    ARCHIVE = "archive"


@dataclass(frozen=True, slots=True)
class ArchiveCut:
    """Events ``first_seq..through_seq`` moved to a file whose SHA-256 is ``file_sha256``."""

    first_seq: int
    through_seq: int
    last_hash: str
    file_sha256: str
    event_count: int
    archived_at: dt.datetime

    def payload(self) -> dict[str, Any]:
        return {
            "archived_at": format_time(self.archived_at),
            "event_count": self.event_count,
            "file_sha256": self.file_sha256,
            "first_seq": self.first_seq,
            "last_hash": self.last_hash,
            "through_seq": self.through_seq,
        }


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed statement about the chain; ``signature`` is the raw signature bytes."""

    seq: int
    head_hash: str
    created_at: dt.datetime
    kind: str  # a CheckpointKind value; plain str so an altered row still loads
    key_id: str
    signature: bytes
    archive: ArchiveCut | None = None

    def payload(self) -> dict[str, Any]:
        return {
            "archive": self.archive.payload() if self.archive else None,
            "created_at": format_time(self.created_at),
            "head_hash": self.head_hash,
            "key_id": self.key_id,
            "kind": str(self.kind),
            "seq": self.seq,
            "version": 1,
        }

    def signature_problem(self, public_keys: Mapping[str, PublicKey]) -> str | None:
        """Why this checkpoint's signature cannot be trusted, or None if it verifies."""
        key = public_keys.get(self.key_id)
        if key is None:
            return f"checkpoint at {self.seq} is signed by unknown key {self.key_id}"
        if not key.verify(self.signature, checkpoint_message(self.payload())):
            return f"checkpoint at {self.seq} has a bad signature (key {self.key_id})"
        return None


def write_checkpoint(
    conn: Connection,
    signer: Signer,
    *,
    seq: int,
    head_hash: str,
    kind: CheckpointKind,
    now: dt.datetime,
    archive: ArchiveCut | None = None,
) -> Checkpoint:
    """Sign and insert a checkpoint in the caller's transaction (and the cut, if any)."""
    register_key(conn, signer.public_key(), now)
    unsigned = Checkpoint(seq, head_hash, now, kind, signer.key_id, b"", archive)
    signature = signer.sign(checkpoint_message(unsigned.payload()))
    if archive is not None:
        conn.execute(CUTS.insert().values(**_cut_columns(archive)))
    conn.execute(
        CHECKPOINTS.insert().values(
            seq=seq,
            head_hash=head_hash,
            created_at=now,
            kind=str(kind),
            key_id=signer.key_id,
            signature=signature.hex(),
            archive_through_seq=archive.through_seq if archive else None,
        )
    )
    return Checkpoint(seq, head_hash, now, kind, signer.key_id, signature, archive)


def load_cuts(conn: Connection) -> list[ArchiveCut]:
    """Every archive cut, oldest first."""
    rows = conn.execute(select(CUTS).order_by(CUTS.c.through_seq)).mappings()
    return [ArchiveCut(**dict(row)) for row in rows]


def load_checkpoints(conn: Connection, cuts: list[ArchiveCut]) -> list[Checkpoint]:
    """Every checkpoint, by ``seq``, as stored: nothing is checked here.

    A checkpoint whose cut row has gone loads without it, so its signature fails.
    """
    by_seq = {cut.through_seq: cut for cut in cuts}
    rows = conn.execute(select(CHECKPOINTS).order_by(CHECKPOINTS.c.seq, CHECKPOINTS.c.id))
    return [
        Checkpoint(
            seq=row["seq"],
            head_hash=row["head_hash"],
            created_at=row["created_at"],
            kind=row["kind"],
            key_id=row["key_id"],
            signature=_unhex(row["signature"]),
            archive=by_seq.get(row["archive_through_seq"]),
        )
        for row in rows.mappings()
    ]


def _unhex(text: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:
        return b""  # an altered signature column: it then simply fails to verify


def _cut_columns(cut: ArchiveCut) -> dict[str, Any]:
    return {
        "first_seq": cut.first_seq,
        "through_seq": cut.through_seq,
        "last_hash": cut.last_hash,
        "file_sha256": cut.file_sha256,
        "event_count": cut.event_count,
        "archived_at": cut.archived_at,
    }
