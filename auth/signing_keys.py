"""Our issuer's ES256 signing keys: creation, rotation, and the published key set.

Rotation never invalidates a token: ``rotate_signing_key`` makes a new key current and
keeps the old public key published until ``retires_at`` (rotation time + the longest a
token lives), so every token the old key signed can still be verified until it expires.
Validators in other processes learn the new key from the database (``auth.keycache``).

The signing path reads the current key from the database on every token issued rather
than caching it: a replica that kept signing with a superseded key after its retire time
was computed would mint tokens that outlive their key's publication.

These functions flush but never commit; the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from joserfc import jwk
from joserfc.errors import JoseError
from sqlalchemy import case, or_, select, update
from sqlalchemy.orm import Session

from auth.clock import utc_now
from auth.errors import KeyMaterialError
from auth.kek import seal, unseal
from auth.models import SigningKey
from auth.settings import DEFAULT_LEEWAY, DEFAULT_TOKEN_LIFETIME

SIGNING_ALGORITHM: Final = "ES256"
DEFAULT_RETIRE_AFTER: Final = timedelta(seconds=DEFAULT_TOKEN_LIFETIME + DEFAULT_LEEWAY)


@dataclass(frozen=True, slots=True)
class ActiveSigningKey:
    """The current private key, ready to sign; never stored or logged."""

    kid: str
    private_key: jwk.ECKey


def create_signing_key(session: Session, kek: bytes, *, now: datetime | None = None) -> str:
    """Add a new key pair and return its ``kid`` (the RFC 7638 thumbprint).

    The newest non-superseded key is the current one, so this alone makes it current;
    use ``rotate_signing_key`` to also schedule the previous keys' retirement.
    """
    moment = now or utc_now()
    key = jwk.ECKey.generate_key("P-256", private=True)
    kid = key.thumbprint()
    public = {**key.as_dict(private=False), "kid": kid, "use": "sig", "alg": SIGNING_ALGORITHM}
    sealed = seal(kek, key.as_pem(private=True), associated_data=kid.encode("ascii"))
    session.add(
        SigningKey(
            kid=kid,
            algorithm=SIGNING_ALGORITHM,
            public_jwk=public,
            private_key_sealed=sealed,
            created_at=moment,
        )
    )
    session.flush()
    return kid


def ensure_signing_key(session: Session, kek: bytes, *, now: datetime | None = None) -> str:
    """Return the current ``kid``, creating a first key if there is none.

    Two replicas racing here may each create a key; that is harmless because the newest
    one becomes current and the other stays published like any other live key.
    """
    current = _current_row(session)
    if current is not None:
        return current.kid
    return create_signing_key(session, kek, now=now)


def rotate_signing_key(
    session: Session,
    kek: bytes,
    *,
    retire_after: timedelta = DEFAULT_RETIRE_AFTER,
    now: datetime | None = None,
) -> str:
    """Make a new key current; keep the previous ones published for ``retire_after``.

    Pass ``AuthSettings.key_retire_after`` so the old key outlives the longest token
    it can have signed. Returns the new ``kid``.
    """
    moment = now or utc_now()
    session.execute(
        update(SigningKey)
        .where(SigningKey.superseded_at.is_(None))
        .values(superseded_at=moment, retires_at=moment + retire_after)
    )
    return create_signing_key(session, kek, now=moment)


def current_signing_key(session: Session, kek: bytes) -> ActiveSigningKey:
    """Load and unseal the current private key. Raises ``KeyMaterialError``."""
    row = _current_row(session)
    if row is None:
        raise KeyMaterialError("there is no current signing key")
    pem = unseal(kek, row.private_key_sealed, associated_data=row.kid.encode("ascii"))
    try:
        key = jwk.ECKey.import_key(pem, parameters={"kid": row.kid, "use": "sig"})
    except (JoseError, ValueError) as exc:
        raise KeyMaterialError(f"signing key {row.kid} is corrupt") from exc
    return ActiveSigningKey(kid=row.kid, private_key=key)


def published_jwks(session: Session, *, now: datetime) -> list[dict[str, Any]]:
    """Public JWKs of every key not yet retired at ``now``: current first, then newest."""
    rows = session.scalars(
        select(SigningKey)
        .where(or_(SigningKey.retires_at.is_(None), SigningKey.retires_at > now))
        .order_by(
            case((SigningKey.superseded_at.is_(None), 0), else_=1),
            SigningKey.created_at.desc(),
            SigningKey.kid,
        )
    )
    return [dict(row.public_jwk) for row in rows]


def published_public_keys(session: Session, *, now: datetime) -> Mapping[str, jwk.Key]:
    """The published keys by ``kid``, imported for signature verification."""
    keys: dict[str, jwk.Key] = {}
    for public in published_jwks(session, now=now):
        try:
            keys[str(public["kid"])] = jwk.import_key(public)
        except (JoseError, ValueError, KeyError) as exc:
            raise KeyMaterialError("a published signing key is corrupt") from exc
    return keys


def purge_retired_keys(session: Session, *, now: datetime) -> int:
    """Delete keys retired before ``now``; returns how many. Safe to run at any time."""
    rows = session.scalars(select(SigningKey).where(SigningKey.retires_at <= now)).all()
    for row in rows:
        session.delete(row)
    session.flush()
    return len(rows)


def _current_row(session: Session) -> SigningKey | None:
    return session.scalars(
        select(SigningKey)
        .where(SigningKey.superseded_at.is_(None))
        .order_by(SigningKey.created_at.desc(), SigningKey.kid.desc())
        .limit(1)
    ).first()
