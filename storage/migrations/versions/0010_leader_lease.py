"""The polling leader's heartbeat row (``leader_lease``).

One row per lease (``polling:<bot id>``): the replica named in ``holder`` polls Telegram and
renews the row every few seconds (``beat`` goes up each time); a standby takes the row over
when ``beat`` has not moved for a lease period, so a frozen or vanished leader is replaced in
seconds on SQLite and PostgreSQL alike (the PostgreSQL advisory lock it replaces was held
until TCP keepalive noticed a vanished host: hours). storage/leader_lease.py is its only writer.

Revision ID: 0010_leader_lease
Revises: 0009_report_source_message
Create Date: 2026-11-29

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_leader_lease"
down_revision: str | None = "0009_report_source_message"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create leader_lease."""
    op.create_table(
        "leader_lease",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=True),
        sa.Column("beat", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("renewed_at", UTC_DATETIME, nullable=True),
        sa.Column("expires_at", UTC_DATETIME, nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_leader_lease"),
    )


def downgrade() -> None:
    """Drop leader_lease."""
    op.drop_table("leader_lease")
