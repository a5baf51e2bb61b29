"""account ownership: audit events kept per account, erasures, TOTP's date, ids never reused

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("username_key", sa.String(length=128), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("session_id", sa.String(length=64), nullable=True),
        sa.Column("data", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(op.f("ix_audit_events_at"), "audit_events", ["at"])
    op.create_index(op.f("ix_audit_events_username_key"), "audit_events", ["username_key"])
    op.create_table(
        "audit_erasures",
        sa.Column("pseudonym", sa.String(length=64), nullable=False),
        sa.Column("until", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("pseudonym", name=op.f("pk_audit_erasures")),
    )
    op.create_index(op.f("ix_audit_erasures_until"), "audit_erasures", ["until"])
    # Accounts that turned TOTP on before this was recorded show no date ("on since before").
    # On SQLite the table is rebuilt with AUTOINCREMENT: a deleted account's id is never given to a
    # new one, whose rows in an application's tables without a cascade would otherwise be inherited.
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("users", **_autoincrement(sqlite, True)) as batch:
        batch.add_column(sa.Column("totp_enabled_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("users", **_autoincrement(sqlite, False)) as batch:
        batch.drop_column("totp_enabled_at")
    op.drop_table("audit_erasures")
    op.drop_table("audit_events")


def _autoincrement(sqlite: bool, on: bool) -> dict[str, Any]:
    return {"recreate": "always", "table_kwargs": {"sqlite_autoincrement": on}} if sqlite else {}
