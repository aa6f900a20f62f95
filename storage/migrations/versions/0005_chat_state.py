"""Conversation state shared by replicas, and the claim of an escalation re-post.

``chat_state`` holds what used to live in each process's memory (a typed date or time zone
being awaited, the last question for "ask the clinic", a /report in progress, a staff
member's pending Reply / Resolve), each row with its own expiry. ``reports.reposted_at`` lets
exactly one replica claim each re-post of an untaken emergency/urgent card.

Revision ID: 0005_chat_state
Revises: 0004_staff
Create Date: 2025-11-28

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_chat_state"
down_revision: str | None = "0004_staff"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create chat_state and add reports.reposted_at."""
    op.create_table(
        "chat_state",
        sa.Column("telegram_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("expires_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("telegram_id", "kind", name="pk_chat_state"),
    )
    op.create_index("ix_chat_state_expires_at", "chat_state", ["expires_at"], unique=False)
    with op.batch_alter_table("reports") as batch:
        batch.add_column(sa.Column("reposted_at", UTC_DATETIME, nullable=True))


def downgrade() -> None:
    """Drop reports.reposted_at and chat_state."""
    with op.batch_alter_table("reports") as batch:
        batch.drop_column("reposted_at")
    op.drop_index("ix_chat_state_expires_at", table_name="chat_state")
    op.drop_table("chat_state")
