"""Turning the gateway's settings into the auth package's configuration.

``auth`` reads no environment and no files of ours: the key-encryption key, the trusted
external issuers (a TOML file) and the rate limits are resolved here and passed in.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from auth.errors import ConfigurationError
from auth.kek import load_or_create_kek, parse_kek
from auth.scopes import Scope
from auth.settings import AuthSettings, ExternalIssuer, RateLimit, identity_scope_map
from gateway.settings import Settings, SettingsError

KEK_FILE = "kek.key"


def load_kek(settings: Settings) -> bytes:
    """``SOTERIA_KEK`` (base64) if set, else a 0600 key file under the var dir."""
    if settings.kek:
        return parse_kek(settings.kek)
    return load_or_create_kek(settings.var_dir / KEK_FILE)


def auth_settings(settings: Settings) -> AuthSettings:
    return AuthSettings(
        issuer=settings.issuer,
        audience=settings.audience,
        token_lifetime_seconds=settings.token_lifetime_seconds,
        external_issuers=load_external_issuers(settings.external_issuers_file),
        token_rate_limit=RateLimit(
            settings.token_rate_limit_per_second, settings.token_rate_limit_burst
        ),
        api_rate_limit=RateLimit(settings.rate_limit_per_second, settings.rate_limit_burst),
    )


def load_external_issuers(path: Path | None) -> tuple[ExternalIssuer, ...]:
    """Trusted identity providers from a TOML file: one ``[[issuer]]`` table each.

    Keys: issuer, audience, jwks_url or jwks_file, scope_claims, force_claim,
    client_id_claims, algorithms, require_at_jwt_typ, and ``[issuer.scope_map]`` mapping
    the provider's role or scope values to ours (``"Soteria.Analyst" = ["indicators:read"]``);
    ``scope_map = "identity"`` maps our own scope names to themselves (Keycloak).
    """
    if path is None:
        return ()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"Cannot read external issuers file {path}: {exc}") from exc
    issuers = []
    for number, entry in enumerate(data.get("issuer", []), 1):
        try:
            issuers.append(_issuer(entry, path.parent))
        except (ConfigurationError, ValueError, TypeError, KeyError) as exc:
            raise SettingsError(f"{path}: issuer #{number}: {exc}") from exc
    return tuple(issuers)


def _issuer(entry: dict[str, Any], base: Path) -> ExternalIssuer:
    raw_map = entry.get("scope_map", {})
    if raw_map == "identity":
        scope_map = identity_scope_map()
    else:
        scope_map = {key: frozenset(Scope(s) for s in values) for key, values in raw_map.items()}
    jwks_file = entry.get("jwks_file")
    return ExternalIssuer(
        issuer=entry["issuer"],
        audience=entry["audience"],
        jwks_url=entry.get("jwks_url"),
        jwks_file=base / jwks_file if jwks_file else None,
        scope_claims=tuple(entry.get("scope_claims", ("scope",))),
        scope_map=scope_map,
        force_claim=entry.get("force_claim"),
        client_id_claims=tuple(entry.get("client_id_claims", ("client_id", "azp", "appid"))),
        algorithms=tuple(entry.get("algorithms", ("RS256",))),
        require_at_jwt_typ=bool(entry.get("require_at_jwt_typ", True)),
    )
