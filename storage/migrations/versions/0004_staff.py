"""Staff side of reports: who took and resolved them, audit trail, photos, staff-chat cards.

Revision ID: 0004_staff
Revises: 0003_send_pause
Create Date: 2025-11-27

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_staff"
down_revision: str | None = "0003_send_pause"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def _report_fk(table: str, ondelete: str = "CASCADE") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["report_id"], ["reports.id"], ondelete=ondelete,
                                   name=f"fk_{table}_report_id_reports")


def upgrade() -> None:
    """Add the workflow columns to reports and the three staff tables."""
    with op.batch_alter_table("reports") as batch:
        batch.add_column(sa.Column("taken_by", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("taken_at", UTC_DATETIME, nullable=True))
        batch.add_column(sa.Column("resolved_by", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("resolution_note", sa.Text(), nullable=True))

    op.create_table(
        "report_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.Column("actor_telegram_id", sa.BigInteger(), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        _report_fk("report_actions"),
        sa.PrimaryKeyConstraint("id", name="pk_report_actions"),
    )
    op.create_index("ix_report_actions_report_created", "report_actions",
                    ["report_id", "created_at"], unique=False)
    op.create_index("ix_report_actions_created_at", "report_actions", ["created_at"],
                    unique=False)

    op.create_table(
        "report_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        _report_fk("report_photos"),
        sa.PrimaryKeyConstraint("id", name="pk_report_photos"),
    )
    op.create_index("ix_report_photos_report_id", "report_photos", ["report_id"], unique=False)

    op.create_table(
        "report_cards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        _report_fk("report_cards"),
        sa.PrimaryKeyConstraint("id", name="pk_report_cards"),
        sa.UniqueConstraint("chat_id", "message_id", name="uq_report_cards_chat_id_message_id"),
    )
    op.create_index("ix_report_cards_report_id", "report_cards", ["report_id"], unique=False)


def downgrade() -> None:
    """Drop the staff tables and the added report columns."""
    op.drop_table("report_cards")
    op.drop_table("report_photos")
    op.drop_table("report_actions")
    with op.batch_alter_table("reports") as batch:
        batch.drop_column("resolution_note")
        batch.drop_column("resolved_by")
        batch.drop_column("taken_at")
        batch.drop_column("taken_by")
