"""The token validator: any trusted issuer's bearer token in, a ``Principal`` out.

One validator serves every protected route, for our own issuer and every configured
external issuer. It picks the issuer profile from the (unverified) ``iss`` claim; a token
naming any other issuer is refused before its signature is looked at. Our own tokens are
additionally checked against the deny list (revoked token, disabled client), whose "still
live" answers ``auth.liveness.LiveCache`` keeps for ``AuthSettings.live_cache_seconds``
(a revocation holds at once in this process, within that time on every other replica).

A token of ours whose signature and claims were verified is remembered, by its exact text,
until it expires (``VerifiedTokens``): the same token on the next request skips the
signature check, not the rest. The remembered answer holds only while the key that signed
it is still the one the key cache serves under its ``kid`` (a retired or replaced key
sends the token through full verification again), the time is still inside its
``nbf``/``exp`` window with the leeway, and the deny-list check runs as before.

The validator is synchronous (it may query the database or fetch a JWKS); the ASGI
backend calls it in a worker thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

import httpx
from joserfc.jwk import Key
from sqlalchemy.orm import Session, sessionmaker

from auth.clock import Clock, from_epoch, to_epoch, utc_now
from auth.errors import InvalidTokenError, JWKSFetchError, TokenFault
from auth.external import external_principal, jwks_loader
from auth.keycache import KeyCache, KeyLoader
from auth.liveness import LiveCache, LiveCheck
from auth.principal import Principal
from auth.revocation import is_token_live
from auth.scopes import parse_scopes
from auth.settings import AuthSettings, ExternalIssuer
from auth.signing_keys import SIGNING_ALGORITHM, published_public_keys
from auth.verification import IssuerProfile, read_unverified, verify

LOCAL_REQUIRED_CLAIMS: Final = ("sub", "iat", "jti", "client_id")


@dataclass(frozen=True, slots=True)
class _Verified:
    principal: Principal
    kid: str
    key: Key
    not_before: float
    expires: float


class VerifiedTokens:
    """Our tokens already verified, by their text; bounded, entries dropped at expiry."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self._entries: dict[str, _Verified] = {}
        self._lock = threading.Lock()
        self._max_entries = max_entries

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, token: str) -> _Verified | None:
        with self._lock:
            return self._entries.get(token)

    def put(self, token: str, entry: _Verified, now: float) -> None:
        with self._lock:
            if len(self._entries) >= self._max_entries:
                for stale in [t for t, e in self._entries.items() if e.expires <= now]:
                    del self._entries[stale]
                if len(self._entries) >= self._max_entries:
                    self._entries.clear()
            self._entries[token] = entry


@dataclass(frozen=True, slots=True)
class _External:
    config: ExternalIssuer
    profile: IssuerProfile
    keys: KeyCache


def local_profile(settings: AuthSettings) -> IssuerProfile:
    return IssuerProfile(
        issuer=settings.issuer,
        audience=settings.audience,
        algorithms=frozenset({SIGNING_ALGORITHM}),
        require_at_jwt=True,
        required_claims=LOCAL_REQUIRED_CLAIMS,
    )


def local_principal(claims: Mapping[str, Any]) -> Principal:
    """Map our own token's (verified) claims onto a Principal."""
    client_id, subject, jti = claims["client_id"], claims["sub"], claims["jti"]
    scope, force = claims.get("scope"), claims.get("force")
    if not all(isinstance(value, str) for value in (client_id, subject, jti)):
        raise InvalidTokenError(TokenFault.BAD_CLAIMS)
    if not isinstance(scope, str | None) or not isinstance(force, str | None):
        raise InvalidTokenError(TokenFault.BAD_CLAIMS)
    return Principal(
        subject=subject,
        client_id=client_id,
        force=force,
        scopes=parse_scopes(scope, strict=False),
        issuer=claims["iss"],
        token_id=jti,
        expires_at=from_epoch(float(claims["exp"])),
    )


