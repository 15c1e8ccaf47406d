"""One call that wires the auth package for an application.

The gateway's ``create_app(settings)`` calls ``build_auth`` once and uses the result:
``routes`` go into its route list, ``middleware`` into its middleware list, ``prime``
into its lifespan (in a thread), and ``denials`` into its metrics. Everything is built
from explicit arguments; nothing is global, so tests build as many apps as they like.

Two hooks report to the gateway without this package knowing about auditing:
``on_denied`` for every refused API request, ``on_token_event`` for every call to the
OAuth endpoints (``auth.token_events``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx
from sqlalchemy.orm import Session, sessionmaker
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.routing import BaseRoute

from auth.backend import BearerTokenBackend
from auth.clock import Clock, utc_now
from auth.denials import DenialCounter, DenialHook
from auth.ratelimit import BucketStore, InMemoryBucketStore, RateLimiter
from auth.responses import on_auth_error
from auth.server import routes
from auth.settings import AuthSettings
from auth.token_events import TokenEventHook
from auth.validation import TokenValidator


@dataclass(frozen=True)
class AuthComponents:
    routes: list[BaseRoute]
    middleware: Middleware
    backend: BearerTokenBackend
    validator: TokenValidator
    denials: DenialCounter
    token_limiter: RateLimiter
    api_limiter: RateLimiter

    def prime(self) -> None:
        """Load signing keys and external JWKS; run in a thread from the lifespan."""
        self.validator.prime()


def build_auth(
    settings: AuthSettings,
    *,
    session_factory: sessionmaker[Session],
    kek: bytes,
    clock: Clock = utc_now,
    force_exists: Callable[[str], bool] | None = None,
    on_denied: DenialHook | None = None,
    on_token_event: TokenEventHook | None = None,
    bucket_store: BucketStore | None = None,
    http_client: httpx.Client | None = None,
) -> AuthComponents:
    """Build routes, middleware and validator for one application instance.

    Rate-limit buckets live in memory unless ``bucket_store`` is given; pass
    ``auth.ratelimit_sql.SqlBucketStore(engine)`` when several replicas serve the API.
    """
    store = bucket_store if bucket_store is not None else InMemoryBucketStore()
    token_limiter = RateLimiter(store, settings.token_rate_limit, clock=clock)
    api_limiter = RateLimiter(store, settings.api_rate_limit, clock=clock)
    validator = TokenValidator.from_settings(
        settings, session_factory, clock=clock, force_exists=force_exists, http_client=http_client
    )
    denials = DenialCounter()
    backend = BearerTokenBackend(
        validator, rate_limiter=api_limiter, denials=denials, on_denied=on_denied
    )
    return AuthComponents(
        routes=routes(
            session_factory=session_factory,
            settings=settings,
            kek=kek,
            rate_limiter=token_limiter,
            clock=clock,
            on_token_event=on_token_event,
        ),
        middleware=Middleware(AuthenticationMiddleware, backend=backend, on_error=on_auth_error),
        backend=backend,
        validator=validator,
        denials=denials,
        token_limiter=token_limiter,
        api_limiter=api_limiter,
    )
