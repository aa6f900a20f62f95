"""How many erasures the database has seen (``erasure_epoch``).

One row, its ``epoch`` raised in the transaction of every erasure (/delete). Replicas share
nothing but the database: each reads the epoch before an update and every few seconds, and
empties its in-process caches of patients' words when it has changed, so the words of a patient
erased through one replica do not stay in another's memory. It holds no patient's id or words.
storage/erasures.py is its only writer.

Revision ID: 0013_erasure_epoch
Revises: 0012_handled_update
Create Date: 2026-12-02

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_erasure_epoch"
down_revision: str | None = "0012_handled_update"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create erasure_epoch (its one row is written by the first erasure)."""
    op.create_table(
        "erasure_epoch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_erasure_epoch"),
    )


def downgrade() -> None:
    """Drop erasure_epoch."""
    op.drop_table("erasure_epoch")
