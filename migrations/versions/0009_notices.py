"""notices, read receipts and emergency broadcasts

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "emergency_broadcasts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identifier", sa.String(length=100), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("place_path", sa.String(length=512), nullable=False),
        sa.Column("headline", sa.String(length=160), nullable=False),
        sa.Column("instruction", sa.Text(), nullable=False),
        sa.Column("cap_category", sa.String(length=16), nullable=False),
        sa.Column("event", sa.String(length=100), nullable=False),
        sa.Column("urgency", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("certainty", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_account_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_emergency_broadcasts_created_by_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["place_id"],
            ["places.id"],
            name=op.f("fk_emergency_broadcasts_place_id_places"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emergency_broadcasts")),
        sa.UniqueConstraint("identifier", name=op.f("uq_emergency_broadcasts_identifier")),
    )
    with op.batch_alter_table("emergency_broadcasts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_emergency_broadcasts_place_id"), ["place_id"], unique=False
        )
        batch_op.create_index("ix_emergency_broadcasts_place_path", ["place_path"], unique=False)

    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("place_path", sa.String(length=512), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("publish_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_account_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_notices_created_by_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["place_id"],
            ["places.id"],
            name=op.f("fk_notices_place_id_places"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
    )
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notices_place_id"), ["place_id"], unique=False)
        batch_op.create_index("ix_notices_place_path", ["place_path"], unique=False)

    op.create_table(
        "emergency_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("via", sa.String(length=8), nullable=True),
        sa.Column("recorded_by_account_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["broadcast_id"],
            ["emergency_broadcasts.id"],
            name=op.f("fk_emergency_responses_broadcast_id_emergency_broadcasts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["place_id"],
            ["places.id"],
            name=op.f("fk_emergency_responses_place_id_places"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_emergency_responses_recorded_by_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_emergency_responses_resident_id_residents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emergency_responses")),
        sa.UniqueConstraint(
            "broadcast_id", "resident_id", name=op.f("uq_emergency_responses_broadcast_id")
        ),
    )
    with op.batch_alter_table("emergency_responses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_emergency_responses_broadcast_id"), ["broadcast_id"], unique=False
        )

    op.create_table(
        "notice_reads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_notice_reads_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["notices.id"],
            name=op.f("fk_notice_reads_notice_id_notices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_reads")),
        sa.UniqueConstraint("notice_id", "account_id", name=op.f("uq_notice_reads_notice_id")),
    )
    with op.batch_alter_table("notice_reads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notice_reads_notice_id"), ["notice_id"], unique=False)


def downgrade() -> None:
    op.drop_table("notice_reads")
    op.drop_table("emergency_responses")
    op.drop_table("notices")
    op.drop_table("emergency_broadcasts")
