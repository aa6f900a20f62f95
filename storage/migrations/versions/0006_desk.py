"""The clinic desk on the web: its outbox, used sign-ins, the clinic's KB overrides, and
indexes for its pages (patients in recovery, weekly figures).

Revision ID: 0006_desk
Revises: 0005_chat_state
Create Date: 2026-11-29

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_desk"
down_revision: str | None = "0005_chat_state"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create desk_outbox, desk_logins, kb_overrides, kb_override_version and indexes."""
    op.create_table(
        "desk_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("lease_until", UTC_DATETIME, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("sent_at", UTC_DATETIME, nullable=True),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"], ondelete="CASCADE",
                                name="fk_desk_outbox_report_id_reports"),
        sa.PrimaryKeyConstraint("id", name="pk_desk_outbox"),
    )
    op.create_index("ix_desk_outbox_status_id", "desk_outbox", ["status", "id"])
    op.create_index("ix_desk_outbox_report_id", "desk_outbox", ["report_id"])
    op.create_table(
        "desk_logins",
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("used_at", UTC_DATETIME, nullable=False),
        sa.Column("expires_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("hash", name="pk_desk_logins"),
    )
    op.create_index("ix_desk_logins_expires_at", "desk_logins", ["expires_at"])
    op.create_table(
        "kb_overrides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("entry_id", sa.String(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_kb_overrides"),
    )
    op.create_index("ix_kb_overrides_entry_id", "kb_overrides", ["entry_id"])
    op.create_table(
        "kb_override_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_kb_override_version"),
    )
    op.create_index("ix_treatment_sessions_session_date", "treatment_sessions",
                    ["session_date"])
    op.create_index("ix_treatment_sessions_created_at", "treatment_sessions", ["created_at"])
    op.create_index("ix_messages_created_direction_outcome", "messages",
                    ["created_at", "direction", "outcome"])
    op.create_index("ix_reports_created_at", "reports", ["created_at"])
    op.create_index("ix_checkins_sent_at", "checkins", ["sent_at"])


def downgrade() -> None:
    """Drop what upgrade() created."""
    op.drop_index("ix_checkins_sent_at", table_name="checkins")
    op.drop_index("ix_reports_created_at", table_name="reports")
    op.drop_index("ix_messages_created_direction_outcome", table_name="messages")
    op.drop_index("ix_treatment_sessions_created_at", table_name="treatment_sessions")
    op.drop_index("ix_treatment_sessions_session_date", table_name="treatment_sessions")
    op.drop_table("kb_override_version")
    op.drop_index("ix_kb_overrides_entry_id", table_name="kb_overrides")
    op.drop_table("kb_overrides")
    op.drop_index("ix_desk_logins_expires_at", table_name="desk_logins")
    op.drop_table("desk_logins")
    op.drop_index("ix_desk_outbox_report_id", table_name="desk_outbox")
    op.drop_index("ix_desk_outbox_status_id", table_name="desk_outbox")
    op.drop_table("desk_outbox")
