"""consent and privacy notice

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 02:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("notice_version", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("actor_account_id", sa.Integer(), nullable=True),
        sa.Column("guardian_resident_id", sa.Integer(), nullable=True),
        sa.Column("guardian_account_id", sa.Integer(), nullable=True),
        sa.Column("given_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_by_account_id", sa.Integer(), nullable=True),
        sa.Column("withdrawn_channel", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_account_id"],
            ["accounts.id"],
            name=op.f("fk_consents_actor_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["guardian_account_id"],
            ["accounts.id"],
            name=op.f("fk_consents_guardian_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["guardian_resident_id"],
            ["residents.id"],
            name=op.f("fk_consents_guardian_resident_id_residents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_consents_resident_id_residents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["withdrawn_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_consents_withdrawn_by_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.create_index(
            "ix_consents_resident_id_purpose", ["resident_id", "purpose"], unique=False
        )

    op.create_table(
        "consent_guardians",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("child_resident_id", sa.Integer(), nullable=False),
        sa.Column("guardian_account_id", sa.Integer(), nullable=False),
        sa.Column("linked_by_account_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["child_resident_id"],
            ["residents.id"],
            name=op.f("fk_consent_guardians_child_resident_id_residents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["guardian_account_id"],
            ["accounts.id"],
            name=op.f("fk_consent_guardians_guardian_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["linked_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_consent_guardians_linked_by_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_guardians")),
        sa.UniqueConstraint(
            "child_resident_id",
            "guardian_account_id",
            name=op.f("uq_consent_guardians_child_resident_id"),
        ),
    )
    with op.batch_alter_table("consent_guardians", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consent_guardians_child_resident_id"),
            ["child_resident_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_consent_guardians_guardian_account_id"),
            ["guardian_account_id"],
            unique=False,
        )

    op.create_table(
        "privacy_impact_assessments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("module", sa.String(length=64), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("assessed_on", sa.Date(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("recorded_by_account_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["place_id"],
            ["places.id"],
            name=op.f("fk_privacy_impact_assessments_place_id_places"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_privacy_impact_assessments_recorded_by_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_impact_assessments")),
    )
    with op.batch_alter_table("privacy_impact_assessments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_privacy_impact_assessments_place_id"), ["place_id"], unique=False
        )

    op.create_table(
        "privacy_modules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("module", sa.String(length=64), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=True),
        sa.Column("updated_by_account_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["privacy_impact_assessments.id"],
            name=op.f("fk_privacy_modules_assessment_id_privacy_impact_assessments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["place_id"],
            ["places.id"],
            name=op.f("fk_privacy_modules_place_id_places"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_privacy_modules_updated_by_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_modules")),
        sa.UniqueConstraint("place_id", "module", name=op.f("uq_privacy_modules_place_id")),
    )


def downgrade() -> None:

    op.drop_table("privacy_modules")
    with op.batch_alter_table("privacy_impact_assessments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_privacy_impact_assessments_place_id"))
    op.drop_table("privacy_impact_assessments")
    with op.batch_alter_table("consent_guardians", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_guardians_guardian_account_id"))
        batch_op.drop_index(batch_op.f("ix_consent_guardians_child_resident_id"))
    op.drop_table("consent_guardians")
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_index("ix_consents_resident_id_purpose")
    op.drop_table("consents")
