"""Reports kept in a small local file while the database is down: advice first, storage second.

When storing a red-flag report fails (the database is unreachable), the patient still gets
the advice at once, and the report goes to `ReportSpool`: one JSON line per report appended
to a local file and fsynced before the update counts as handled. `replay` stores every kept
report once the database answers again (`ReportStore.create(source_update_id=...)` is
idempotent by Telegram update id, so a replay interrupted half way, or a report that did reach
the database before the failure, is never stored twice), then empties the file. While the
file holds anything, /readyz says not ready.

The file holds patients' words: it lives next to the database (same protection), is created
with owner-only permissions, and is emptied as soon as its reports are stored.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SpooledReport:
    """A red-flag report the database could not take yet."""

    update_id: int
    telegram_id: int
    chat_id: int
    text: str
    urgency: str | None
    reason: str | None
    day: int | None
    at: str  # ISO time it was raised (UTC)

    @property
    def raised_at(self) -> dt.datetime:
        """`at` as an aware datetime."""
        return dt.datetime.fromisoformat(self.at)


class ReportSpool:
    """The append-only spool file (one JSON object per line)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = asyncio.Lock()
        self._count = len(self.pending())

    def __len__(self) -> int:
        """Reports waiting for the database."""
        return self._count

    def append(self, report: SpooledReport) -> None:
        """Keep `report` durably (written and fsynced before this returns)."""
        line = json.dumps(dataclasses.asdict(report), ensure_ascii=False) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        self._count += 1
        log.warning("database unavailable: report of update %d kept in the spool (%d waiting)",
                    report.update_id, self._count)

    def pending(self) -> list[SpooledReport]:
        """What the file holds, once per update id, in order; unreadable lines are logged
        (with their line number, never their content) and skipped."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        kept: dict[int, SpooledReport] = {}
        fields = {f.name for f in dataclasses.fields(SpooledReport)}
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                report = SpooledReport(**{k: raw[k] for k in fields})
            except (ValueError, KeyError, TypeError) as exc:  # a torn last line after a crash
                log.error("%s line %d: unreadable spooled report (%s)", self.path, number,
                          type(exc).__name__)
                continue
            kept.setdefault(report.update_id, report)
        return list(kept.values())

    async def replay(self, store: Callable[[SpooledReport], Awaitable[object]]) -> int:
        """Store every kept report through `store` (idempotent by update id), then empty the
        file. Stops at the first failure (the database is still away): nothing is lost, the
        next replay starts again. Returns how many were stored."""
        async with self._lock:
            reports = self.pending()
            for report in reports:
                await store(report)
            if not reports:
                return 0
            stored = {r.update_id for r in reports}
            # no await from here on: an append cannot slip in between reading and rewriting
            remaining = [r for r in self.pending() if r.update_id not in stored]
            temporary = self.path.with_name(self.path.name + ".tmp")
            fd = os.open(temporary, os.O_WRONLY | os.O_TRUNC | os.O_CREAT, 0o600)
            try:
                for report in remaining:
                    os.write(fd, (json.dumps(dataclasses.asdict(report), ensure_ascii=False)
                                  + "\n").encode())
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temporary, self.path)
            self._count = len(remaining)
            log.warning("database back: %d spooled report(s) stored", len(reports))
            return len(reports)
