"""The audit trail: who consulted or disclosed what, when, and for what declared purpose.

The Data Protection Act 2018 Part 3 s.62 requires logs of every consultation and
disclosure that let auditors establish the justification, date and time, and the identity
of the person. This package keeps them as one hash chain in the database, signed at
checkpoints, append-only at the database level, verifiable end to end (``docs/audit.md``).

Writing::

    trail = open_trail(AuditSettings.from_settings(settings))
    with engine.begin() as conn:
        ...                                   # the work being recorded
        trail.append(conn, AuditEvent(...))   # commits or rolls back with it
    trail.append_standalone(engine, AuditEvent(...))   # refusals, reads

Checking and reading: ``verify``, ``query_events``, ``write_events``, ``archive_events``.
"""

from gateway.audit.archive import ArchiveReport, archive_events, verify_archive
from gateway.audit.canonical import GENESIS_HASH, digest_bytes, digest_operation, digest_query
from gateway.audit.chain import Break, BreakKind
from gateway.audit.checkpoints import ArchiveCut, Checkpoint, CheckpointKind
from gateway.audit.config import AuditSettings, open_trail, rotate_key
from gateway.audit.errors import (
    ArchiveChainBrokenError,
    ArchiveError,
    AuditError,
    AuditEventError,
    AuditQueryError,
    ChainHeadMissingError,
    InsecureKeyFileError,
    PublicKeyError,
    PurposeError,
    SigningKeyError,
)
from gateway.audit.events import (
    Actor,
    AuditEvent,
    Disclosure,
    Outcome,
    RequestContext,
    StoredEvent,
    caller_value,
    caller_values,
)
from gateway.audit.export import ExportFormat, ExportSummary, write_events
from gateway.audit.keyring import database_keys, load_keyring
from gateway.audit.purpose import HEADER as PURPOSE_HEADER
from gateway.audit.purpose import Purpose, parse_purpose
from gateway.audit.queries import EventFilter, EventPage, iter_events, query_events
from gateway.audit.signing import Ed25519Signer, PublicKey, Signer
from gateway.audit.tally import DisclosureTally, period_item
from gateway.audit.trail import AuditTrail
from gateway.audit.verify import VerifyReport, verify

__all__ = [
    "GENESIS_HASH",
    "PURPOSE_HEADER",
    "Actor",
    "ArchiveChainBrokenError",
    "ArchiveCut",
    "ArchiveError",
    "ArchiveReport",
    "AuditError",
    "AuditEvent",
    "AuditEventError",
    "AuditQueryError",
    "AuditSettings",
    "AuditTrail",
    "Break",
    "BreakKind",
    "ChainHeadMissingError",
    "Checkpoint",
    "CheckpointKind",
    "Disclosure",
    "DisclosureTally",
    "Ed25519Signer",
    "EventFilter",
    "EventPage",
    "ExportFormat",
    "ExportSummary",
    "InsecureKeyFileError",
    "Outcome",
    "PublicKey",
    "PublicKeyError",
    "Purpose",
    "PurposeError",
    "RequestContext",
    "Signer",
    "SigningKeyError",
    "StoredEvent",
    "VerifyReport",
    "archive_events",
    "caller_value",
    "caller_values",
    "database_keys",
    "digest_bytes",
    "digest_operation",
    "digest_query",
    "iter_events",
    "load_keyring",
    "open_trail",
    "parse_purpose",
    "period_item",
    "query_events",
    "rotate_key",
    "verify",
    "verify_archive",
    "write_events",
]
