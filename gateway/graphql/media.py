"""Content negotiation for ``/graphql``: which response media type, and is it a browser?

Two response media types (GraphQL-over-HTTP, "Media Types" and Appendix A):

* ``application/graphql-response+json``: status codes carry meaning; a request error
  (parse, validation, limits, variables) is HTTP 400 and the body has no ``data``;
* ``application/json``, for legacy clients: a well-formed request is answered 200 even
  when it is refused by validation (the errors say why), as the spec recommends.

The client's ``Accept`` header decides, by q-value, then by specificity (a type named
exactly beats ``application/*`` or ``*/*``). When the client names neither type, or sends
no ``Accept`` at all, the answer is ``application/json``: such a client predates the
new media type, the spec leaves the choice to the server, and the graphql-http audits
(47DE, 80D8) expect exactly this. Clients that want the status-code semantics ask for
``application/graphql-response+json`` (GraphiQL here does), and an ``Accept`` that
admits neither gets 406.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class MediaType(StrEnum):
    GRAPHQL_RESPONSE = "application/graphql-response+json"
    JSON = "application/json"

    @property
    def content_type(self) -> str:
        return f"{self.value}; charset=utf-8"


HTML: Final = "text/html"


def _accept_entries(accept: str) -> list[tuple[str, float]]:
    entries: list[tuple[str, float]] = []
    for part in accept.split(","):
        pieces = [piece.strip() for piece in part.split(";")]
        media = pieces[0].lower()
        if not media:
            continue
        quality = 1.0
        for parameter in pieces[1:]:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = max(0.0, min(1.0, float(value.strip())))
                except ValueError:
                    quality = 0.0
        entries.append((media, quality))
    return entries


def _match(entries: list[tuple[str, float]], media: str) -> tuple[float, int]:
    """The q-value ``entries`` give ``media``, and how specific the deciding entry was."""
    kind = media.split("/", 1)[0]
    best: tuple[int, float] = (-1, 0.0)
    for candidate, quality in entries:
        if candidate == media:
            specificity = 2
        elif candidate == f"{kind}/*":
            specificity = 1
        elif candidate == "*/*":
            specificity = 0
        else:
            continue
        best = max(best, (specificity, quality))
    return best[1], best[0]


def negotiate(accept: str | None) -> MediaType | None:
    """The response media type for this ``Accept`` value, or None (406)."""
    if accept is None or not accept.strip():
        return MediaType.JSON
    entries = _accept_entries(accept)
    scored = []
    for media in MediaType:
        quality, specificity = _match(entries, media.value)
        # On a tie, a type named exactly wins; among wildcards, legacy JSON wins.
        named_new = specificity == 2 and media is MediaType.GRAPHQL_RESPONSE
        legacy_wildcard = specificity < 2 and media is MediaType.JSON
        scored.append((quality, specificity, named_new or legacy_wildcard, media))
    quality, _, _, media = max(scored)
    return media if quality > 0 else None


def prefers_html(accept: str | None) -> bool:
    """True for a browser: ``text/html`` named explicitly, at least as wanted as JSON."""
    if not accept:
        return False
    entries = _accept_entries(accept)
    quality, specificity = _match(entries, HTML)
    if specificity != 2 or quality <= 0:
        return False
    return all(quality >= _match(entries, media.value)[0] for media in MediaType)
