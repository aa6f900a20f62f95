"""What a patient sent while the database was down, kept in a small local file: advice first,
storage second.

When the database is unreachable, the patient still gets an answer at once, and what has to
reach the clinic goes to `ReportSpool`: one JSON line per entry appended to a local file and
fsynced before the update counts as handled. An entry is

* a `SpooledReport`: a red-flag message or caption, a "Yes" to a rule-out question, or the
  description typed after /report (with the photo it came with, if any);
* a `SpooledEvent`: a button press the database must record (a check-in answer), or a photo
  that may belong to a report.

`replay` hands every kept entry, in order, to a `store` function once the database answers
again and removes each one stored. Entries are idempotent by (kind, Telegram update id): the
file keeps one entry per update and kind, a report is stored with
`ReportStore.create(source_update_id=...)` (never twice), a check-in answered twice
counts once, and a photo already kept is not added again; so a replay interrupted half way
repeats nothing. While the file holds anything, /readyz says not ready.

The file holds patients' words: it lives next to the database (same protection), is created
with owner-only permissions, and is emptied as soon as its entries are stored.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import logging
import os
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SpooledReport:
    """A report for the clinic the database could not take yet."""

    update_id: int
    telegram_id: int
    chat_id: int
    text: str
    urgency: str | None
    reason: str | None
    day: int | None
    at: str  # ISO time it was raised (UTC)
    kind: str = "triage"  # storage.ReportKind value
    photo: str | None = None  # Telegram file id of a photo sent with it

    entry = "report"

    @property
    def raised_at(self) -> dt.datetime:
        """`at` as an aware datetime."""
        return dt.datetime.fromisoformat(self.at)


@dataclass(frozen=True)
class SpooledEvent:
    """A patient's action the database could not take yet: a button press (`entry` "press",
    `data` the callback data) or a photo (`entry` "photo", `data` its Telegram file id)."""

    entry: str
    update_id: int
    telegram_id: int
    chat_id: int
    first_name: str
    data: str
    at: str

    @property
    def raised_at(self) -> dt.datetime:
        """`at` as an aware datetime."""
        return dt.datetime.fromisoformat(self.at)


Spooled = SpooledReport | SpooledEvent
EVENTS = ("press", "photo")


def _key(item: Spooled) -> tuple[str, int]:
    return item.entry, item.update_id


def _line(item: Spooled) -> bytes:
    record: dict[str, Any] = dataclasses.asdict(item)
    record["entry"] = item.entry
    return (json.dumps(record, ensure_ascii=False) + "\n").encode()


def _parse(raw: dict[str, Any]) -> Spooled:
    entry = raw.get("entry", "report")  # lines written before events existed are reports
    if entry == "report":
        fields = {f.name for f in dataclasses.fields(SpooledReport)}
        return SpooledReport(**{k: raw[k] for k in fields if k in raw})
    if entry in EVENTS:
        fields = {f.name for f in dataclasses.fields(SpooledEvent)}
        return SpooledEvent(**{k: raw[k] for k in fields})
    raise ValueError(f"unknown entry {entry!r}")


class ReportSpool:
    """The append-only spool file (one JSON object per line)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = asyncio.Lock()
        self._count = len(self.pending())

    def __len__(self) -> int:
        """Entries waiting for the database."""
        return self._count

    def append(self, item: Spooled) -> None:
        """Keep `item` durably (written and fsynced before this returns)."""
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, _line(item))
            os.fsync(fd)
        finally:
            os.close(fd)
        self._count += 1
        log.warning("database unavailable: %s of update %d kept in the spool (%d waiting)",
                    item.entry, item.update_id, self._count)

    def pending(self) -> list[Spooled]:
        """What the file holds, once per (kind, update id), in order; unreadable lines are
        logged (with their line number, never their content) and skipped."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        kept: dict[tuple[str, int], Spooled] = {}
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                item = _parse(json.loads(line))
            except (ValueError, KeyError, TypeError) as exc:  # a torn last line after a crash
                log.error("%s line %d: unreadable spooled entry (%s)", self.path, number,
                          type(exc).__name__)
                continue
            kept.setdefault(_key(item), item)
        return list(kept.values())

    async def replay(self, store: Callable[[Spooled], Awaitable[object]]) -> int:
        """Store every kept entry through `store`, in order, removing each one stored. Stops
        at the first failure (the database is still away), which is raised: nothing is lost,
        the next replay starts with the entry that failed. Returns how many were stored."""
        async with self._lock:
            done: set[tuple[str, int]] = set()
            try:
                for item in self.pending():
                    await store(item)
                    done.add(_key(item))
            finally:
                if done:
                    self._rewrite(done)
            if done:
                log.warning("database back: %d spooled entr%s stored", len(done),
                            "y" if len(done) == 1 else "ies")
            return len(done)

    def _rewrite(self, stored: Iterable[tuple[str, int]]) -> None:
        """Rewrite the file without `stored` (no await: an append cannot slip in)."""
        gone = set(stored)
        remaining = [item for item in self.pending() if _key(item) not in gone]
        temporary = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_TRUNC | os.O_CREAT, 0o600)
        try:
            for item in remaining:
                os.write(fd, _line(item))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, self.path)
        self._count = len(remaining)
