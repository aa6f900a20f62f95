"""Reports and their actions as CSV (``aftercare export``), every cell made safe for
spreadsheets."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence

from bot.core.spreadsheet import safe_cell
from storage import ReportInfo
from storage.reports import ActionInfo

EXPORT_COLUMNS = ("report_id", "created_at", "patient", "telegram_id", "kind", "urgency",
                  "day", "status", "text", "reason", "taken_by", "taken_at", "resolved_by",
                  "resolved_at", "resolution_note", "action_at", "action", "actor_telegram_id",
                  "action_note")


def export_csv(rows: Sequence[tuple[ReportInfo, list[ActionInfo]]]) -> str:
    """Reports and their actions as CSV: one line per action (a report without any: one line)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)

    def when(value: dt.datetime | None) -> str:
        return value.isoformat() if value else ""

    for report, actions in rows:
        base = [report.id, when(report.created_at), report.patient_name or "",
                report.telegram_id or "", report.kind, report.urgency or "",
                "" if report.day is None else report.day, report.status, report.text,
                report.reason or "", report.taken_by or "", when(report.taken_at),
                report.resolved_by or "", when(report.resolved_at),
                report.resolution_note or ""]
        each: list[ActionInfo | None] = [*actions] or [None]
        for action in each:
            tail = (["", "", "", ""] if action is None else
                    [when(action.created_at), action.action, action.actor_telegram_id or "",
                     action.note or ""])
            writer.writerow([safe_cell(cell) for cell in base + tail])
    return out.getvalue()
