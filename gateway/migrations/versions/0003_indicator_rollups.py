"""indicators: rollup and quality tables for the current figures; two records indexes

Revision ID: 0003_indicator_rollups
Revises: 0001_store (temporarily: the intended chain is 0002_auth; see the lead)
Create Date: 2026-11-27 21:00:00.000000

The rollups start empty. On a database that already holds records, run
``adapters.indicators.rollup.rebuild_all(engine)`` once after this upgrade.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_indicator_rollups"
down_revision: str | None = "0001_store"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of adapters.indicators.measures.MEASURE_NAMES at this revision: a migration
# must build the same tables whatever the code looks like later.
_MEASURES = (
    "recorded",
    "cohort_charged",
    "cps_referred",
    "suspect_identified",
    "with_suspect_ref",
    "repeat_suspect",
    "isva_given",
    "isva_referred",
    "sarc_given",
    "sarc_referred",
    "assigned",
    "charged",
    "victim_withdrawal",
    "evidential_difficulties",
    "no_suspect",
    "device_returned",
    "device_returned_within_1_day",
    "aged",
    "aged_closed",
)


# Frozen copy of adapters.indicators.models.OPTIONAL_FIELDS at this revision.
_OPTIONAL_FIELDS = (
    "reported_date",
    "offence_date",
    "victim_age_band",
    "victim_sex",
    "relationship",
    "suspect_ref",
    "suspect_identified_date",
    "cps_referral_date",
    "outcome_type",
    "outcome_date",
    "isva_referral",
    "sarc_referral",
    "victim_device_seized_date",
    "victim_device_returned_date",
    "updated_at",
)


def _key() -> list[sa.Column[str]]:
    return [
        sa.Column("force_code", sa.String(length=40), nullable=False),
        sa.Column("dimension", sa.String(length=20), nullable=False),
        sa.Column("offence_group", sa.String(length=20), nullable=False),
        sa.Column("bucket", sa.String(length=32), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "indicator_rollup",
        *_key(),
        sa.Column("month", sa.Integer(), autoincrement=False, nullable=False),
        *(sa.Column(m, sa.Integer(), server_default="0", nullable=False) for m in _MEASURES),
        sa.PrimaryKeyConstraint(
            "force_code",
            "dimension",
            "month",
            "offence_group",
            "bucket",
            name=op.f("pk_indicator_rollup"),
        ),
    )
    op.create_table(
        "indicator_rollup_days",
        *_key(),
        sa.Column("measure", sa.String(length=40), nullable=False),
        sa.Column("month", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("days", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "force_code",
            "dimension",
            "measure",
            "month",
            "offence_group",
            "bucket",
            "days",
            name=op.f("pk_indicator_rollup_days"),
        ),
    )
    op.create_table(
        "indicator_quality",
        sa.Column("force_code", sa.String(length=40), nullable=False),
        sa.Column("held", sa.Integer(), server_default="0", nullable=False),
        sa.Column("active", sa.Integer(), server_default="0", nullable=False),
        *(
            sa.Column(f"filled_{name}", sa.Integer(), server_default="0", nullable=False)
            for name in _OPTIONAL_FIELDS
        ),
        sa.PrimaryKeyConstraint("force_code", name=op.f("pk_indicator_quality")),
    )
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.create_index(
            "ix_records_force_suspect", ["force_code", "suspect_ref"], unique=False
        )
        batch_op.create_index(
            "ix_records_force_recorded", ["force_code", "recorded_date"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.drop_index("ix_records_force_recorded")
        batch_op.drop_index("ix_records_force_suspect")
    op.drop_table("indicator_quality")
    op.drop_table("indicator_rollup_days")
    op.drop_table("indicator_rollup")
