"""The OAuth scopes of Soteria Exchange, as data.

Scopes are a closed set: a scope string that is not listed here is refused when a client
asks for it (``invalid_scope``) and ignored when it appears in a token, so a typo can never
widen access. Which action needs which scope lives in ``auth.policy``, not here.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Final


class Scope(StrEnum):
    INDICATORS_READ = "indicators:read"
    INDICATORS_EXACT = "indicators:exact"
    RECORDS_WRITE = "records:write"
    SUBMISSIONS_READ = "submissions:read"
    AUDIT_READ = "audit:read"
    FEDERATION_READ = "federation:read"


#: What each scope lets a client do; shown in docs and in ``soteria clients`` output.
SCOPE_DESCRIPTIONS: Final[dict[Scope, str]] = {
    Scope.INDICATORS_READ: "Read published indicators (small counts suppressed or rounded)",
    Scope.INDICATORS_EXACT: "With indicators:read, see exact indicator values for every force",
    Scope.RECORDS_WRITE: "Push pseudonymised case records for the client's own force",
    Scope.SUBMISSIONS_READ: "Read submission status (own force, or all forces if national)",
    Scope.AUDIT_READ: "Read the access audit trail (own force, or all if national)",
    Scope.FEDERATION_READ: "Read per-force partial results for federated queries",
}

#: Scopes a client may only hold if it is bound to a force.
FORCE_REQUIRED_SCOPES: Final[frozenset[Scope]] = frozenset({Scope.RECORDS_WRITE})

_BY_VALUE: Final[dict[str, Scope]] = {scope.value: scope for scope in Scope}


class UnknownScopeError(ValueError):
    """A scope string that is not one of ours was given where only ours are allowed."""

    def __init__(self, unknown: Iterable[str]) -> None:
        self.unknown = tuple(sorted(set(unknown)))
        super().__init__(f"unknown scope(s): {' '.join(self.unknown)}")


def parse_scopes(value: str | Iterable[str] | None, *, strict: bool) -> frozenset[Scope]:
    """Parse a space-separated scope string (or a list of scope strings).

    ``strict`` raises ``UnknownScopeError`` on any unknown value: use it for what clients
    request or administrators configure. Non-strict drops unknown values: use it for scope
    claims in tokens, where an unknown value must grant nothing rather than fail.
    """
    if value is None:
        return frozenset()
    items = value.split() if isinstance(value, str) else list(value)
    unknown = [item for item in items if item not in _BY_VALUE]
    if unknown and strict:
        raise UnknownScopeError(unknown)
    return frozenset(_BY_VALUE[item] for item in items if item in _BY_VALUE)


def format_scopes(scopes: Iterable[Scope]) -> str:
    """The canonical scope string: sorted, space-separated, no duplicates."""
    return " ".join(sorted({scope.value for scope in scopes}))
