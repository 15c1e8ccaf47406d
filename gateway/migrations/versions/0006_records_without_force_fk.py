"""records: drop the per-row foreign key to forces (checked before staging instead)

Revision ID: 0006_records_without_force_fk
Revises: 0005_auth
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006_records_without_force_fk"
down_revision: str | None = "0005_auth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.drop_constraint("fk_records_force_code_forces", type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_records_force_code_forces", "forces", ["force_code"], ["code"]
        )
