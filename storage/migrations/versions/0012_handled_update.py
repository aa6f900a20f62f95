"""Updates the polling leader has handled (``handled_update``).

A leader frozen (SIGSTOP) or killed in the middle of a batch has handled some of its updates
without confirming them to Telegram; the leader that takes over gets them again and, with
this table, skips the ones already handled instead of answering them twice.
storage/handled_updates.py is its only writer.

Revision ID: 0012_handled_update
Revises: 0011_desk_outbox_source
Create Date: 2026-11-29

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_handled_update"
down_revision: str | None = "0011_desk_outbox_source"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create handled_update."""
    op.create_table(
        "handled_update",
        sa.Column("bot", sa.String(length=64), nullable=False),
        sa.Column("update_id", sa.BigInteger(), nullable=False),
        sa.Column("handled_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("bot", "update_id", name="pk_handled_update"),
    )
    op.create_index("ix_handled_update_handled_at", "handled_update", ["handled_at"])


def downgrade() -> None:
    """Drop handled_update."""
    op.drop_index("ix_handled_update_handled_at", table_name="handled_update")
    op.drop_table("handled_update")
