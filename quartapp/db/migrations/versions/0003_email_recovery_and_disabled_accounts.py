"""email addresses, single-use account tokens, mail limits and disabled accounts

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every new column is nullable: existing accounts keep working without an address.
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email", sa.String(length=254), nullable=True))
        batch.add_column(sa.Column("email_key", sa.String(length=1016), nullable=True))
        batch.add_column(sa.Column("verified_email_key", sa.String(length=1016), nullable=True))
        batch.add_column(sa.Column("disabled_at", sa.DateTime(), nullable=True))
        batch.create_index(batch.f("ix_users_email_key"), ["email_key"])
        batch.create_unique_constraint(batch.f("uq_users_verified_email_key"), ["verified_email_key"])
    with op.batch_alter_table("throttles") as batch:
        batch.add_column(sa.Column("keep_until", sa.DateTime(), nullable=True))

    op.create_table(
        "account_tokens",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("email_key", sa.String(length=1016), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_account_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_tokens")),
    )
    op.create_index(op.f("ix_account_tokens_expires_at"), "account_tokens", ["expires_at"])
    op.create_index(op.f("ix_account_tokens_user_id"), "account_tokens", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_account_tokens_user_id"), table_name="account_tokens")
    op.drop_index(op.f("ix_account_tokens_expires_at"), table_name="account_tokens")
    op.drop_table("account_tokens")
    with op.batch_alter_table("throttles") as batch:
        batch.drop_column("keep_until")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(batch.f("uq_users_verified_email_key"), type_="unique")
        batch.drop_index(batch.f("ix_users_email_key"))
        batch.drop_column("disabled_at")
        batch.drop_column("verified_email_key")
        batch.drop_column("email_key")
        batch.drop_column("email")
