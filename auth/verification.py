"""Verifying one compact JWT against one issuer profile, failing closed.

The order of checks is the security argument:

1. size and shape (three parts, a JSON header and payload) before any crypto;
2. the issuer picks the profile, and the profile fixes the allowed algorithms, so the
   token's own ``alg`` never chooses how it is verified (``none`` and HMAC-with-the-
   public-key are refused here, before a key is even looked up);
3. ``typ`` must be ``at+jwt`` (RFC 9068 §4) unless the profile says otherwise (authlib
   and joserfc accept a missing ``typ``, so we check it ourselves);
4. the key comes from the issuer's key set by ``kid`` and must agree with ``alg``;
5. the signature; only then the claims (``iss``, ``aud``, ``exp``, ``nbf``, ``iat``).

Every failure raises ``InvalidTokenError`` with one of the fixed descriptions in
``auth.errors``; library messages are never passed on.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from joserfc import jws
from joserfc.errors import (
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
)
from joserfc.jwk import Key
from joserfc.jwt import ClaimsOption, JWTClaimsRegistry

from auth.errors import InvalidTokenError, TokenFault

AT_JWT_TYPES: Final = frozenset({"at+jwt", "application/at+jwt"})
PLAIN_JWT_TYPES: Final = frozenset({"jwt", "application/jwt"})

KeyLookup = Callable[[str], Key | None]


@dataclass(frozen=True, slots=True)
class IssuerProfile:
    """What a token from one issuer must look like."""

    issuer: str
    audience: str
    algorithms: frozenset[str]
    require_at_jwt: bool
    required_claims: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class UnverifiedToken:
    """A parsed but not yet trusted token: use only to choose how to verify it."""

    compact: jws.CompactSignature
    header: dict[str, Any]
    claims: dict[str, Any]

    @property
    def issuer(self) -> str | None:
        value = self.claims.get("iss")
        return value if isinstance(value, str) else None


def read_unverified(token: str, *, max_bytes: int) -> UnverifiedToken:
    """Parse header and payload; reject oversized, JWE (5 parts) and non-JSON tokens."""
    if len(token) > max_bytes or not token.isascii() or token.count(".") != 2:
        raise InvalidTokenError(TokenFault.MALFORMED)
    try:
        compact = jws.extract_compact(token.encode("ascii"))
        header = dict(compact.headers())
        claims = json.loads(compact.payload)
    except (JoseError, ValueError, TypeError) as exc:
        raise InvalidTokenError(TokenFault.MALFORMED) from exc
    if not isinstance(claims, dict):
        raise InvalidTokenError(TokenFault.MALFORMED)
    return UnverifiedToken(compact=compact, header=header, claims=claims)


def verify(
    unverified: UnverifiedToken,
    profile: IssuerProfile,
    keys: KeyLookup,
    *,
    now: int,
    leeway: int,
) -> dict[str, Any]:
    """Verify ``unverified`` under ``profile``; return its claims or raise."""
    alg = unverified.header.get("alg")
    if not isinstance(alg, str) or alg not in profile.algorithms:
        raise InvalidTokenError(TokenFault.BAD_ALGORITHM)
    _check_type(unverified.header.get("typ"), require_at_jwt=profile.require_at_jwt)
    kid = unverified.header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise InvalidTokenError(TokenFault.UNKNOWN_KEY)
    key = keys(kid)
    if key is None:
        raise InvalidTokenError(TokenFault.UNKNOWN_KEY)
    if key.alg is not None and key.alg != alg:
        raise InvalidTokenError(TokenFault.BAD_ALGORITHM)
    try:
        valid = jws.validate_compact(unverified.compact, key, algorithms=[alg])
    except JoseError as exc:
        raise InvalidTokenError(TokenFault.BAD_SIGNATURE) from exc
    if not valid:
        raise InvalidTokenError(TokenFault.BAD_SIGNATURE)
    check_claims(unverified.claims, profile, now=now, leeway=leeway)
    return unverified.claims


def check_claims(claims: dict[str, Any], profile: IssuerProfile, *, now: int, leeway: int) -> None:
    """Registered-claim checks with the injected ``now``; maps failures to fixed texts."""
    options: dict[str, ClaimsOption] = {
        "iss": {"essential": True, "value": profile.issuer},
        "aud": {"essential": True, "value": profile.audience},
        "exp": {"essential": True},
    }
    for name in profile.required_claims:
        options.setdefault(name, {"essential": True})
    registry = JWTClaimsRegistry(now=now, leeway=leeway, **options)
    try:
        registry.validate(claims)
    except ExpiredTokenError as exc:
        raise InvalidTokenError(TokenFault.EXPIRED) from exc
    except InvalidClaimError as exc:
        raise InvalidTokenError(_describe_invalid_claim(exc.claim, claims)) from exc
    except JoseError as exc:
        raise InvalidTokenError(TokenFault.BAD_CLAIMS) from exc


def _describe_invalid_claim(claim: str, claims: dict[str, Any]) -> TokenFault:
    if claim == "aud":
        return TokenFault.WRONG_AUDIENCE
    if claim == "iss":
        return TokenFault.UNTRUSTED_ISSUER
    if claim in ("nbf", "iat") and _is_number(claims.get(claim)):
        return TokenFault.NOT_YET_VALID
    return TokenFault.BAD_CLAIMS


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_type(typ: object, *, require_at_jwt: bool) -> None:
    if typ is None and not require_at_jwt:
        return
    if not isinstance(typ, str):
        raise InvalidTokenError(TokenFault.BAD_TYPE)
    accepted = AT_JWT_TYPES if require_at_jwt else AT_JWT_TYPES | PLAIN_JWT_TYPES
    if typ.lower() not in accepted:
        raise InvalidTokenError(TokenFault.BAD_TYPE)
