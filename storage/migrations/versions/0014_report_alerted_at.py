"""When the newest red flag about an open report came (``reports.alerted_at``).

* ``reports.alerted_at``: set when a later red flag joins the report (a repeat of the same
  problem threaded into it, a red flag written in its thread, a check-in description that
  raised its urgency, an edit of its message that is one); NULL while the red flag that raised
  it is the only one. After an alert the patient's follow-up messages get the safety line again
  for a window counted from the newest red flag, not from the report's creation: an urgent
  report that turns into an emergency hours later gets the emergency line for the emergency's
  own window (bot/core/desk/patients.py `alert_tier`). Ordinary follow-ups ("ok") leave it.

Revision ID: 0014_report_alerted_at
Revises: 0013_erasure_epoch
Create Date: 2026-12-03

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_report_alerted_at"
down_revision: str | None = "0013_erasure_epoch"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add the column (plain ADD COLUMN: no table rebuild)."""
    op.add_column("reports", sa.Column("alerted_at", UTC_DATETIME, nullable=True))


def downgrade() -> None:
    """Drop the column."""
    with op.batch_alter_table("reports") as batch:
        batch.drop_column("alerted_at")
