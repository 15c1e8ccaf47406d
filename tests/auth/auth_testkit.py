"""Test support for the auth package: a clock, a test app, a token forge, live servers.

Imported by the auth tests as ``auth_testkit`` (pytest puts ``tests/auth`` on sys.path);
the ``auth_`` prefix keeps the name clear of other packages' test helpers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import socket
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import uvicorn
from joserfc import jwk, jwt
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.exceptions import StarletteDeprecationWarning
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from auth.clients import create_client
from auth.components import AuthComponents, build_auth
from auth.denials import DenialHook
from auth.errors import AccessDeniedError
from auth.guard import require
from auth.policy import Action, sees_exact
from auth.ratelimit import BucketStore
from auth.responses import problem_response
from auth.settings import AuthSettings, RateLimit
from auth.signing_keys import current_signing_key, ensure_signing_key

with warnings.catch_warnings():
    # starlette 1.x prefers the httpx2 package; with httpx it warns once at import.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

ISSUER = "https://soteria.test"
AUDIENCE = "https://soteria.test/api"
FORCE_A = "avon-and-somerset"
FORCE_B = "bedfordshire"
KNOWN_FORCES = frozenset({FORCE_A, FORCE_B, "cheshire"})
SECRET_DATA = "SECRET-PAYLOAD"


def force_exists(code: str) -> bool:
    return code in KNOWN_FORCES


class FakeClock:
    """A clock that only moves when told to; starts at the real time (whole seconds)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def make_settings(**overrides: Any) -> AuthSettings:
    """Test settings: generous rate limits unless a test sets its own."""
    values: dict[str, Any] = {
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "token_rate_limit": RateLimit(rate=1000.0, burst=1000),
        "api_rate_limit": RateLimit(rate=1000.0, burst=1000),
    }
    values.update(overrides)
    return AuthSettings(**values)


# One protected route per policy action: (method, path, force taken from the path).
ACTION_ROUTES: dict[Action, tuple[str, str]] = {
    Action.PUSH_SUBMISSION: ("POST", "/api/forces/{force}/submissions"),
    Action.READ_SUBMISSION: ("GET", "/api/forces/{force}/submissions"),
    Action.READ_INDICATORS: ("GET", "/api/indicators"),
    Action.READ_INDICATORS_EXACT: ("GET", "/api/indicators/exact"),
    Action.READ_AUDIT: ("GET", "/api/forces/{force}/audit"),
    Action.READ_FEDERATION_PARTIALS: ("GET", "/api/federation/partials"),
}


@dataclass
class Harness:
    """A Starlette app with the auth routes, one protected route per action, a client."""

    settings: AuthSettings
    session_factory: sessionmaker[Session]
    kek: bytes
    clock: FakeClock
    components: AuthComponents
    http: TestClient
    pushes: list[str] = field(default_factory=list)

    def register(
        self,
        scopes: list[str],
        force: str | None = None,
        jwk_public: Mapping[str, Any] | None = None,
    ) -> tuple[str, str | None]:
        with self.session_factory.begin() as session:
            client = create_client(
                session,
                name="test client",
                scopes=scopes,
                force=force,
                jwk=jwk_public,
                force_exists=force_exists,
                now=self.clock(),
            )
        return client.client_id, client.client_secret

    def token_response(
        self, client_id: str, secret: str, scope: str | None = None
    ) -> httpx.Response:
        data = {"grant_type": "client_credentials"}
        if scope is not None:
            data["scope"] = scope
        response: httpx.Response = self.http.post(
            "/oauth/token", data=data, auth=(client_id, secret)
        )
        return response

    def token(self, scopes: list[str], force: str | None = None, scope: str | None = None) -> str:
        """Register a client with ``scopes`` and get a real token for it."""
        client_id, secret = self.register(scopes, force)
        assert secret is not None
        response = self.token_response(client_id, secret, scope)
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    def call(self, action: Action, token: str | None, force: str = FORCE_A) -> httpx.Response:
        method, path = ACTION_ROUTES[action]
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        response: httpx.Response = self.http.request(
            method, path.format(force=force), headers=headers
        )
        return response


