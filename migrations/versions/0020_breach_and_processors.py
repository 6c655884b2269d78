"""breach and processors

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 03:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    with op.batch_alter_table("share_recipients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("processor_channel", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column(
                "contract_reference", sa.String(length=200), nullable=False, server_default=""
            )
        )
        batch_op.add_column(
            sa.Column("contact", sa.String(length=200), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("contract_expires_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("in_country", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(
            sa.Column("basis_expires_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("basis_invoked_by", sa.String(length=32), nullable=False, server_default="")
        )

    with op.batch_alter_table("disclosures", schema=None) as batch_op:
        batch_op.add_column(sa.Column("emergency_until", sa.DateTime(timezone=True), nullable=True))

    op.create_table(
        "export_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("place_path", sa.String(length=512), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by_account_id", sa.Integer(), nullable=True),
        sa.Column("decided_by_account_id", sa.Integer(), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("downloaded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disclosure_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_export_requests_decided_by_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["disclosure_id"],
            ["disclosures.id"],
            name=op.f("fk_export_requests_disclosure_id_disclosures"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["place_id"],
            ["places.id"],
            name=op.f("fk_export_requests_place_id_places"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["share_recipients.id"],
            name=op.f("fk_export_requests_recipient_id_share_recipients"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_export_requests_requested_by_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_requests")),
    )
    with op.batch_alter_table("export_requests", schema=None) as batch_op:
        batch_op.create_index("ix_export_requests_place_path", ["place_path"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_export_requests_recipient_id"), ["recipient_id"], unique=False
        )

    op.create_table(
        "data_breaches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("place_path", sa.String(length=512), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("what_happened", sa.Text(), nullable=False),
        sa.Column("cause", sa.Text(), nullable=False),
        sa.Column("possible_harm", sa.Text(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("people_affected", sa.Integer(), nullable=False),
        sa.Column("measures_taken", sa.Text(), nullable=False),
        sa.Column("advice_to_people", sa.Text(), nullable=False),
        sa.Column("contact", sa.String(length=300), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("discovered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("declared_by_account_id", sa.Integer(), nullable=True),
        sa.Column("declared_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["declared_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_data_breaches_declared_by_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["place_id"],
            ["places.id"],
            name=op.f("fk_data_breaches_place_id_places"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_breaches")),
    )
    with op.batch_alter_table("data_breaches", schema=None) as batch_op:
        batch_op.create_index("ix_data_breaches_place_path", ["place_path"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("data_breaches", schema=None) as batch_op:
        batch_op.drop_index("ix_data_breaches_place_path")
    op.drop_table("data_breaches")

    with op.batch_alter_table("export_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_export_requests_recipient_id"))
        batch_op.drop_index("ix_export_requests_place_path")
    op.drop_table("export_requests")

    with op.batch_alter_table("disclosures", schema=None) as batch_op:
        batch_op.drop_column("emergency_until")

    with op.batch_alter_table("share_recipients", schema=None) as batch_op:
        batch_op.drop_column("basis_invoked_by")
        batch_op.drop_column("basis_expires_at")
        batch_op.drop_column("in_country")
        batch_op.drop_column("contract_expires_at")
        batch_op.drop_column("contact")
        batch_op.drop_column("contract_reference")
        batch_op.drop_column("processor_channel")
