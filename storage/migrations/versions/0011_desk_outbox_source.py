"""``desk_outbox.source``: which staff action in Telegram wrote a row.

Staff replies typed in Telegram go through the desk outbox like the web desk's
(bot/telegram/staff_handlers.py). Telegram is told an update was handled only once it was, so
an update whose messages were stored just before a crash is handled again after the
restart; its rows carry ``update:<id>`` here, and finding them the handler sends what is owed
instead of acting twice (a second copy of the answer to the patient).

Revision ID: 0011_desk_outbox_source
Revises: 0010_leader_lease
Create Date: 2026-11-29

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_desk_outbox_source"
down_revision: str | None = "0010_leader_lease"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add desk_outbox.source and its index."""
    with op.batch_alter_table("desk_outbox") as batch:
        batch.add_column(sa.Column("source", sa.String(64), nullable=True))
        batch.create_index("ix_desk_outbox_source", ["source"])


def downgrade() -> None:
    """Drop desk_outbox.source."""
    with op.batch_alter_table("desk_outbox") as batch:
        batch.drop_index("ix_desk_outbox_source")
        batch.drop_column("source")
