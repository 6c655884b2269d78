"""sharing, warnings and site points

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 17:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "incident_site_points",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("place_path", sa.String(length=512), nullable=False),
        sa.Column("node", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["place_id"],
            ["places.id"],
            name=op.f("fk_incident_site_points_place_id_places"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_site_points")),
        sa.UniqueConstraint("place_id", name=op.f("uq_incident_site_points_place_id")),
    )
    op.create_table(
        "evacuation_needs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("place_path", sa.String(length=512), nullable=False),
        sa.Column("needs", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_by_account_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["place_id"],
            ["places.id"],
            name=op.f("fk_evacuation_needs_place_id_places"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_evacuation_needs_recorded_by_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_evacuation_needs_resident_id_residents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evacuation_needs")),
        sa.UniqueConstraint("resident_id", name=op.f("uq_evacuation_needs_resident_id")),
    )
    with op.batch_alter_table("evacuation_needs", schema=None) as batch_op:
        batch_op.create_index("ix_evacuation_needs_place_path", ["place_path"], unique=False)

    op.create_table(
        "share_recipients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("place_path", sa.String(length=512), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.String(length=32), nullable=False),
        sa.Column("allowed_fields", sa.JSON(), nullable=False),
        sa.Column("incident_types", sa.JSON(), nullable=False),
        sa.Column("min_severity", sa.Integer(), nullable=False),
        sa.Column("webhook_url", sa.String(length=500), nullable=True),
        sa.Column("signing_key", sa.String(length=512), nullable=True),
        sa.Column("feed_token_digest", sa.String(length=64), nullable=True),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by_account_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_share_recipients_created_by_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["place_id"],
            ["places.id"],
            name=op.f("fk_share_recipients_place_id_places"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_recipients")),
        sa.UniqueConstraint(
            "feed_token_digest", name=op.f("uq_share_recipients_feed_token_digest")
        ),
    )
    with op.batch_alter_table("share_recipients", schema=None) as batch_op:
        batch_op.create_index("ix_share_recipients_place_path", ["place_path"], unique=False)

    op.create_table(
        "disclosures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("place_path", sa.String(length=512), nullable=False),
        sa.Column("subject_type", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.String(length=32), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("identifier", sa.String(length=160), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["place_id"],
            ["places.id"],
            name=op.f("fk_disclosures_place_id_places"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["share_recipients.id"],
            name=op.f("fk_disclosures_recipient_id_share_recipients"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclosures")),
    )
    with op.batch_alter_table("disclosures", schema=None) as batch_op:
        batch_op.create_index("ix_disclosures_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index("ix_disclosures_place_path", ["place_path"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_disclosures_recipient_id"), ["recipient_id"], unique=False
        )
        batch_op.create_index(
            "ix_disclosures_subject", ["subject_type", "subject_id"], unique=False
        )

    op.create_table(
        "incident_broadcasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=16), nullable=False),
        sa.Column("radius_m", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["broadcast_id"],
            ["emergency_broadcasts.id"],
            name=op.f("fk_incident_broadcasts_broadcast_id_emergency_broadcasts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_broadcasts_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_broadcasts")),
        sa.UniqueConstraint("broadcast_id", name=op.f("uq_incident_broadcasts_broadcast_id")),
    )
    with op.batch_alter_table("incident_broadcasts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incident_broadcasts_incident_id"), ["incident_id"], unique=False
        )

    op.create_table(
        "disclosure_residents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("disclosure_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["disclosure_id"],
            ["disclosures.id"],
            name=op.f("fk_disclosure_residents_disclosure_id_disclosures"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_disclosure_residents_resident_id_residents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disclosure_residents")),
        sa.UniqueConstraint(
            "disclosure_id", "resident_id", name=op.f("uq_disclosure_residents_disclosure_id")
        ),
    )
    with op.batch_alter_table("disclosure_residents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_disclosure_residents_disclosure_id"), ["disclosure_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_disclosure_residents_resident_id"), ["resident_id"], unique=False
        )

    with op.batch_alter_table("responders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("shift_start", sa.String(length=5), nullable=True))
        batch_op.add_column(sa.Column("shift_end", sa.String(length=5), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("responders", schema=None) as batch_op:
        batch_op.drop_column("shift_end")
        batch_op.drop_column("shift_start")

    with op.batch_alter_table("disclosure_residents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_disclosure_residents_resident_id"))
        batch_op.drop_index(batch_op.f("ix_disclosure_residents_disclosure_id"))

    op.drop_table("disclosure_residents")
    with op.batch_alter_table("incident_broadcasts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incident_broadcasts_incident_id"))

    op.drop_table("incident_broadcasts")
    with op.batch_alter_table("disclosures", schema=None) as batch_op:
        batch_op.drop_index("ix_disclosures_subject")
        batch_op.drop_index(batch_op.f("ix_disclosures_recipient_id"))
        batch_op.drop_index("ix_disclosures_place_path")
        batch_op.drop_index("ix_disclosures_due")

    op.drop_table("disclosures")
    with op.batch_alter_table("share_recipients", schema=None) as batch_op:
        batch_op.drop_index("ix_share_recipients_place_path")

    op.drop_table("share_recipients")
    with op.batch_alter_table("evacuation_needs", schema=None) as batch_op:
        batch_op.drop_index("ix_evacuation_needs_place_path")

    op.drop_table("evacuation_needs")
    op.drop_table("incident_site_points")
