"""auth: clients, signing keys, revoked tokens, assertions, rate buckets

Revision ID: 0005_auth
Revises: 0004_audit
Create Date: 2026-11-27 21:03:15.783720
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_auth"
down_revision: str | None = "0004_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "auth_clients",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("secret_hash", sa.String(length=255), nullable=True),
        sa.Column("public_jwk", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("scopes", sa.String(length=500), nullable=False),
        sa.Column("force", sa.String(length=64), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(secret_hash IS NULL) <> (public_jwk IS NULL)",
            name=op.f("ck_auth_clients_one_credential"),
        ),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_auth_clients")),
    )
    with op.batch_alter_table("auth_clients", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auth_clients_force"), ["force"], unique=False)

    op.create_table(
        "auth_rate_buckets",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("refilled_at", sa.Float(), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_auth_rate_buckets")),
    )
    op.create_table(
        "auth_signing_keys",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("algorithm", sa.String(length=16), nullable=False),
        sa.Column("public_jwk", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("private_key_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retires_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_auth_signing_keys")),
    )
    with op.batch_alter_table("auth_signing_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_auth_signing_keys_created_at"), ["created_at"], unique=False
        )

    op.create_table(
        "auth_client_assertions",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("jti", sa.String(length=128), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["auth_clients.client_id"],
            name=op.f("fk_auth_client_assertions_client_id_auth_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("client_id", "jti", name=op.f("pk_auth_client_assertions")),
    )
    with op.batch_alter_table("auth_client_assertions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_auth_client_assertions_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "auth_revoked_tokens",
        sa.Column("jti", sa.String(length=128), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["auth_clients.client_id"],
            name=op.f("fk_auth_revoked_tokens_client_id_auth_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_auth_revoked_tokens")),
    )
    with op.batch_alter_table("auth_revoked_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_auth_revoked_tokens_client_id"), ["client_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_auth_revoked_tokens_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("auth_revoked_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_revoked_tokens_expires_at"))
        batch_op.drop_index(batch_op.f("ix_auth_revoked_tokens_client_id"))

    op.drop_table("auth_revoked_tokens")
    with op.batch_alter_table("auth_client_assertions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_client_assertions_expires_at"))

    op.drop_table("auth_client_assertions")
    with op.batch_alter_table("auth_signing_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_signing_keys_created_at"))

    op.drop_table("auth_signing_keys")
    op.drop_table("auth_rate_buckets")
    with op.batch_alter_table("auth_clients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_clients_force"))

    op.drop_table("auth_clients")
