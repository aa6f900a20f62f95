"""The alert outbox, ids that are never handed out twice, and threaded repeats on reports.

* ``alerts``: what is owed to the staff chat (a report's card, a re-post, an edit of a card
  after a repeat, the "[erased]" edit of a card after /delete); storage/alerts.py.
* SQLite reuses the highest id after it was deleted unless a table is ``AUTOINCREMENT``: the
  tables whose ids reach a person (patients, treatment_sessions, reports, checkins) are
  rebuilt with it (the copy keeps every id, and SQLite records the highest in
  ``sqlite_sequence``). PostgreSQL sequences never go back, so nothing changes there.
* ``reports.repeats`` / ``latest_text``: repeated messages about the same open problem are
  threaded into the one report; ``source_update_id``: the Telegram update that raised it, so a
  report kept in the local spool while the database was down is stored exactly once.

Revision ID: 0007_alerts
Revises: 0006_desk
Create Date: 2026-11-29

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_alerts"
down_revision: str | None = "0006_desk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)
PERSON_TABLES = ("patients", "treatment_sessions", "reports", "checkins")


def _rebuild_with_autoincrement(table: str, autoincrement: bool) -> None:
    """SQLite only: copy `table` into one declared (or not) AUTOINCREMENT, ids kept."""
    with op.batch_alter_table(table, recreate="always",
                              table_kwargs={"sqlite_autoincrement": autoincrement}):
        pass


def upgrade() -> None:
    """Create alerts, add the report columns, make SQLite ids never reused."""
    with op.batch_alter_table("reports") as batch:
        batch.add_column(sa.Column("repeats", sa.Integer(), server_default="0",
                                   nullable=False))
        batch.add_column(sa.Column("latest_text", sa.Text(), nullable=True))
        batch.add_column(sa.Column("source_update_id", sa.BigInteger(), nullable=True))
        batch.create_unique_constraint("uq_reports_source_update_id", ["source_update_id"])
    if op.get_bind().dialect.name == "sqlite":
        for table in PERSON_TABLES:
            _rebuild_with_autoincrement(table, True)
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("card_kind", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("due_at", UTC_DATETIME, nullable=False),
        sa.Column("lease_until", UTC_DATETIME, nullable=True),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("sent_message_id", sa.BigInteger(), nullable=True),
        sa.Column("sent_at", UTC_DATETIME, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"], ondelete="CASCADE",
                                name="fk_alerts_report_id_reports"),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_alerts_report_id", "alerts", ["report_id"], unique=False)
    op.create_index("ix_alerts_status_due", "alerts", ["status", "due_at"], unique=False)


def downgrade() -> None:
    """Drop alerts and the report columns (SQLite tables go back to plain rowid ids)."""
    op.drop_index("ix_alerts_status_due", table_name="alerts")
    op.drop_index("ix_alerts_report_id", table_name="alerts")
    op.drop_table("alerts")
    if op.get_bind().dialect.name == "sqlite":
        for table in PERSON_TABLES:
            _rebuild_with_autoincrement(table, False)
    with op.batch_alter_table("reports") as batch:
        batch.drop_constraint("uq_reports_source_update_id", type_="unique")
        batch.drop_column("source_update_id")
        batch.drop_column("latest_text")
        batch.drop_column("repeats")
