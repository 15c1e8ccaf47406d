"""External identity providers: their key sets, and their claims mapped to a Principal.

An external issuer's JWKS is fetched over HTTPS (``httpx``) or read from a file, cached
by ``auth.keycache`` and refetched once on an unknown ``kid`` (the provider rotated).
Only public signing keys with a ``kid`` are kept: private members are stripped, and keys
marked ``use: enc`` or of symmetric type are ignored, so a careless or hostile JWKS cannot
make us verify with an HMAC secret.

Their roles or scopes are translated through the issuer's ``scope_map``; values not in
the map grant nothing. The force code, if the issuer is configured with a force claim,
must be one the gateway knows.
"""

from __future__ import annotations

import hashlib
import json
import logging
import warnings
from collections.abc import Callable, Mapping
from typing import Any, Final

import httpx
from joserfc import jwk
from joserfc.errors import JoseError, SecurityWarning

from auth.clock import from_epoch
from auth.errors import InvalidTokenError, JWKSFetchError, TokenFault
from auth.keycache import KeyLoader
from auth.principal import Principal
from auth.scopes import Scope
from auth.settings import ExternalIssuer

logger = logging.getLogger(__name__)

MAX_JWKS_BYTES: Final = 256 * 1024
MIN_RSA_BITS: Final = 2048
_PRIVATE_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_SIGNING_KEY_TYPES: Final = frozenset({"RSA", "EC", "OKP"})


def parse_jwks(document: object) -> dict[str, jwk.Key]:
    """The usable public signing keys of a JWKS document, by ``kid``."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise JWKSFetchError("the JWKS document has no 'keys' array")
    keys: dict[str, jwk.Key] = {}
    for entry in document["keys"]:
        if not isinstance(entry, dict):
            continue
        kid, kty, use = entry.get("kid"), entry.get("kty"), entry.get("use", "sig")
        if not isinstance(kid, str) or kty not in _SIGNING_KEY_TYPES or use != "sig":
            continue
        public = {name: value for name, value in entry.items() if name not in _PRIVATE_MEMBERS}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SecurityWarning)  # short keys: refused below
                key = jwk.import_key(public)
        except (JoseError, ValueError, TypeError):
            logger.warning("ignoring an unparseable key in a JWKS document")
            continue
        if isinstance(key, jwk.RSAKey) and key.raw_value.key_size < MIN_RSA_BITS:
            logger.warning("ignoring an RSA key shorter than %d bits in a JWKS", MIN_RSA_BITS)
            continue
        keys[kid] = key
    if not keys:
        raise JWKSFetchError("the JWKS document holds no usable signing key")
    return keys


def fetch_jwks(
    url: str, *, timeout: float, client: httpx.Client | None = None
) -> dict[str, jwk.Key]:
    """GET ``url`` (no redirects, size-capped) and parse it. Raises ``JWKSFetchError``."""
    owned = client is None
    http = client if client is not None else httpx.Client(timeout=timeout)
    try:
        with http.stream("GET", url, follow_redirects=False) as response:
            if response.status_code != httpx.codes.OK:
                raise JWKSFetchError(f"JWKS fetch from {url} returned {response.status_code}")
            body = bytearray()
            for chunk in response.iter_bytes():
                body.extend(chunk)
                if len(body) > MAX_JWKS_BYTES:
                    raise JWKSFetchError(f"JWKS from {url} is larger than {MAX_JWKS_BYTES} bytes")
        document = json.loads(bytes(body))
    except httpx.HTTPError as exc:
        raise JWKSFetchError(f"JWKS fetch from {url} failed: {type(exc).__name__}") from exc
    except ValueError as exc:
        raise JWKSFetchError(f"JWKS from {url} is not JSON") from exc
    finally:
        if owned:
            http.close()
    return parse_jwks(document)


def jwks_loader(
    config: ExternalIssuer, *, timeout: float, client: httpx.Client | None = None
) -> KeyLoader:
    """A ``KeyCache`` loader for ``config``'s JWKS URL or file."""
    if config.jwks_url is not None:
        url = config.jwks_url
        return lambda: fetch_jwks(url, timeout=timeout, client=client)
    path = config.jwks_file
    if path is None:  # pragma: no cover - ExternalIssuer.__post_init__ forbids it
        raise JWKSFetchError(f"issuer {config.issuer} has no JWKS source")

    def load_file() -> dict[str, jwk.Key]:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise JWKSFetchError(f"cannot read JWKS file {path}") from exc
        return parse_jwks(document)

    return load_file


def external_principal(
    config: ExternalIssuer,
    claims: Mapping[str, Any],
    *,
    token: str,
    force_exists: Callable[[str], bool] | None,
) -> Principal:
    """Map a verified external token's claims onto a Principal, or raise."""
    subject = claims.get("sub")
    client_id = next(
        (claims[name] for name in config.client_id_claims if isinstance(claims.get(name), str)),
        subject,
    )
    if not isinstance(subject, str) or not isinstance(client_id, str):
        raise InvalidTokenError(TokenFault.BAD_CLAIMS)
    force: str | None = None
    if config.force_claim is not None and claims.get(config.force_claim) is not None:
        value = claims[config.force_claim]
        if not isinstance(value, str) or (force_exists is not None and not force_exists(value)):
            raise InvalidTokenError(TokenFault.BAD_CLAIMS)
        force = value
    jti = claims.get("jti")
    token_id = jti if isinstance(jti, str) else token_digest(token)
    return Principal(
        subject=subject,
        client_id=client_id,
        force=force,
        scopes=mapped_scopes(config, claims),
        issuer=config.issuer,
        token_id=token_id,
        expires_at=from_epoch(float(claims["exp"])),
    )


def mapped_scopes(config: ExternalIssuer, claims: Mapping[str, Any]) -> frozenset[Scope]:
    """Union of ``scope_map[value]`` over every value in every configured scope claim."""
    granted: set[Scope] = set()
    for name in config.scope_claims:
        value = claims.get(name)
        values = value.split() if isinstance(value, str) else value
        if not isinstance(values, list):
            continue
        for item in values:
            if isinstance(item, str):
                granted |= config.scope_map.get(item, frozenset())
    return frozenset(granted)


def token_digest(token: str) -> str:
    """A stable, non-reversible id for a token that carries no ``jti``."""
    return "sha256:" + hashlib.sha256(token.encode("ascii")).hexdigest()[:32]
