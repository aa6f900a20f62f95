"""Storage: SQLAlchemy models, database sessions, Alembic migrations and one module per
aggregate (patients, sessions, invites, messages, reports, chat state, retention, stats),
each the only writer of its tables. Shared by scheduler and bot; imports neither.

There is no bundle of aggregates: each caller is handed the stores it uses (bot/compose.py
builds them), and the one read across aggregates is storage/context.py's `ContextReader`.

The names below are loaded on first use (PEP 562): importing one light module of the
package (``storage.clock``, ``storage.states``) loads no SQLAlchemy or Alembic.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storage.clock import Clock, ManualClock, utcnow
    from storage.db import Database, make_engine, make_sessionmaker
    from storage.invites import InviteInfo, InviteStore, RedeemResult, RedeemStatus
    from storage.messages import LogEntry, MessageLog
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
    from storage.patients import ConsentRequired, PatientInfo, PatientStore
    from storage.reports import ReportInfo, ReportStore
    from storage.sessions import SessionInfo, SessionStore
    from storage.stats import Stats

_HOMES = {  # name -> the module defining it
    "Clock": "storage.clock",
    "ManualClock": "storage.clock",
    "utcnow": "storage.clock",
    "Database": "storage.db",
    "make_engine": "storage.db",
    "make_sessionmaker": "storage.db",
    "InviteInfo": "storage.invites",
    "InviteStore": "storage.invites",
    "RedeemResult": "storage.invites",
    "RedeemStatus": "storage.invites",
    "LogEntry": "storage.messages",
    "MessageLog": "storage.messages",
    "current_revision": "storage.migrate",
    "head_revision": "storage.migrate",
    "upgrade_database": "storage.migrate",
    "Direction": "storage.models",
    "InactiveReason": "storage.models",
    "Outcome": "storage.models",
    "ReportKind": "storage.models",
    "ReportStatus": "storage.models",
    "SessionSource": "storage.models",
    "Urgency": "storage.models",
    "ConsentRequired": "storage.patients",
    "PatientInfo": "storage.patients",
    "PatientStore": "storage.patients",
    "ReportInfo": "storage.reports",
    "ReportStore": "storage.reports",
    "SessionInfo": "storage.sessions",
    "SessionStore": "storage.sessions",
    "Stats": "storage.stats",
}

__all__ = [
    "Clock",
    "ConsentRequired",
    "Database",
    "Direction",
    "InactiveReason",
    "InviteInfo",
    "InviteStore",
    "LogEntry",
    "ManualClock",
    "MessageLog",
    "Outcome",
    "PatientInfo",
    "PatientStore",
    "RedeemResult",
    "RedeemStatus",
    "ReportInfo",
    "ReportKind",
    "ReportStatus",
    "ReportStore",
    "SessionInfo",
    "SessionSource",
    "SessionStore",
    "Stats",
    "Urgency",
    "current_revision",
    "head_revision",
    "make_engine",
    "make_sessionmaker",
    "upgrade_database",
    "utcnow",
]

if not TYPE_CHECKING:  # hidden from mypy, which then checks every name against the imports above

    def __getattr__(name: str) -> object:
        """``from storage import Database`` imports storage.db only then."""
        home = _HOMES.get(name)
        if home is None:
            raise AttributeError(f"module 'storage' has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        globals()[name] = value
        return value
