"""when each session last proved the password (re-authentication)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("auth_sessions") as batch:
        batch.add_column(sa.Column("verified_at", sa.DateTime(), nullable=True))
    # A session signed in before this revision proved the password when it was created.
    op.execute("UPDATE auth_sessions SET verified_at = created_at")
    with op.batch_alter_table("auth_sessions") as batch:
        batch.alter_column("verified_at", existing_type=sa.DateTime(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("auth_sessions") as batch:
        batch.drop_column("verified_at")
