"""fewer passwords: a pending address change, sign-in codes by mail

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("pending_email", sa.String(254), nullable=True))
        batch.add_column(sa.Column("pending_email_key", sa.String(1016), nullable=True))
    with op.batch_alter_table("challenges") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("challenges") as batch:
        batch.drop_column("attempts")
    # A change still waiting for its link is forgotten: the verified address stays, as it did.
    with op.batch_alter_table("users") as batch:
        batch.drop_column("pending_email_key")
        batch.drop_column("pending_email")
