"""Storage of the auth package: clients, signing keys, revocations, replay and rate state.

The tables live on their own ``MetaData`` so the auth package stays independent of the
rest of the schema (the gateway's Alembic environment includes this metadata next to its
own). Every table is prefixed ``auth_``. The naming convention gives constraints stable
names so generated migrations are reproducible on SQLite and PostgreSQL alike.

Times are stored as timezone-aware UTC (``UTCDateTime``): SQLite keeps no offset, so the
type re-attaches UTC on the way out and refuses naive datetimes on the way in.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    LargeBinary,
    MetaData,
    String,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime, always UTC, on every dialect."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value)!r}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = metadata


class Client(Base):
    """An OAuth client: a force system, the Joint Unit, an analyst tool.

    A client authenticates with a secret (stored only as an argon2id hash) or, if it was
    registered with a public JWK, only with ``private_key_jwt``; never both, so a key-pair
    client has no weaker credential to steal.
    """

    __tablename__ = "auth_clients"
    __table_args__ = (
        CheckConstraint("(secret_hash IS NULL) <> (public_jwk IS NULL)", name="one_credential"),
    )

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[str | None] = mapped_column(String(255))
    public_jwk: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    scopes: Mapped[str] = mapped_column(String(500))
    force: Mapped[str | None] = mapped_column(String(64), index=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SigningKey(Base):
    """An ES256 key pair of our issuer; the private half sealed with the KEK.

    The current key is the newest one not yet superseded. A superseded key stays in the
    JWKS until ``retires_at`` (rotation time + longest token lifetime).
    """

    __tablename__ = "auth_signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    algorithm: Mapped[str] = mapped_column(String(16))
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON(none_as_null=True))
    private_key_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RevokedToken(Base):
    """A revoked access token, kept until it would have expired anyway."""

    __tablename__ = "auth_revoked_tokens"

    jti: Mapped[str] = mapped_column(String(128), primary_key=True)
    client_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("auth_clients.client_id", ondelete="CASCADE"), index=True
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ClientAssertion(Base):
    """A ``jti`` of a ``private_key_jwt`` assertion already used: RFC 7523 replay guard."""

    __tablename__ = "auth_client_assertions"

    client_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("auth_clients.client_id", ondelete="CASCADE"), primary_key=True
    )
    jti: Mapped[str] = mapped_column(String(128), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class RateBucket(Base):
    """One token bucket shared by every replica (``auth.ratelimit_sql``).

    ``refilled_at`` is epoch seconds as a float, not a datetime, because the refill
    arithmetic runs inside one portable UPDATE and datetime arithmetic differs between
    SQLite and PostgreSQL.
    """

    __tablename__ = "auth_rate_buckets"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    refilled_at: Mapped[float] = mapped_column(Float)
    allowed: Mapped[bool] = mapped_column(Boolean, default=True)


__all__ = [
    "NAMING_CONVENTION",
    "Base",
    "Client",
    "ClientAssertion",
    "RateBucket",
    "RevokedToken",
    "SigningKey",
    "UTCDateTime",
    "metadata",
]
