"""waste tables

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "waste_categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("city_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("gb_class", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["city_id"],
            ["places.id"],
            name=op.f("fk_waste_categories_city_id_places"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waste_categories")),
        sa.UniqueConstraint("city_id", "code", name="uq_waste_categories_code"),
    )
    with op.batch_alter_table("waste_categories", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_waste_categories_city_id"), ["city_id"], unique=False)

    op.create_table(
        "waste_trucks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("plate", sa.String(length=16), nullable=False),
        sa.Column("capacity_kg", sa.Float(), nullable=False),
        sa.Column("capacity_l", sa.Integer(), nullable=False),
        sa.Column("depot_name", sa.String(length=120), nullable=False),
        sa.Column("depot_latitude", sa.Float(), nullable=False),
        sa.Column("depot_longitude", sa.Float(), nullable=False),
        sa.Column("shift_start_min", sa.Integer(), nullable=False),
        sa.Column("shift_end_min", sa.Integer(), nullable=False),
        sa.Column("speed_kmh", sa.Float(), nullable=False),
        sa.Column("gb_classes", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["places.id"],
            name=op.f("fk_waste_trucks_community_id_places"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waste_trucks")),
    )
    with op.batch_alter_table("waste_trucks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_waste_trucks_community_id"), ["community_id"], unique=False
        )

    op.create_table(
        "waste_cards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("household_path", sa.String(length=255), nullable=False),
        sa.Column("card_digest", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("hint", sa.String(length=8), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["places.id"],
            name=op.f("fk_waste_cards_community_id_places"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name=op.f("fk_waste_cards_household_id_households"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waste_cards")),
        sa.UniqueConstraint("card_digest", name=op.f("uq_waste_cards_card_digest")),
    )
    with op.batch_alter_table("waste_cards", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_waste_cards_community_id"), ["community_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_waste_cards_household_id"), ["household_id"], unique=False
        )

    op.create_table(
        "waste_containers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("place_path", sa.String(length=255), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("gb_class", sa.String(length=16), nullable=False),
        sa.Column("category_code", sa.String(length=32), nullable=False),
        sa.Column("capacity_l", sa.Integer(), nullable=False),
        sa.Column("max_load_kg", sa.Float(), nullable=False),
        sa.Column("max_disposal_kg", sa.Float(), nullable=False),
        sa.Column("fill_level", sa.Float(), nullable=False),
        sa.Column("fill_threshold", sa.Float(), nullable=False),
        sa.Column("fill_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_emptied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("window_start_min", sa.Integer(), nullable=False),
        sa.Column("window_end_min", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["places.id"],
            name=op.f("fk_waste_containers_community_id_places"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["device_id"],
            ["devices.id"],
            name=op.f("fk_waste_containers_device_id_devices"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["place_id"],
            ["places.id"],
            name=op.f("fk_waste_containers_place_id_places"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waste_containers")),
        sa.UniqueConstraint("community_id", "code", name="uq_waste_containers_code"),
        sa.UniqueConstraint("device_id", name=op.f("uq_waste_containers_device_id")),
    )
    with op.batch_alter_table("waste_containers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_waste_containers_community_id"), ["community_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_waste_containers_place_id"), ["place_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_waste_containers_place_path"), ["place_path"], unique=False
        )

    op.create_table(
        "waste_disposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("container_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("card_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("household_path", sa.String(length=255), nullable=False),
        sa.Column("gb_class", sa.String(length=16), nullable=False),
        sa.Column("category_code", sa.String(length=32), nullable=False),
        sa.Column("weight_kg", sa.Float(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("via", sa.String(length=8), nullable=False),
        sa.Column("fraud", sa.JSON(), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["card_id"],
            ["waste_cards.id"],
            name=op.f("fk_waste_disposals_card_id_waste_cards"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["places.id"],
            name=op.f("fk_waste_disposals_community_id_places"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["container_id"],
            ["waste_containers.id"],
            name=op.f("fk_waste_disposals_container_id_waste_containers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name=op.f("fk_waste_disposals_household_id_households"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waste_disposals")),
        sa.UniqueConstraint("container_id", "event_id", name="uq_waste_disposals_event"),
    )
    with op.batch_alter_table("waste_disposals", schema=None) as batch_op:
        batch_op.create_index(
            "ix_waste_disposals_card_time", ["card_id", "occurred_at"], unique=False
        )
        batch_op.create_index(
            "ix_waste_disposals_community_time", ["community_id", "occurred_at"], unique=False
        )
        batch_op.create_index(
            "ix_waste_disposals_household_time", ["household_id", "occurred_at"], unique=False
        )

    op.create_table(
        "waste_grades",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("disposal_id", sa.Integer(), nullable=False),
        sa.Column("result", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("graded_by_account_id", sa.Integer(), nullable=True),
        sa.Column("graded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["disposal_id"],
            ["waste_disposals.id"],
            name=op.f("fk_waste_grades_disposal_id_waste_disposals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["graded_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_waste_grades_graded_by_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waste_grades")),
        sa.UniqueConstraint("disposal_id", name=op.f("uq_waste_grades_disposal_id")),
    )
    op.create_table(
        "waste_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_account_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("distance_m", sa.Integer(), nullable=False),
        sa.Column("unserved", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["places.id"],
            name=op.f("fk_waste_plans_community_id_places"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_waste_plans_created_by_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waste_plans")),
    )
    with op.batch_alter_table("waste_plans", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_waste_plans_community_id"), ["community_id"], unique=False
        )

    op.create_table(
        "waste_alarm_rules",
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("full_rule_id", sa.Integer(), nullable=False),
        sa.Column("burning_rule_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["burning_rule_id"],
            ["rules.id"],
            name=op.f("fk_waste_alarm_rules_burning_rule_id_rules"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["places.id"],
            name=op.f("fk_waste_alarm_rules_community_id_places"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["full_rule_id"],
            ["rules.id"],
            name=op.f("fk_waste_alarm_rules_full_rule_id_rules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("community_id", name=op.f("pk_waste_alarm_rules")),
    )
    op.create_table(
        "waste_plan_stops",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("truck_id", sa.Integer(), nullable=False),
        sa.Column("container_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("arrive_min", sa.Integer(), nullable=False),
        sa.Column("load_kg", sa.Float(), nullable=False),
        sa.Column("load_l", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["container_id"],
            ["waste_containers.id"],
            name=op.f("fk_waste_plan_stops_container_id_waste_containers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["waste_plans.id"],
            name=op.f("fk_waste_plan_stops_plan_id_waste_plans"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["truck_id"],
            ["waste_trucks.id"],
            name=op.f("fk_waste_plan_stops_truck_id_waste_trucks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waste_plan_stops")),
        sa.UniqueConstraint("plan_id", "container_id", name="uq_waste_plan_stops_bin"),
    )


def downgrade() -> None:
    op.drop_table("waste_plan_stops")
    op.drop_table("waste_alarm_rules")
    with op.batch_alter_table("waste_plans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_waste_plans_community_id"))

    op.drop_table("waste_plans")
    op.drop_table("waste_grades")
    with op.batch_alter_table("waste_disposals", schema=None) as batch_op:
        batch_op.drop_index("ix_waste_disposals_household_time")
        batch_op.drop_index("ix_waste_disposals_community_time")
        batch_op.drop_index("ix_waste_disposals_card_time")

    op.drop_table("waste_disposals")
    with op.batch_alter_table("waste_containers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_waste_containers_place_path"))
        batch_op.drop_index(batch_op.f("ix_waste_containers_place_id"))
        batch_op.drop_index(batch_op.f("ix_waste_containers_community_id"))

    op.drop_table("waste_containers")
    with op.batch_alter_table("waste_cards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_waste_cards_household_id"))
        batch_op.drop_index(batch_op.f("ix_waste_cards_community_id"))

    op.drop_table("waste_cards")
    with op.batch_alter_table("waste_trucks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_waste_trucks_community_id"))

    op.drop_table("waste_trucks")
    with op.batch_alter_table("waste_categories", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_waste_categories_city_id"))

    op.drop_table("waste_categories")