def build_app(components: AuthComponents, pushes: list[str]) -> Starlette:
    def guarded(action: Action) -> Callable[[Request], Response]:
        def endpoint(request: Request) -> Response:
            force = request.path_params.get("force")
            principal = require(request, action, force)
            if action is Action.PUSH_SUBMISSION:
                pushes.append(str(force))
            return JSONResponse(
                {
                    "data": SECRET_DATA,
                    "client_id": principal.client_id,
                    "exact": sees_exact(principal, force),
                }
            )

        return endpoint

    routes = list(components.routes)
    for action, (method, path) in ACTION_ROUTES.items():
        routes.append(Route(path, guarded(action), methods=[method], name=action.value))
    routes.append(Route("/api/submissions", guarded(Action.READ_SUBMISSION), methods=["GET"]))

    def denied(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AccessDeniedError)
        return problem_response(exc)

    return Starlette(
        routes=routes,
        middleware=[components.middleware],
        exception_handlers={AccessDeniedError: denied},
    )


def make_harness(
    session_factory: sessionmaker[Session],
    *,
    settings: AuthSettings | None = None,
    clock: FakeClock | None = None,
    kek: bytes | None = None,
    base_url: str = ISSUER,
    bucket_store: BucketStore | None = None,
    on_denied: DenialHook | None = None,
) -> Harness:
    settings = settings or make_settings()
    clock = clock or FakeClock()
    kek = kek or secrets.token_bytes(32)
    components = build_auth(
        settings,
        session_factory=session_factory,
        kek=kek,
        clock=clock,
        force_exists=force_exists,
        bucket_store=bucket_store,
        on_denied=on_denied,
    )
    pushes: list[str] = []
    http = TestClient(build_app(components, pushes), base_url=base_url)
    return Harness(settings, session_factory, kek, clock, components, http, pushes)


# --- forging tokens -----------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unsigned(header: Mapping[str, Any], claims: Mapping[str, Any]) -> str:
    """``header.payload.`` with an empty signature (``alg: none``)."""
    return ".".join(
        [b64url(json.dumps(dict(header)).encode()), b64url(json.dumps(dict(claims)).encode()), ""]
    )


def hmac_signed(header: Mapping[str, Any], claims: Mapping[str, Any], secret: bytes) -> str:
    """HS256 by hand, so any bytes (such as a public key) can serve as the secret."""
    signing_input = unsigned(header, claims)[:-1]
    signature = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


class TokenForge:
    """Builds tokens with our real signing key (or another) and any header or claims."""

    def __init__(self, harness: Harness) -> None:
        self.harness = harness
        with harness.session_factory.begin() as session:
            ensure_signing_key(session, harness.kek, now=harness.clock())
            active = current_signing_key(session, harness.kek)
        self.kid = active.kid
        self.key = active.private_key

    def claims(self, client_id: str, **overrides: Any) -> dict[str, Any]:
        now = int(self.harness.clock().timestamp())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": client_id,
            "aud": AUDIENCE,
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            "jti": secrets.token_urlsafe(16),
            "client_id": client_id,
            "scope": "indicators:read",
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def header(self, **overrides: Any) -> dict[str, Any]:
        header: dict[str, Any] = {"alg": "ES256", "typ": "at+jwt", "kid": self.kid}
        header.update(overrides)
        return {name: value for name, value in header.items() if value is not None}

    def sign(
        self,
        claims: Mapping[str, Any],
        header: Mapping[str, Any] | None = None,
        key: jwk.Key | None = None,
    ) -> str:
        header = dict(header) if header is not None else self.header()
        return jwt.encode(
            header, dict(claims), key or self.key, algorithms=[header["alg"]], default_type=None
        )

    def public_pem(self) -> bytes:
        return jwk.ECKey.import_key(self.key.as_dict(private=False)).as_pem()


# --- live servers on 127.0.0.1 --------------------------------------------------------


class JWKSServer:
    """A tiny identity provider endpoint serving a JWKS document, counting its hits."""

    def __init__(self) -> None:
        self.document: dict[str, Any] = {"keys": []}
        self.hits = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.hits += 1
                body = json.dumps(outer.document).encode()
                self.send_response(200 if self.path == "/jwks" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                """Silence the per-request log lines."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/jwks"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def publish(self, *keys: jwk.Key) -> None:
        self.document = {"keys": [key.as_dict(private=False) for key in keys]}

    def __enter__(self) -> JWKSServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@contextmanager
def live_server(app: Starlette) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free 127.0.0.1 port; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(500):
            if server.started:
                break
            threading.Event().wait(0.01)
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
