"""Indexes for the web desk's pages at clinic scale (benchmarks/desk.py), and audit entries
about a patient rather than a report.

* ``report_actions.patient_id``: the patient an audit entry without a report is about (staff
  fixed or cancelled a session on the web desk), shown on that patient's page.

* ``ix_reports_unresolved``: a partial index of the reports not resolved yet (open or
  taken), by patient. The queue reads only these; the patients list counts them per patient.
  SQLite's statistics only know the average number of reports per status, so with thousands
  of resolved reports it scanned the table for the few open ones.
* ``ix_checkins_sent_answered`` (sent_at, answered_at) replaces ``ix_checkins_sent_at``: the
  figures count check-ins sent and answered per week from the index alone.
* ``ix_messages_direction_outcome_created`` replaces ``ix_messages_created_direction_outcome``:
  the figures count incoming questions (and the unanswered ones) per week by seeking straight
  to each outcome's date range, and the knowledge gaps read the unanswered ones only.
* ``ix_treatment_sessions_date_patient`` (session_date, patient_id, cancelled_at) replaces
  ``ix_treatment_sessions_session_date``: the patients list finds everyone in recovery from
  the index alone.

Revision ID: 0008_desk_indexes
Revises: 0007_alerts
Create Date: 2026-11-29

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_desk_indexes"
down_revision: str | None = "0007_alerts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNRESOLVED = "status IN ('open', 'taken')"


def upgrade() -> None:
    """Create the new indexes, drop the ones they replace; add report_actions.patient_id."""
    with op.batch_alter_table("report_actions") as batch:
        batch.add_column(sa.Column("patient_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_report_actions_patient_id_patients", "patients",
                                 ["patient_id"], ["id"], ondelete="CASCADE")
        batch.create_index("ix_report_actions_patient_id", ["patient_id"])
    op.create_index("ix_reports_unresolved", "reports", ["patient_id"],
                    sqlite_where=sa.text(UNRESOLVED), postgresql_where=sa.text(UNRESOLVED))
    op.create_index("ix_checkins_sent_answered", "checkins", ["sent_at", "answered_at"])
    op.drop_index("ix_checkins_sent_at", table_name="checkins")
    op.create_index("ix_messages_direction_outcome_created", "messages",
                    ["direction", "outcome", "created_at"])
    op.drop_index("ix_messages_created_direction_outcome", table_name="messages")
    op.create_index("ix_treatment_sessions_date_patient", "treatment_sessions",
                    ["session_date", "patient_id", "cancelled_at"])
    op.drop_index("ix_treatment_sessions_session_date", table_name="treatment_sessions")


def downgrade() -> None:
    """Put the previous indexes back."""
    op.create_index("ix_treatment_sessions_session_date", "treatment_sessions",
                    ["session_date"])
    op.drop_index("ix_treatment_sessions_date_patient", table_name="treatment_sessions")
    op.create_index("ix_messages_created_direction_outcome", "messages",
                    ["created_at", "direction", "outcome"])
    op.drop_index("ix_messages_direction_outcome_created", table_name="messages")
    op.create_index("ix_checkins_sent_at", "checkins", ["sent_at"])
    op.drop_index("ix_checkins_sent_answered", table_name="checkins")
    op.drop_index("ix_reports_unresolved", table_name="reports")
    with op.batch_alter_table("report_actions") as batch:
        batch.drop_index("ix_report_actions_patient_id")
        batch.drop_constraint("fk_report_actions_patient_id_patients", type_="foreignkey")
        batch.drop_column("patient_id")
