"""fewer passwords: a pending address change, sign-in codes by mail, trusted browsers

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
    op.create_table(
        "trusted_browsers",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.Column("address", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.String(length=256), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_trusted_browsers_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trusted_browsers")),
    )
    op.create_index(op.f("ix_trusted_browsers_user_id"), "trusted_browsers", ["user_id"])
    op.create_index(op.f("ix_trusted_browsers_expires_at"), "trusted_browsers", ["expires_at"])


def downgrade() -> None:
    op.drop_table("trusted_browsers")
    with op.batch_alter_table("challenges") as batch:
        batch.drop_column("attempts")
    # A change still waiting for its link is forgotten: the verified address stays, as it did.
    with op.batch_alter_table("users") as batch:
        batch.drop_column("pending_email_key")
        batch.drop_column("pending_email")
