"""Benchmark 4 (issue 3): what token validation costs a request.

On a scratch PostgreSQL database (the production setting: key set and deny list in the
database, rate-limit buckets in the database), with the app from ``create_app``:

* ``validate``: ``TokenValidator.validate`` on a real token from ``/oauth/token``, called in
  a loop (signature, claims, and the deny-list query per call), and the same with the
  deny-list check stubbed out (``verify only``) to split the cryptography from the query;
  the API rate limiter's ``check`` (a bucket row in the database) is timed the same way;
* the overhead on a small authenticated request: ``GET /v1/forces/kent/submissions?limit=1``
  with the token, against the same route in a copy of the app whose authentication backend
  hands the route the very same principal without looking at any token. Everything else
  (middleware stack, routing, the ``require`` check, the database query, the response) is
  identical, so the difference is the whole cost of authentication: header parsing, the
  hop to a worker thread, validation, the deny-list query and the rate-limit bucket.

Requests go through ``httpx.AsyncClient`` over ``ASGITransport`` in one event loop
(sequentially: latency, no contention between requests), in alternating blocks of both
variants; each figure is the median of the blocks' mean per-request time.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any, Final, cast

import httpx
from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.authentication import AuthCredentials, AuthenticationBackend, BaseUser
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection

from auth.backend import BearerCredentials, PrincipalUser, api_rate_key
from auth.clients import create_client
from auth.components import AuthComponents
from auth.principal import Principal
from auth.responses import on_auth_error
from auth.validation import TokenValidator
from benchmarks.measure import Series
from benchmarks.scratch import migrated, postgres_database
from gateway.app import create_app
from gateway.auth_setup import auth_settings
from gateway.forces_config import ForcesConfig
from gateway.services import Services
from gateway.settings import Settings
from schema import codelists

FORCE: Final = "kent"
ROUTE: Final = f"/v1/forces/{FORCE}/submissions?limit=1"
PUBLIC_URL: Final = "http://127.0.0.1:8000"
VALIDATIONS: Final = 2_000
BLOCK: Final = 200


class FixedPrincipalBackend(AuthenticationBackend):
    """Authenticates every request as one principal, reading no token (the control)."""

    def __init__(self, principal: Principal, real: AuthComponents) -> None:
        self.principal = principal
        self.recorder = real.backend.recorder

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser]:
        return BearerCredentials(self.principal, self.recorder), PrincipalUser(self.principal)


def _settings(url: str, var_dir: Path) -> Settings:
    return Settings(
        database_url=url,
        var_dir=var_dir,
        public_url=PUBLIC_URL,
        rate_limit_per_second=1_000_000.0,
        rate_limit_burst=1_000_000,
        token_rate_limit_per_second=1_000.0,
        token_rate_limit_burst=1_000,
    )


def _without_token_check(app: Starlette, principal: Principal, real: AuthComponents) -> None:
    """Swap the app's authentication backend for ``FixedPrincipalBackend`` (before first use)."""
    for i, middleware in enumerate(app.user_middleware):
        if middleware.cls is cast(Any, AuthenticationMiddleware):
            app.user_middleware[i] = Middleware(
                AuthenticationMiddleware,
                backend=FixedPrincipalBackend(principal, real),
                on_error=on_auth_error,
            )
            return
    raise RuntimeError("the app has no AuthenticationMiddleware")


def _per_call_us(work: Any, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        work()
    return (time.perf_counter() - start) / calls * 1e6


async def _block_us(http: httpx.AsyncClient, headers: dict[str, str], path: str) -> float:
    start = time.perf_counter()
    for _ in range(BLOCK):
        response = await http.get(path, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
    return (time.perf_counter() - start) / BLOCK * 1e6


async def _measure(url: str, var_dir: Path, blocks: int) -> dict[str, Any]:
    settings = _settings(url, var_dir)
    engine = migrated(url)
    try:
        with Session(engine) as session:
            client = create_client(
                session,
                name="benchmark reader",
                scopes=["submissions:read"],
                force=FORCE,
                force_exists=lambda code: codelists.force(code) is not None,
            )
            session.commit()
        assert client.client_secret is not None
        services = Services(settings=settings, engine=engine, forces=ForcesConfig())
        app = create_app(settings, services=services)
        auth: AuthComponents = services.extras["auth"]
        control_services = Services(settings=settings, engine=engine, forces=ForcesConfig())
        control = create_app(settings, services=control_services)
        async with (
            app.router.lifespan_context(app),
            control.router.lifespan_context(control),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=PUBLIC_URL) as http,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=control), base_url=PUBLIC_URL
            ) as control_http,
        ):
            response = await http.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(client.client_id, client.client_secret),
            )
            response.raise_for_status()
            token = response.json()["access_token"]
            validator = auth.validator
            principal = validator.validate(token)
            _without_token_check(control, principal, control_services.extras["auth"])
            verify_only = TokenValidator(
                auth_settings(settings),
                local_keys=validator.key_caches[settings.issuer],
                token_is_live=lambda _jti, _client: True,
            )
            bucket = api_rate_key(principal)
            validate, verify, limit = Series(), Series(), Series()
            for _ in range(3):
                validate.add(_per_call_us(lambda: validator.validate(token), VALIDATIONS // 3))
                verify.add(_per_call_us(lambda: verify_only.validate(token), VALIDATIONS // 3))
                limit.add(_per_call_us(lambda: auth.api_limiter.check(bucket), VALIDATIONS // 3))
            bearer = {"Authorization": f"Bearer {token}"}
            with_token, without_token, healthz, ratios = Series(), Series(), Series(), Series()
            for _ in range(2):  # warm both apps: connection pools, caches, code paths
                await _block_us(http, bearer, ROUTE)
                await _block_us(control_http, {}, ROUTE)
            for _ in range(blocks):
                with_token.add(await _block_us(http, bearer, ROUTE))
                without_token.add(await _block_us(control_http, {}, ROUTE))
                healthz.add(await _block_us(http, {}, "/healthz"))
                ratios.add(with_token.values[-1] / without_token.values[-1])
    finally:
        engine.dispose()
    return {
        "validate_us": round(validate.median, 1),
        "verify_only_us": round(verify.median, 1),
        "deny_list_query_us": round(validate.median - verify.median, 1),
        "rate_limit_us": round(limit.median, 1),
        "route": ROUTE,
        "request_with_token_us": round(with_token.median, 1),
        "request_without_token_us": round(without_token.median, 1),
        "auth_overhead_us": round(with_token.median - without_token.median, 1),
        "ratio": round(ratios.median, 3),
        "ratios": ratios.rounded(3),
        "healthz_us": round(healthz.median, 1),
        "requests_per_block": BLOCK,
    }


def run(blocks: int = 5) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="soteria-bench-") as tmp,
        postgres_database("oauth") as url,
    ):
        return asyncio.run(_measure(url, Path(tmp), blocks))
