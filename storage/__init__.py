"""Storage: SQLAlchemy models, database sessions and Alembic migrations.

Shared by scheduler and bot.
"""

from storage.db import Database, make_engine, make_sessionmaker
from storage.migrate import current_revision, head_revision, upgrade_database
from storage.models import (
    Direction,
    InactiveReason,
    Outcome,
    ReportKind,
    ReportStatus,
    SessionSource,
    Urgency,
)
from storage.repo import (
    ConsentRequired,
    InviteInfo,
    PatientInfo,
    RedeemResult,
    RedeemStatus,
    ReportInfo,
    Repository,
    SessionInfo,
    utcnow,
)

__all__ = [
    "ConsentRequired",
    "Database",
    "Direction",
    "InactiveReason",
    "InviteInfo",
    "Outcome",
    "PatientInfo",
    "RedeemResult",
    "RedeemStatus",
    "ReportInfo",
    "ReportKind",
    "ReportStatus",
    "Repository",
    "SessionInfo",
    "SessionSource",
    "Urgency",
    "current_revision",
    "head_revision",
    "make_engine",
    "make_sessionmaker",
    "upgrade_database",
    "utcnow",
]
