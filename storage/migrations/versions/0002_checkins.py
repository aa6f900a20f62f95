"""Check-in outbox: one row per planned check-in of a treatment session.

Revision ID: 0002
Revises: 0001
Create Date: 2025-11-26

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the checkins table, its unique (session, step) key and the claim index."""
    op.create_table(
        "checkins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("day_offset", sa.Integer(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("tz", sa.String(length=64), nullable=False),
        sa.Column("due_at", UTC_DATETIME, nullable=False),
        sa.Column("deliver_until", UTC_DATETIME, nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("paused_reason", sa.String(length=32), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("lease_until", UTC_DATETIME, nullable=True),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("telegram_message_id", sa.BigInteger(), nullable=True),
        sa.Column("sent_at", UTC_DATETIME, nullable=True),
        sa.Column("answer", sa.String(length=32), nullable=True),
        sa.Column("answered_at", UTC_DATETIME, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["treatment_sessions.id"],
            ondelete="CASCADE",
            name="fk_checkins_session_id_treatment_sessions",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            ondelete="CASCADE",
            name="fk_checkins_patient_id_patients",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_checkins"),
        sa.UniqueConstraint("session_id", "step", name="uq_checkins_session_id_step"),
    )
    op.create_index("ix_checkins_status_due", "checkins", ["status", "due_at"], unique=False)
    op.create_index("ix_checkins_patient_id", "checkins", ["patient_id"], unique=False)


def downgrade() -> None:
    """Drop the checkins table."""
    op.drop_table("checkins")
