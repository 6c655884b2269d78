"""environment: place settings (AQI standard, acoustic zone) and water monitors

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "environment_place_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("aqi_standard", sa.String(length=16), nullable=False),
        sa.Column("noise_zone", sa.String(length=4), nullable=False),
        sa.Column("noise_rule_id", sa.Integer(), nullable=True),
        sa.Column("noise_peak_rule_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_account_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["place_id"],
            ["places.id"],
            name=op.f("fk_environment_place_settings_place_id_places"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["noise_rule_id"],
            ["rules.id"],
            name=op.f("fk_environment_place_settings_noise_rule_id_rules"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["noise_peak_rule_id"],
            ["rules.id"],
            name=op.f("fk_environment_place_settings_noise_peak_rule_id_rules"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_environment_place_settings_updated_by_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_environment_place_settings")),
        sa.UniqueConstraint("place_id", name=op.f("uq_environment_place_settings_place_id")),
    )
    op.create_table(
        "environment_water_monitors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("water_body", sa.String(length=8), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_account_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_environment_water_monitors_device_id_devices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_environment_water_monitors_updated_by_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_environment_water_monitors")),
        sa.UniqueConstraint("device_id", name=op.f("uq_environment_water_monitors_device_id")),
    )


def downgrade() -> None:
    op.drop_table("environment_water_monitors")
    op.drop_table("environment_place_settings")
