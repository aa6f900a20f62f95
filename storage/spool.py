"""What a patient sent while the database was down, kept in a small local file: advice first,
storage second.

When the database is unreachable, the patient still gets an answer at once, and what has to
reach the clinic goes to `ReportSpool`: one JSON line per entry appended to a local file and
fsynced before the update counts as handled. An entry is

* a `SpooledReport`: a red-flag message or caption, a "Yes" to a rule-out question, or the
  description typed after /report (with the photo it came with, if any); or an ordinary
  text, already answered (`answered`), kept only in case it is the description a /report
  handled online waits for (the flow is in the database): the replay raises the report
  from it only then and drops it otherwise (at most one such text per patient, and
  `bot/telegram/spooling.py` MAX_KEPT_WORDS in all);
* a `SpooledEvent`: a button press the database must record (a check-in answer), a photo
  that may belong to a report, an edited message (re-triaged and matched to the report it
  raised on replay), a /command (run on replay, its answer sent then), or a /report whose
  description has not come yet ("describe": the next text is the report, also after a
  restart). A photo sent while a /report waits for its words names that /report
  (`describing`), and so do the words (`SpooledReport.describes`): the photo joins the
  report the words raise however the replays are split.

`replay` hands every kept entry, in order, to a `store` function once the database answers
again and removes each one stored; one `store` keeps (False) is tried again after the others,
and one it took with another entry (`remove`) is not handed over. Entries are idempotent by
(kind, Telegram update id): the file keeps one entry per update and kind, a report is stored
with `ReportStore.create(source_update_id=...)` (never twice), a check-in answered twice
counts once, and a photo already kept is not added again; so a replay interrupted half way
repeats nothing. While the file holds anything, /readyz says not ready.

Several processes may share the file (a hot standby on one SQLite file): appends and the
rewrite after a replay hold an exclusive `flock` on ``<file>.lock`` (a few milliseconds),
one process at a time replays (a second, non-blocking `flock` on ``<file>.replay``; the
others skip that round), and the number of entries waiting is read from the file, so every
process's /readyz sees what any of them kept or stored.

The file holds patients' words: it lives next to the database (same protection), is created
with owner-only permissions, and is emptied as soon as its entries are stored.

What the bot uses of a spool is the `Spool` Protocol of bot/core/ports.py; `MemorySpool`
(storage/spool_memory.py) is the in-memory twin, proven equal by
tests/test_spool_conformance.py; the composition root makes one or the other
(bot/backends.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import fcntl
import json
import logging
import os
from collections.abc import Awaitable, Callable, Iterable, Iterator
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
    describes: int | None = None  # the words of an offline /report: its "describe" update id
    pressed: bool = False  # a rule-out button's answer (not words a /report may wait for)
    answered: str | None = None  # an ordinary text answered offline (the advice's kind):
    # kept only in case a /report waited online for these words; dropped on replay otherwise

    entry = "report"

    @property
    def raised_at(self) -> dt.datetime:
        """`at` as an aware datetime."""
        return dt.datetime.fromisoformat(self.at)


@dataclass(frozen=True)
class SpooledEvent:
    """A patient's action the database could not take yet: a button press (`entry` "press",
    `data` the callback data), a photo ("photo", its Telegram file id), an edited message
    ("edit", the new text; `message_id` the edited message), a command ("command", the
    command's text) or a /report waiting for its description ("describe")."""

    entry: str
    update_id: int
    telegram_id: int
    chat_id: int
    first_name: str
    data: str
    at: str
    message_id: int | None = None
    language: str | None = None  # the sender's Telegram language (a hint for triage)
    describing: int | None = None  # a photo sent while an offline /report (this "describe"
    # update id) waited for its words: it joins the report those words raise

    @property
    def raised_at(self) -> dt.datetime:
        """`at` as an aware datetime."""
        return dt.datetime.fromisoformat(self.at)


Spooled = SpooledReport | SpooledEvent
EVENTS = ("press", "photo", "edit", "command", "describe")


def _key(item: Spooled) -> tuple[str, int]:
    return item.entry, item.update_id


def once_each(items: Iterable[Spooled]) -> list[Spooled]:
    """`items` once per (kind, update id), the first kept, in order."""
    kept: dict[tuple[str, int], Spooled] = {}
    for item in items:
        kept.setdefault(_key(item), item)
    return list(kept.values())


async def store_each(items: list[Spooled], store: Callable[[Spooled], Awaitable[object]],
                     done: set[tuple[str, int]], taken: set[tuple[str, int]],
                     drop: Callable[[set[tuple[str, int]]], None]) -> list[Spooled]:
    """One round of a replay (the file's and its twin's): store `items` one by one, each
    dropped from the spool at once; skip those stored or `taken` already; the ones `store`
    kept (False) are returned."""
    kept: list[Spooled] = []
    for item in items:
        if _key(item) in done or _key(item) in taken:
            continue
        if await store(item) is False:  # False: keep it for later
            kept.append(item)
            continue
        done.add(_key(item))
        drop({_key(item)})  # gone at once, before the next
    return kept


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
        return SpooledEvent(**{k: raw[k] for k in fields if k in raw})
    raise ValueError(f"unknown entry {entry!r}")


@contextlib.contextmanager
def _flocked(path: Path, blocking: bool = True) -> Iterator[bool]:
    """An exclusive `flock` on `path` (created owner-only) while inside; yields False when
    not `blocking` and another process holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


class ReportSpool:
    """The append-only spool file (one JSON object per line), shared safely by processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file_lock = path.with_name(path.name + ".lock")
        self._replay_lock = path.with_name(path.name + ".replay")
        self._lock = asyncio.Lock()
        self._seen: tuple[int, int, int] | None = None  # (inode, size, mtime) counted
        self._count = 0
        self._taken: set[tuple[str, int]] = set()  # removed by `remove` during this replay

    def __len__(self) -> int:
        """Entries waiting for the database (kept by any process sharing the file)."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return 0
        seen = (st.st_ino, st.st_size, st.st_mtime_ns)
        if seen != self._seen:
            self._count, self._seen = len(self.pending()), seen
        return self._count

    def append(self, item: Spooled) -> None:
        """Keep `item` durably (written and fsynced before this returns)."""
        with _flocked(self._file_lock):
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, _line(item))
                os.fsync(fd)
            finally:
                os.close(fd)
        log.warning("database unavailable: %s of update %d kept in the spool (%d waiting)",
                    item.entry, item.update_id, len(self))

    def pending(self) -> list[Spooled]:
        """What the file holds, once per (kind, update id), in order; unreadable lines are
        logged (with their line number, never their content) and skipped."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        items: list[Spooled] = []
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                items.append(_parse(json.loads(line)))
            except (ValueError, KeyError, TypeError) as exc:  # a torn last line after a crash
                log.error("%s line %d: unreadable spooled entry (%s)", self.path, number,
                          type(exc).__name__)
        return once_each(items)

    async def replay(self, store: Callable[[Spooled], Awaitable[object]],
                     order: Callable[[list[Spooled]], list[Spooled]] | None = None) -> int:
        """Store every kept entry through `store`, in order (`order` may rearrange them),
        removing each one from the file as soon as it is stored, so a crash in the middle
        repeats at most the entry being stored. `store` returning False keeps the entry: it
        is tried once more after the rest of this replay (what it waits for may come later),
        and otherwise in the next replay. An entry `store` took with another one (`remove`)
        is not stored again. Stops at the first failure (the database is still away), which
        is raised: nothing is lost, the next replay starts with the entry that failed.
        Returns how many were stored; 0 when another process is replaying the file."""
        async with self._lock:
            with _flocked(self._replay_lock, blocking=False) as mine:
                if not mine:
                    return 0
                done: set[tuple[str, int]] = set()
                items = self.pending()
                self._taken = set()
                try:
                    kept = await store_each(order(items) if order is not None else items,
                                            store, done, self._taken, self._rewrite)
                    await store_each(kept, store, done, self._taken, self._rewrite)
                finally:
                    done |= self._taken
                    self._taken = set()
                    if done:
                        log.warning("database back: %d spooled entr%s stored", len(done),
                                    "y" if len(done) == 1 else "ies")
            return len(done)

    @property
    def location(self) -> str:
        """Where the entries are kept (for the log)."""
        return str(self.path)

    def remove(self, items: Iterable[Spooled]) -> None:
        """Remove `items` from the file: a replay's `store` took them with the entry it
        stores (a photo with the words of its report); the replay does not store them."""
        keys = {_key(item) for item in items}
        if keys:
            self._taken |= keys
            self._rewrite(keys)

    def _rewrite(self, stored: set[tuple[str, int]]) -> None:
        """Rewrite the file without `stored` (under the file lock: no append slips in, from
        this process or another)."""
        gone = set(stored)
        with _flocked(self._file_lock):
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
