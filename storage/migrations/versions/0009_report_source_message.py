"""The Telegram message a report was raised by, so an edit of it updates the report.

* ``reports.source_chat_id`` / ``reports.source_message_id``: the patient's chat and the
  message whose words raised the report (a red flag in a text, or in an edit of one). An
  ``edited_message`` with the same chat and message id updates that report and its card
  (the newest words) instead of raising a new one.

Revision ID: 0009_report_source_message
Revises: 0008_desk_indexes
Create Date: 2026-11-29

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_report_source_message"
down_revision: str | None = "0008_desk_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the two columns (plain ADD COLUMN: no table rebuild) and their index."""
    op.add_column("reports", sa.Column("source_chat_id", sa.BigInteger(), nullable=True))
    op.add_column("reports", sa.Column("source_message_id", sa.BigInteger(), nullable=True))
    op.create_index("ix_reports_source_message", "reports",
                    ["source_chat_id", "source_message_id"])


def downgrade() -> None:
    """Drop the index and the columns."""
    op.drop_index("ix_reports_source_message", table_name="reports")
    with op.batch_alter_table("reports") as batch:
        batch.drop_column("source_message_id")
        batch.drop_column("source_chat_id")
