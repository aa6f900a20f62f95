"""Forgetting the words of an erased patient in every replica's process, not only the one
that handled /delete.

A patient's words pass through in-process caches: the advisor's folded texts, tokens,
spellings and language scores (knowledge/text.py `forget_texts`), the per-message read of the
database (storage/context_cache.py, which may hold their conversation states) and the
questions kept for users without consent (`AdviceFlow`). Replicas share nothing but the
database, and /delete is handled by one of them; the words may have been read by another (the
polling leader changed, or the webhook sent the patient's earlier updates elsewhere). So every
erasure raises a count in its own transaction (storage/erasures.py), and each replica reads it
(`Forgetting.check`: one primary-key read) on the JobQueue's clock (bot/telegram/app.py
`schedule_forgetting`, every check-in tick: AFTERCARE_CHECKIN_TICK_SECONDS, 5 s by default) and
before it handles an update (`Conversation`), unless it read it less than `UPDATE_GAP` (1 s)
before; when the count has changed, it empties all of those caches. An erased patient's words
therefore leave every replica that can read the database within one tick of the erasure's commit
(plus the time a tick may wait for the event loop), and sooner when the replica handles an update
more than a second after its last read. The read costs 0.55 ms of CPU on SQLite and 0.8 ms on
PostgreSQL (SQLAlchemy's session included), which is why an update does not pay it every time.
Nothing is written but the count: no patient's id, no words.
"""

from __future__ import annotations

import datetime as dt
import logging

from bot.core.flows.advice import AdviceFlow
from bot.core.ports import Erasures
from knowledge.text import forget_texts
from storage.clock import Clock

log = logging.getLogger(__name__)
UPDATE_GAP = dt.timedelta(seconds=1)  # an update reads the count if older than this


class Forgetting:
    """This process's side of the erasure count: what it last read (`seen`), and how often it
    has emptied its caches (`forgotten`)."""

    def __init__(self, erasures: Erasures, advice: AdviceFlow, clock: Clock) -> None:
        self.erasures = erasures
        self.advice = advice  # keeps the questions of users without consent
        self.clock = clock
        self.seen: int | None = None  # the count as last read (None: never read)
        self.read_at: dt.datetime | None = None  # when it was last read
        self.forgotten = 0

    async def check(self) -> bool:
        """Read the count; if it changed since the last read (or was never read), empty every
        cache of patients' words in this process. True when they were emptied."""
        read_at = self.clock()
        epoch = await self.erasures.epoch()
        self.read_at = read_at
        if epoch == self.seen:
            return False
        self._forget_all()  # after the read: every erasure it counted is covered
        self._saw(epoch)
        return True

    async def before_update(self) -> None:
        """`check`, before an update is handled, unless the count was read less than
        `UPDATE_GAP` ago (the tick reads it anyway); a failed read does not stop the answer (the
        next update and the next tick read again; the reason is logged, never words)."""
        last = self.read_at
        if last is not None and last <= self.clock() < last + UPDATE_GAP:
            return
        await self.tick()

    async def tick(self) -> None:
        """`check`, on the JobQueue's clock; a failed read is logged (its kind, never words)
        and tried again at the next tick or update."""
        try:
            await self.check()
        except Exception as exc:  # noqa: BLE001 - the database may be away: answer anyway
            log.warning("could not read the erasure count: %s", type(exc).__name__)

    async def erased(self, user_id: int) -> None:
        """This process erased `user_id` (its erasure counted): forget their words here at once.
        Then the count is read: only when it moved by more than this erasure (another replica
        erased someone since the last read) is everything the other caches keep per user
        emptied too; a failed read leaves that to the next tick or update."""
        self.advice.forget(user_id)
        forget_texts()  # (this process's own writes emptied the per-message read's cache)
        self.forgotten += 1
        read_at = self.clock()
        try:
            epoch = await self.erasures.epoch()
        except Exception as exc:  # noqa: BLE001 - erased already: the tick reads it again
            log.warning("could not read the erasure count: %s", type(exc).__name__)
            return
        self.read_at = read_at
        if self.seen is None or epoch != self.seen + 1:
            self._forget_all()
        self._saw(epoch)

    def _forget_all(self) -> None:
        forget_texts()
        self.erasures.forget_cached()
        self.advice.forget_everyone()
        self.forgotten += 1

    def _saw(self, epoch: int) -> None:
        self.seen = epoch if self.seen is None else max(self.seen, epoch)
