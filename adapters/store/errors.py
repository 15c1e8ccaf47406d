"""Errors of the record store and the ingestion pipeline.

StoreError
├── UnknownForceError            the force code is not one of the 43
├── SubmissionRefusedError       rows or header failed validation; nothing stored
├── IdempotencyConflictError     the key was used before with different content
└── BodyTooLargeError            the body exceeds the configured limit; nothing stored
"""

from __future__ import annotations

from collections.abc import Sequence

from adapters.errors import AdapterError
from schema.validation import Issue

MAX_REPORTED_ISSUES = 1_000


class StoreError(AdapterError):
    """Base of the store's errors."""


class UnknownForceError(StoreError):
    def __init__(self, force: str) -> None:
        super().__init__(f"Unknown force '{force}'.")
        self.force = force


class SubmissionRefusedError(StoreError):
    """A submission with at least one error: every error (up to 1,000) and the total."""

    def __init__(self, issues: Sequence[Issue], total: int, warnings: Sequence[Issue] = ()) -> None:
        super().__init__(f"The submission has {total} error(s); nothing was stored.")
        self.issues = tuple(issues)
        self.total = total
        self.warnings = tuple(warnings)


class IdempotencyConflictError(StoreError):
    def __init__(self, key: str) -> None:
        super().__init__(
            f"Idempotency-Key '{key}' was already used for a submission with different "
            "content. Use a new key for new content."
        )
        self.key = key


class BodyTooLargeError(StoreError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"The body is larger than the limit of {limit} bytes.")
        self.limit = limit