class TokenValidator:
    """Validates bearer tokens from our issuer and the configured external issuers."""

    def __init__(
        self,
        settings: AuthSettings,
        *,
        local_keys: KeyCache,
        token_is_live: LiveCheck,
        external: Mapping[str, tuple[ExternalIssuer, KeyCache]] | None = None,
        clock: Clock = utc_now,
        force_exists: Callable[[str], bool] | None = None,
    ) -> None:
        self._settings = settings
        self._local = local_profile(settings)
        self._local_keys = local_keys
        self._token_is_live = token_is_live
        self._clock = clock
        self._force_exists = force_exists
        self._external = {
            issuer: _External(config, _external_profile(config), keys)
            for issuer, (config, keys) in (external or {}).items()
        }
        self.verified = VerifiedTokens()

    @classmethod
    def from_settings(
        cls,
        settings: AuthSettings,
        session_factory: sessionmaker[Session],
        *,
        clock: Clock = utc_now,
        force_exists: Callable[[str], bool] | None = None,
        http_client: httpx.Client | None = None,
    ) -> TokenValidator:
        """The production wiring: local keys and live-checks from the database."""
        ttl = timedelta(seconds=settings.key_cache_ttl_seconds)
        interval = timedelta(seconds=settings.key_refresh_min_interval_seconds)

        def load_local() -> Mapping[str, Key]:
            with session_factory() as session:
                return published_public_keys(session, now=clock())

        def live(jti: str, client_id: str) -> bool:
            with session_factory() as session:
                return is_token_live(session, jti=jti, client_id=client_id)

        def cache(loader: KeyLoader, name: str) -> KeyCache:
            return KeyCache(loader, ttl=ttl, min_refresh_interval=interval, clock=clock, name=name)

        external = {
            config.issuer: (
                config,
                cache(
                    jwks_loader(
                        config, timeout=settings.jwks_fetch_timeout_seconds, client=http_client
                    ),
                    f"JWKS of {config.issuer}",
                ),
            )
            for config in settings.external_issuers
        }
        return cls(
            settings,
            local_keys=cache(load_local, "local signing keys"),
            token_is_live=LiveCache(live, ttl=settings.live_cache_seconds, clock=clock),
            external=external,
            clock=clock,
            force_exists=force_exists,
        )

    @property
    def key_caches(self) -> Mapping[str, KeyCache]:
        """Every key cache by issuer, ours included (for health checks and tests)."""
        caches = {issuer: external.keys for issuer, external in self._external.items()}
        return {self._local.issuer: self._local_keys, **caches}

    def prime(self) -> None:
        """Load every key set now (call from the app's start-up, in a thread).

        Raises ``JWKSFetchError`` naming the first external issuer that failed; the
        gateway may log it and start anyway, since the cache retries on first use.
        """
        self._local_keys.refresh()
        for external in self._external.values():
            try:
                external.keys.refresh()
            except JWKSFetchError as exc:
                raise JWKSFetchError(f"{external.config.issuer}: {exc}") from exc

    def validate(self, token: str) -> Principal:
        """The Principal for ``token``, or ``InvalidTokenError`` saying why not."""
        leeway = self._settings.leeway_seconds
        remembered = self.verified.get(token)
        if remembered is not None:
            moment = self._clock().timestamp()
            in_time = remembered.not_before - leeway <= moment < remembered.expires + leeway
            if in_time and self._local_keys.get(remembered.kid) is remembered.key:
                return self._live(remembered.principal)
        unverified = read_unverified(token, max_bytes=self._settings.max_token_bytes)
        issuer = unverified.issuer
        now = to_epoch(self._clock())
        if issuer == self._local.issuer:
            claims = verify(unverified, self._local, self._local_key, now=now, leeway=leeway)
            principal = local_principal(claims)
            key = self._local_keys.get(str(unverified.header["kid"]))
            if key is not None:
                entry = _Verified(
                    principal,
                    str(unverified.header["kid"]),
                    key,
                    float(claims.get("nbf", claims["iat"])),
                    float(claims["exp"]),
                )
                self.verified.put(token, entry, float(now))
            return self._live(principal)
        external = self._external.get(issuer) if issuer is not None else None
        if external is None:
            raise InvalidTokenError(TokenFault.UNTRUSTED_ISSUER)

        def lookup(kid: str) -> Key | None:
            try:
                return external.keys.get(kid)
            except JWKSFetchError as exc:
                raise InvalidTokenError(TokenFault.KEYS_UNAVAILABLE) from exc

        claims = verify(unverified, external.profile, lookup, now=now, leeway=leeway)
        return external_principal(
            external.config, claims, token=token, force_exists=self._force_exists
        )

    def validate_now(self, token: str) -> Principal | None:
        """The Principal for a token verified before, if that needs no I/O; else None.

        Only what ``validate`` would accept at once from memory: the token is remembered,
        within its lifetime, its key is the current loaded one (no reload due) and its
        "live" answer is kept and current. Anything else (a first sight, a key reload, a
        deny-list read, any refusal) is ``validate``'s to decide, in a worker thread.
        """
        remembered = self.verified.get(token)
        live = self._token_is_live
        if remembered is None or not isinstance(live, LiveCache):
            return None
        leeway = self._settings.leeway_seconds
        moment = self._clock().timestamp()
        if not remembered.not_before - leeway <= moment < remembered.expires + leeway:
            return None
        if self._local_keys.peek(remembered.kid) is not remembered.key:
            return None
        principal = remembered.principal
        return principal if live.peek(principal.token_id, principal.client_id) else None

    def _local_key(self, kid: str) -> Key | None:
        return self._local_keys.get(kid)

    def _live(self, principal: Principal) -> Principal:
        if not self._token_is_live(principal.token_id, principal.client_id):
            raise InvalidTokenError(TokenFault.REVOKED)
        return principal


def _external_profile(config: ExternalIssuer) -> IssuerProfile:
    return IssuerProfile(
        issuer=config.issuer,
        audience=config.audience,
        algorithms=frozenset(config.algorithms),
        require_at_jwt=config.require_at_jwt_typ,
        required_claims=("sub",),
    )
