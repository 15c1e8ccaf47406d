"""store: forces, submissions, records, record versions

Revision ID: 0001_store
Revises:
Create Date: 2026-11-27 20:27:28.992725
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from schema import codelists

revision: str = "0001_store"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "forces",
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("ons_code", sa.String(length=9), nullable=False),
        sa.Column("region", sa.String(length=60), nullable=False),
        sa.Column("country", sa.String(length=20), nullable=False),
        sa.Column("data_version", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_submission_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_forces")),
        sa.UniqueConstraint("ons_code", name=op.f("uq_forces_ons_code")),
    )
    op.create_table(
        "record_versions",
        sa.Column("force_code", sa.String(length=40), nullable=False),
        sa.Column("crime_ref", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("offence_code", sa.String(length=32), nullable=False),
        sa.Column("recorded_date", sa.Date(), nullable=False),
        sa.Column("reported_date", sa.Date(), nullable=True),
        sa.Column("offence_date", sa.Date(), nullable=True),
        sa.Column("victim_age_band", sa.String(length=32), nullable=True),
        sa.Column("victim_sex", sa.String(length=32), nullable=True),
        sa.Column("relationship", sa.String(length=32), nullable=True),
        sa.Column("suspect_ref", sa.String(length=64), nullable=True),
        sa.Column("suspect_identified_date", sa.Date(), nullable=True),
        sa.Column("cps_referral_date", sa.Date(), nullable=True),
        sa.Column("outcome_type", sa.String(length=32), nullable=True),
        sa.Column("outcome_date", sa.Date(), nullable=True),
        sa.Column("isva_referral", sa.Boolean(), nullable=True),
        sa.Column("sarc_referral", sa.Boolean(), nullable=True),
        sa.Column("victim_device_seized_date", sa.Date(), nullable=True),
        sa.Column("victim_device_returned_date", sa.Date(), nullable=True),
        sa.Column("record_status", sa.String(length=32), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submission_id", sa.String(length=36), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_to", sa.DateTime(timezone=True), nullable=False),
        sa.Column("replaced_by_submission_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint(
            "force_code", "crime_ref", "version", name=op.f("pk_record_versions")
        ),
    )
    with op.batch_alter_table("record_versions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_record_versions_force_valid", ["force_code", "valid_to"], unique=False
        )

    op.create_table(
        "records",
        sa.Column("force_code", sa.String(length=40), nullable=False),
        sa.Column("crime_ref", sa.String(length=64), nullable=False),
        sa.Column("offence_code", sa.String(length=32), nullable=False),
        sa.Column("recorded_date", sa.Date(), nullable=False),
        sa.Column("reported_date", sa.Date(), nullable=True),
        sa.Column("offence_date", sa.Date(), nullable=True),
        sa.Column("victim_age_band", sa.String(length=32), nullable=True),
        sa.Column("victim_sex", sa.String(length=32), nullable=True),
        sa.Column("relationship", sa.String(length=32), nullable=True),
        sa.Column("suspect_ref", sa.String(length=64), nullable=True),
        sa.Column("suspect_identified_date", sa.Date(), nullable=True),
        sa.Column("cps_referral_date", sa.Date(), nullable=True),
        sa.Column("outcome_type", sa.String(length=32), nullable=True),
        sa.Column("outcome_date", sa.Date(), nullable=True),
        sa.Column("isva_referral", sa.Boolean(), nullable=True),
        sa.Column("sarc_referral", sa.Boolean(), nullable=True),
        sa.Column("victim_device_seized_date", sa.Date(), nullable=True),
        sa.Column("victim_device_returned_date", sa.Date(), nullable=True),
        sa.Column("record_status", sa.String(length=32), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.String(length=36), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["force_code"], ["forces.code"], name=op.f("fk_records_force_code_forces")
        ),
        sa.PrimaryKeyConstraint("force_code", "crime_ref", name=op.f("pk_records")),
    )
    op.create_table(
        "submissions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("force_code", sa.String(length=40), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("format", sa.String(length=40), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("inserted", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("stale", sa.Integer(), nullable=False),
        sa.Column("warning_count", sa.Integer(), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["force_code"], ["forces.code"], name=op.f("fk_submissions_force_code_forces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submissions")),
        sa.UniqueConstraint(
            "force_code", "idempotency_key", name=op.f("uq_submissions_force_code")
        ),
    )
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_submissions_force_code"), ["force_code"], unique=False)

    forces = sa.table(
        "forces",
        sa.column("code", sa.String),
        sa.column("name", sa.String),
        sa.column("ons_code", sa.String),
        sa.column("region", sa.String),
        sa.column("country", sa.String),
        sa.column("data_version", sa.Integer),
    )
    # The 43 forces are reference data (schema/data/forces.csv): seeded with the tables.
    op.bulk_insert(
        forces,
        [
            {
                "code": f.code,
                "name": f.name,
                "ons_code": f.ons_code,
                "region": f.region,
                "country": f.country,
                "data_version": 0,
            }
            for f in codelists.forces()
        ],
    )


def downgrade() -> None:

    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_submissions_force_code"))

    op.drop_table("submissions")
    op.drop_table("records")
    with op.batch_alter_table("record_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_record_versions_force_valid")

    op.drop_table("record_versions")
    op.drop_table("forces")
