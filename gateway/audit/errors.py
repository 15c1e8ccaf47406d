"""Every exception the audit trail raises, and what each one means for the caller.

The audit trail is a legal record (Data Protection Act 2018 Part 3 s.62): when it cannot
write, the operation it would have recorded must not happen, so write failures propagate
to the caller's unit of work instead of being swallowed. The tree::

    AuditError                   base of everything raised here; never raised itself
    ├── AuditEventError          an AuditEvent field is out of bounds (also a ValueError);
    │                            raised when the event is built, before anything is written
    ├── AuditQueryError          a filter or page size of query_events/export is refused
    │                            (also a ValueError)
    ├── ChainHeadMissingError    audit_chain_head has no row: the migrations did not run
    ├── SigningKeyError          the checkpoint signing key cannot be used
    │   └── InsecureKeyFileError the key file is a symlink, not ours, or group/world readable
    ├── PublicKeyError           a public keyring file is unreadable or holds a bad key
    ├── ArchiveError             an archive was refused; nothing was removed
    │   └── ArchiveChainBrokenError  the segment to archive (or the link after it) is broken
    └── PurposeError             a Soteria-Purpose header is refused. ``parse_purpose``
                                 *returns* it (a client mistake, not a failure); callers
                                 may raise it

Database errors (``sqlalchemy.exc.DBAPIError``) raised while appending are not wrapped:
the append runs in the caller's transaction, so a deadlock, serialisation failure or lost
connection belongs to the caller's unit of work and its retry policy, and must roll back
the whole of it.
"""

from __future__ import annotations


class AuditError(Exception):
    """Base of every exception raised by the audit package."""


class AuditEventError(AuditError, ValueError):
    """An event field is out of bounds; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class AuditQueryError(AuditError, ValueError):
    """A filter or page argument of an auditor's query is refused."""


class ChainHeadMissingError(AuditError):
    """The single chain-head row is absent: the database was not built by the migrations."""

    def __init__(self) -> None:
        super().__init__(
            "audit_chain_head has no row; run 'soteria db upgrade' before writing audit events"
        )


class SigningKeyError(AuditError):
    """The checkpoint signing key is missing, unreadable or not an Ed25519 key."""


class InsecureKeyFileError(SigningKeyError):
    """The key file could be read or replaced by another user; it is refused, not fixed."""


class PublicKeyError(AuditError):
    """A public keyring is unreadable, or one of its keys is malformed."""


class ArchiveError(AuditError):
    """An archive was refused before anything was removed from the database."""


class ArchiveChainBrokenError(ArchiveError):
    """The events to archive do not form a valid chain; archiving them would hide it."""


class PurposeError(AuditError):
    """A ``Soteria-Purpose`` header value that is refused.

    ``code`` is stable for clients (``missing``, ``malformed``, ``unknown_purpose``,
    ``text_too_long``, ``text_not_printable``); ``message`` is a sentence for a human that
    quotes nothing but the purpose code and the allowed codes.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PurposeError):
            return NotImplemented
        return (self.code, self.message) == (other.code, other.message)

    def __hash__(self) -> int:
        return hash((self.code, self.message))

    def __repr__(self) -> str:
        return f"PurposeError(code={self.code!r}, message={self.message!r})"
