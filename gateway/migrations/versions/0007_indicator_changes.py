"""indicators: the months each submission changed, per force and data version

Revision ID: 0007_indicator_changes
Revises: 0006_records_without_force_fk
Create Date: 2026-11-28

A gateway that cached a force's figures at one data version reads, on the next query, the
months the versions since changed (``adapters.indicators.rollup.CHANGES``) and reads again
only the periods holding them. The table starts empty: a version with no row is read in
full, so nothing needs backfilling.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_indicator_changes"
down_revision: str | None = "0006_records_without_force_fk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "indicator_changes",
        sa.Column("force_code", sa.String(length=40), nullable=False),
        sa.Column("data_version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("month", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint(
            "force_code", "data_version", "month", name=op.f("pk_indicator_changes")
        ),
    )


def downgrade() -> None:
    op.drop_table("indicator_changes")
