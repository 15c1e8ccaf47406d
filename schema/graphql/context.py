"""What resolvers may use: the typed request context the gateway hands in.

Resolvers read arguments, call one of these ports and return; no SQL, no I/O of their
own. Access is declared on fields (``schema.graphql.permissions.requires``) and enforced
by ``authorize``, which the gateway implements with its policy table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from schema.periods import Period
from schema.tables import IndicatorTable, TableQuery


@dataclass(frozen=True, slots=True)
class Caller:
    client_id: str
    subject: str
    issuer: str
    force: str | None
    scopes: tuple[str, ...]


class IndicatorsPort(Protocol):
    def table(self, query: TableQuery) -> IndicatorTable: ...

    def quality(self, forces: Sequence[str] | None, periods: Sequence[Period]) -> list[Any]: ...

    def source_kind(self, force: str) -> str: ...


class SubmissionsPort(Protocol):
    def page(self, force: str, first: int, after: str | None) -> Mapping[str, Any]: ...

    def submit(
        self, force: str, key: str, records: Sequence[Mapping[str, str | None]], dry_run: bool
    ) -> Mapping[str, Any]: ...


class AuditPort(Protocol):
    def page(
        self, filters: Mapping[str, Any], first: int, after: str | None
    ) -> Mapping[str, Any]: ...


class RequestContext(Protocol):
    """The context object of every GraphQL request."""

    indicators: IndicatorsPort
    submissions: SubmissionsPort
    audit: AuditPort

    def authorize(self, action: str, force: str | None = None) -> None:
        """Raise the transport's FORBIDDEN/UNAUTHENTICATED error unless allowed."""

    def caller(self) -> Caller: ...

    def prebuilt(self, payload: bytes) -> Any:
        """Pre-serialised JSON (valid JSON bytes) to return from a JSON field as it is."""

    def add_error(self, message: str, code: str, **extensions: Any) -> None:
        """A non-fatal error beside the data (e.g. SOURCE_UNAVAILABLE for one force)."""
