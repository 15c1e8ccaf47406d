"""Configuration of the auth package, built once by the gateway and passed in.

Nothing in ``auth/`` reads the environment: the gateway turns its own settings into an
``AuthSettings`` and hands it to ``auth.components.build_auth`` (or the individual
constructors). Values are checked here, at start-up, so a misconfiguration (an ``http``
issuer, an HMAC algorithm for an external issuer) stops the service rather than weakening it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Final
from urllib.parse import urlsplit

from auth.errors import ConfigurationError
from auth.scopes import Scope

DEFAULT_TOKEN_LIFETIME: Final = 900
DEFAULT_LEEWAY: Final = 30
#: How long a "still live" deny-list answer is reused (``auth.liveness``): a revocation on
#: another replica takes effect within this many seconds (at once on the same process).
DEFAULT_LIVE_CACHE_SECONDS: Final = 1.0

#: Asymmetric JWS algorithms an external issuer may be trusted with. HMAC and ``none``
#: are absent on purpose: with a shared or public "secret" anyone could mint tokens.
ASYMMETRIC_ALGORITHMS: Final = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)


def is_secure_url(url: str) -> bool:
    """https, or http to a loopback address (development and tests only)."""
    parts = urlsplit(url)
    if not parts.hostname or parts.query or parts.fragment:
        return False
    if parts.scheme == "https":
        return True
    if parts.scheme != "http":
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A token bucket: ``burst`` requests at once, refilled at ``rate`` per second."""

    rate: float
    burst: int

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ConfigurationError("rate limit needs rate > 0 and burst >= 1")


def identity_scope_map() -> Mapping[str, frozenset[Scope]]:
    """A scope map for issuers configured to emit our scope names verbatim (Keycloak)."""
    return MappingProxyType({scope.value: frozenset({scope}) for scope in Scope})


@dataclass(frozen=True)
class ExternalIssuer:
    """A trusted external identity provider (Entra ID, Keycloak, ...).

    ``scope_claims`` name the claims holding the caller's roles or scopes (a space-separated
    string or a list; Entra ID uses ``roles`` for applications and ``scp`` for delegated
    access). Each value is looked up in ``scope_map``; unmapped values grant nothing.
    ``force_claim`` names the claim holding the force code of a force-bound caller.
    ``require_at_jwt_typ=False`` accepts ``typ: JWT`` or no ``typ`` (Entra ID); leave it
    ``True`` for issuers that follow RFC 9068.
    """

    issuer: str
    audience: str
    jwks_url: str | None = None
    jwks_file: Path | None = None
    scope_claims: tuple[str, ...] = ("scope",)
    scope_map: Mapping[str, frozenset[Scope]] = field(default_factory=dict)
    force_claim: str | None = None
    client_id_claims: tuple[str, ...] = ("client_id", "azp", "appid")
    algorithms: tuple[str, ...] = ("RS256",)
    require_at_jwt_typ: bool = True

    def __post_init__(self) -> None:
        if not self.issuer or not self.audience:
            raise ConfigurationError("an external issuer needs an issuer and an audience")
        if (self.jwks_url is None) == (self.jwks_file is None):
            raise ConfigurationError(
                f"external issuer {self.issuer}: give exactly one of jwks_url or jwks_file"
            )
        if self.jwks_url is not None and not is_secure_url(self.jwks_url):
            raise ConfigurationError(
                f"external issuer {self.issuer}: jwks_url must be https (http only to loopback)"
            )
        if not self.algorithms or not set(self.algorithms) <= ASYMMETRIC_ALGORITHMS:
            raise ConfigurationError(
                f"external issuer {self.issuer}: algorithms must be asymmetric, "
                f"one or more of {sorted(ASYMMETRIC_ALGORITHMS)}"
            )
        if not self.scope_claims or not self.client_id_claims:
            raise ConfigurationError(f"external issuer {self.issuer}: claim names are empty")


@dataclass(frozen=True)
class AuthSettings:
    """Everything the auth package needs to know, fixed for the life of the process.

    ``issuer`` is the public base URL of this service: the ``iss`` of our tokens and the
    base of every endpoint in the metadata document. ``audience`` is the ``aud`` our
    tokens carry and our resource server requires.
    """

    issuer: str
    audience: str
    token_lifetime_seconds: int = DEFAULT_TOKEN_LIFETIME
    leeway_seconds: int = DEFAULT_LEEWAY
    external_issuers: tuple[ExternalIssuer, ...] = ()
    token_rate_limit: RateLimit = field(default_factory=lambda: RateLimit(rate=1.0, burst=20))
    api_rate_limit: RateLimit = field(default_factory=lambda: RateLimit(rate=20.0, burst=100))
    key_cache_ttl_seconds: int = 300
    key_refresh_min_interval_seconds: float = 1.0
    jwks_fetch_timeout_seconds: float = 5.0
    max_token_bytes: int = 8192
    live_cache_seconds: float = DEFAULT_LIVE_CACHE_SECONDS

    def __post_init__(self) -> None:
        if not is_secure_url(self.issuer):
            raise ConfigurationError("issuer must be an https URL without query or fragment")
        if not self.audience:
            raise ConfigurationError("audience must not be empty")
        if not 60 <= self.token_lifetime_seconds <= 3600:
            raise ConfigurationError("token_lifetime_seconds must be between 60 and 3600")
        if not 0 <= self.leeway_seconds <= 300:
            raise ConfigurationError("leeway_seconds must be between 0 and 300")
        if not 0 <= self.live_cache_seconds <= 60:
            raise ConfigurationError("live_cache_seconds must be between 0 and 60")
        if self.key_cache_ttl_seconds < 1 or self.key_refresh_min_interval_seconds < 0:
            raise ConfigurationError("key cache intervals must be positive")
        issuers = [self.issuer] + [ext.issuer for ext in self.external_issuers]
        if len(set(issuers)) != len(issuers):
            raise ConfigurationError("issuers must be distinct from each other and from ours")

    @property
    def base_url(self) -> str:
        return self.issuer.rstrip("/")

    @property
    def token_endpoint(self) -> str:
        return self.base_url + "/oauth/token"

    @property
    def key_retire_after(self) -> timedelta:
        """How long a superseded key stays published: the longest a token it signed lives."""
        return timedelta(seconds=self.token_lifetime_seconds + self.leeway_seconds)
