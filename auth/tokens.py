"""Minting RFC 9068 JWT access tokens.

authlib's ``JWTBearerTokenGenerator`` reads the system clock and cannot add our ``force``
claim without subclassing half of it, so tokens are built here with joserfc directly and
handed to authlib's token endpoint as a plain token dict.

Claims: ``iss``, ``sub`` (the client id: no resource owner in the client credentials
grant), ``aud``, ``exp``, ``iat``, ``nbf``, ``jti``, ``client_id``, ``scope`` and, for
force-bound clients, ``force``. Header: ``alg: ES256``, ``typ: at+jwt``, ``kid``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from joserfc import jwt

from auth.clock import to_epoch
from auth.scopes import Scope, format_scopes
from auth.signing_keys import SIGNING_ALGORITHM, ActiveSigningKey

AT_JWT_TYP: Final = "at+jwt"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    token_id: str
    expires_in: int
    scope: str

    def as_response(self) -> dict[str, Any]:
        """The RFC 6749 §5.1 success body. No refresh token in client credentials."""
        return {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": self.scope,
        }


def mint_access_token(
    key: ActiveSigningKey,
    *,
    issuer: str,
    audience: str,
    client_id: str,
    scopes: frozenset[Scope],
    force: str | None,
    lifetime_seconds: int,
    now: datetime,
) -> IssuedToken:
    """Sign an access token for ``client_id`` valid for ``lifetime_seconds`` from ``now``."""
    issued_at = to_epoch(now)
    token_id = secrets.token_urlsafe(24)
    scope = format_scopes(scopes)
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": client_id,
        "aud": audience,
        "iat": issued_at,
        "nbf": issued_at,
        "exp": to_epoch(now + timedelta(seconds=lifetime_seconds)),
        "jti": token_id,
        "client_id": client_id,
        "scope": scope,
    }
    if force is not None:
        claims["force"] = force
    header = {"alg": SIGNING_ALGORITHM, "typ": AT_JWT_TYP, "kid": key.kid}
    token = jwt.encode(header, claims, key.private_key, algorithms=[SIGNING_ALGORITHM])
    return IssuedToken(
        access_token=token, token_id=token_id, expires_in=lifetime_seconds, scope=scope
    )
