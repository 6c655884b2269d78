"""datastream first/last reading times as 64-bit epoch milliseconds

Epoch milliseconds (~1.7e12) do not fit PostgreSQL's 32-bit integer.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("datastreams", schema=None) as batch_op:
        batch_op.alter_column("last_at_ms", existing_type=sa.Integer(), type_=sa.BigInteger())
        batch_op.alter_column("first_at_ms", existing_type=sa.Integer(), type_=sa.BigInteger())


def downgrade() -> None:
    with op.batch_alter_table("datastreams", schema=None) as batch_op:
        batch_op.alter_column("first_at_ms", existing_type=sa.BigInteger(), type_=sa.Integer())
        batch_op.alter_column("last_at_ms", existing_type=sa.BigInteger(), type_=sa.Integer())
