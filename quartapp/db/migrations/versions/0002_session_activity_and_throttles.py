"""session activity (last seen, address, browser) and sign-in throttles

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("auth_sessions") as batch:
        batch.add_column(sa.Column("last_seen_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("address", sa.String(length=45), nullable=True))
        batch.add_column(sa.Column("user_agent", sa.String(length=256), nullable=True))
    op.execute("UPDATE auth_sessions SET last_seen_at = created_at")
    with op.batch_alter_table("auth_sessions") as batch:
        batch.alter_column("last_seen_at", existing_type=sa.DateTime(), nullable=False)

    op.create_table(
        "throttles",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("blocked_until", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_throttles")),
    )


def downgrade() -> None:
    op.drop_table("throttles")
    with op.batch_alter_table("auth_sessions") as batch:
        batch.drop_column("user_agent")
        batch.drop_column("address")
        batch.drop_column("last_seen_at")
