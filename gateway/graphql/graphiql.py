"""GraphiQL for people: the page a browser gets at ``GET /graphql``, and its static files.

Everything is served from ``gateway/static/graphiql/`` (GraphiQL and React vendored from
the npm registry, see the README there): the page loads nothing from any other origin,
and its Content-Security-Policy forbids it to (``data:`` is allowed for the fonts and
icons that GraphiQL's stylesheet embeds). The page itself is public; every GraphQL
request it sends carries the bearer token the user pastes into it, which is kept in the
tab's ``sessionStorage`` only, with the ``Soteria-Purpose`` header.

Static files are named in ``ASSETS`` (nothing else under the folder is reachable), sent
with their exact content type, ``nosniff``, a strong ETag and a year of caching: the
page links them with ``?v=<digest>``, so a new version gets a new URL.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
from dataclasses import dataclass
from importlib import resources
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ASSETS: Final[dict[str, str]] = {
    "graphiql.min.js": "text/javascript; charset=utf-8",
    "graphiql.min.css": "text/css; charset=utf-8",
    "react.production.min.js": "text/javascript; charset=utf-8",
    "react-dom.production.min.js": "text/javascript; charset=utf-8",
    "soteria-graphiql.js": "text/javascript; charset=utf-8",
    "soteria-graphiql.css": "text/css; charset=utf-8",
    "LICENSE.graphiql.txt": "text/plain; charset=utf-8",
    "LICENSE.react.txt": "text/plain; charset=utf-8",
}
SCRIPTS: Final = (
    "react.production.min.js",
    "react-dom.production.min.js",
    "graphiql.min.js",
    "soteria-graphiql.js",
)
STYLES: Final = ("graphiql.min.css", "soteria-graphiql.css")
DEFAULT_PURPOSE: Final = "performance-monitoring"

CONTENT_SECURITY_POLICY: Final = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    content_type: str
    sha256: str
    integrity: str  # the Subresource Integrity value, sha384


@functools.cache
def asset(name: str) -> Asset:
    """A static file, read once per process (raises KeyError if not in ``ASSETS``)."""
    content_type = ASSETS[name]
    body = resources.files("gateway.static.graphiql").joinpath(name).read_bytes()
    integrity = "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode("ascii")
    return Asset(body, content_type, hashlib.sha256(body).hexdigest(), integrity)


async def static_file(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in ASSETS:
        return Response("Not Found", 404, media_type="text/plain", headers=SECURITY_HEADERS)
    found = asset(name)
    etag = f'"{found.sha256[:32]}"'
    headers = {
        **SECURITY_HEADERS,
        "ETag": etag,
        "Cache-Control": "public, max-age=31536000, immutable",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(found.body, media_type=found.content_type, headers=headers)


def page(request: Request) -> Response:
    """The GraphiQL page, linking the assets by path (relative to the app's root path)."""

    def url(name: str) -> str:
        path = request.url_for("graphiql-asset", name=name).path
        return html.escape(f"{path}?v={asset(name).sha256[:16]}")

    styles = "\n".join(
        f'<link rel="stylesheet" href="{url(n)}" integrity="{asset(n).integrity}">' for n in STYLES
    )
    scripts = "\n".join(
        f'<script src="{url(n)}" integrity="{asset(n).integrity}"></script>' for n in SCRIPTS
    )
    body = PAGE.format(
        styles=styles,
        scripts=scripts,
        endpoint=html.escape(request.url.path),
        purpose=DEFAULT_PURPOSE,
    )
    headers = {**SECURITY_HEADERS, "Cache-Control": "no-store", "Vary": "Accept"}
    return Response(body, media_type="text/html; charset=utf-8", headers=headers)


PAGE: Final = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Soteria Exchange - GraphiQL</title>
{styles}
</head>
<body>
<form id="soteria-bar" class="soteria-bar" autocomplete="off">
  <strong class="soteria-name">Soteria Exchange</strong>
  <label>Bearer token
    <input id="soteria-token" type="password" spellcheck="false"
      placeholder="paste an access token">
  </label>
  <label>Soteria-Purpose
    <input id="soteria-purpose" type="text" spellcheck="false" value="{purpose}">
  </label>
  <button id="soteria-use" type="submit">Use token</button>
  <button id="soteria-forget" type="button">Forget</button>
  <span id="soteria-status" role="status"></span>
</form>
<div id="graphiql" data-endpoint="{endpoint}">Loading GraphiQL...</div>
{scripts}
</body>
</html>
"""


def routes() -> list[Route]:
    return [Route("/graphiql/{name}", static_file, methods=["GET"], name="graphiql-asset")]
