"""Revoked tokens and the "is this token still live?" check.

JWT access tokens are self-contained, so revocation (RFC 7009) needs a deny list: the
``jti`` of each revoked token, kept until the token would have expired anyway. The same
check also refuses tokens of a disabled client, so disabling a compromised client cuts
off its live tokens at once instead of up to 15 minutes later.

The check is a primary-key lookup. The validator reuses its "still live" answers for a
second (``auth.liveness.LiveCache``): a revocation holds at once on the process that made
it and within that second on every other replica.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from auth.models import Client, ClientAssertion, RevokedToken


def revoke_token(
    session: Session, *, jti: str, client_id: str, expires_at: datetime, now: datetime
) -> None:
    """Add ``jti`` to the deny list; revoking twice (even concurrently) is a no-op."""
    if session.get(RevokedToken, jti) is not None:
        return
    try:
        with session.begin_nested():
            session.add(
                RevokedToken(jti=jti, client_id=client_id, expires_at=expires_at, revoked_at=now)
            )
    except IntegrityError:
        pass  # another request revoked it first


def is_token_live(session: Session, *, jti: str, client_id: str) -> bool:
    """False if the token is revoked, or its client is disabled or gone."""
    revoked = exists().where(RevokedToken.jti == jti)
    row = session.execute(
        select(Client.enabled, revoked).where(Client.client_id == client_id)
    ).one_or_none()
    if row is None:
        return False
    enabled, is_revoked = row
    return bool(enabled) and not bool(is_revoked)


def purge_expired(session: Session, *, now: datetime) -> int:
    """Drop deny-list entries and used assertion ids past their expiry; returns the count."""
    revoked = session.execute(delete(RevokedToken).where(RevokedToken.expires_at < now))
    used = session.execute(delete(ClientAssertion).where(ClientAssertion.expires_at < now))
    return int(getattr(revoked, "rowcount", 0) or 0) + int(getattr(used, "rowcount", 0) or 0)
