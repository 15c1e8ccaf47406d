"""Errors of the record store and the ingestion pipeline.

StoreError
├── UnknownForce            the force code is not one of the 43
├── SubmissionRefused       rows or header failed validation; nothing stored
├── IdempotencyConflict     the key was used before with different content
└── BodyTooLarge            the body exceeds the configured limit; nothing stored
"""

from __future__ import annotations

from collections.abc import Sequence

from adapters.errors import AdapterError
from schema.validation import Issue

MAX_REPORTED_ISSUES = 1_000


class StoreError(AdapterError):
    """Base of the store's errors."""


class UnknownForce(StoreError):
    def __init__(self, force: str) -> None:
        super().__init__(f"Unknown force '{force}'.")
        self.force = force


class SubmissionRefused(StoreError):
    """A submission with at least one error: every error (up to 1,000) and the total."""

    def __init__(self, issues: Sequence[Issue], total: int, warnings: Sequence[Issue] = ()) -> None:
        super().__init__(f"The submission has {total} error(s); nothing was stored.")
        self.issues = tuple(issues)
        self.total = total
        self.warnings = tuple(warnings)


class IdempotencyConflict(StoreError):
    def __init__(self, key: str) -> None:
        super().__init__(
            f"Idempotency-Key '{key}' was already used for a submission with different "
            "content. Use a new key for new content."
        )
        self.key = key


class BodyTooLarge(StoreError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"The body is larger than the limit of {limit} bytes.")
        self.limit = limit
