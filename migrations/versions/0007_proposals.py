"""suggestions, supports and answers

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "proposal_settings",
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("place_path", sa.String(length=512), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("answer_days", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["place_id"],
            ["places.id"],
            name=op.f("fk_proposal_settings_place_id_places"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("place_id", name=op.f("pk_proposal_settings")),
    )
    op.create_table(
        "proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("place_path", sa.String(length=512), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author_resident_id", sa.Integer(), nullable=True),
        sa.Column("author_account_id", sa.Integer(), nullable=True),
        sa.Column("author_area_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_before_hidden", sa.String(length=20), nullable=True),
        sa.Column("support_count", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("answer_days", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("threshold_reached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answer_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overdue_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.Integer(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("moderation_reason", sa.String(length=500), nullable=True),
        sa.Column("moderated_by", sa.Integer(), nullable=True),
        sa.Column("moderated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["answered_by"],
            ["accounts.id"],
            name=op.f("fk_proposals_answered_by_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["author_account_id"],
            ["accounts.id"],
            name=op.f("fk_proposals_author_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["author_area_id"],
            ["places.id"],
            name=op.f("fk_proposals_author_area_id_places"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["author_resident_id"],
            ["residents.id"],
            name=op.f("fk_proposals_author_resident_id_residents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["moderated_by"],
            ["accounts.id"],
            name=op.f("fk_proposals_moderated_by_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["place_id"],
            ["places.id"],
            name=op.f("fk_proposals_place_id_places"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposals")),
    )
    op.create_index(
        op.f("ix_proposals_author_resident_id"), "proposals", ["author_resident_id"], unique=False
    )
    op.create_index(op.f("ix_proposals_place_id"), "proposals", ["place_id"], unique=False)
    op.create_index("ix_proposals_place_path", "proposals", ["place_path"], unique=False)
    op.create_index(
        "ix_proposals_status_due", "proposals", ["status", "answer_due_at"], unique=False
    )
    op.create_table(
        "proposal_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_proposal_events_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposals.id"],
            name=op.f("fk_proposal_events_proposal_id_proposals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposal_events")),
    )
    op.create_index(
        op.f("ix_proposal_events_proposal_id"), "proposal_events", ["proposal_id"], unique=False
    )
    op.create_table(
        "proposal_supports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_proposal_supports_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposals.id"],
            name=op.f("fk_proposal_supports_proposal_id_proposals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_proposal_supports_resident_id_residents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposal_supports")),
        sa.UniqueConstraint("proposal_id", "resident_id", name="uq_proposal_supports_resident"),
    )
    op.create_index(
        op.f("ix_proposal_supports_proposal_id"), "proposal_supports", ["proposal_id"], unique=False
    )
    op.create_index(
        op.f("ix_proposal_supports_resident_id"), "proposal_supports", ["resident_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_proposal_supports_resident_id"), table_name="proposal_supports")
    op.drop_index(op.f("ix_proposal_supports_proposal_id"), table_name="proposal_supports")
    op.drop_table("proposal_supports")
    op.drop_index(op.f("ix_proposal_events_proposal_id"), table_name="proposal_events")
    op.drop_table("proposal_events")
    op.drop_index("ix_proposals_status_due", table_name="proposals")
    op.drop_index("ix_proposals_place_path", table_name="proposals")
    op.drop_index(op.f("ix_proposals_place_id"), table_name="proposals")
    op.drop_index(op.f("ix_proposals_author_resident_id"), table_name="proposals")
    op.drop_table("proposals")
    op.drop_table("proposal_settings")
