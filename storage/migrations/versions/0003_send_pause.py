"""Shared 429 pause: one row that every replica's dispatcher reads before sending.

When Telegram answers 429 to any replica, it writes ``paused_until`` here; all replicas
stop sending check-ins until then (the Telegram budget is per bot token, not per process).

Revision ID: 0003_send_pause
Revises: 0002
Create Date: 2025-11-27

"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_send_pause"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the send_pause table (at most one row, id 1)."""
    op.create_table(
        "send_pause",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("paused_until", UTC_DATETIME, nullable=True),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_send_pause"),
    )
    pause = sa.table("send_pause", sa.column("id", sa.Integer()),
                     sa.column("updated_at", UTC_DATETIME))
    op.bulk_insert(pause, [{"id": 1, "updated_at": dt.datetime.now(dt.UTC)}])


def downgrade() -> None:
    """Drop the send_pause table."""
    op.drop_table("send_pause")
