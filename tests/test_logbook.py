"""The chat log's write-behind queue (bot/core/logbook.py): an entry the store refuses loses
no other entry of its batch, and every outcome the advisor gives can be stored."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import get_args

from bot.core.logbook import MessageLog
from knowledge.advisor import Kind
from storage.messages import LogEntry
from storage.states import Outcome


class PickyStore:
    """Refuses any batch holding an entry whose text is 'bad' (as the database refuses a
    row); keeps what it accepts."""

    def __init__(self) -> None:
        self.kept: list[LogEntry] = []

    async def log_batch(self, entries: Sequence[LogEntry]) -> int:
        if any(e.text == "bad" for e in entries):
            raise ValueError("refused")
        self.kept.extend(entries)
        return len(entries)


async def test_one_refused_entry_loses_no_other_entry_of_its_batch() -> None:
    store = PickyStore()
    log = MessageLog(store, gather_seconds=0)
    now = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
    log.add(1, [("in", "can i wear makeup?", None, "answered"),
                ("out", "From day 2 ...", "makeup", "answered")], now)
    log.add(2, [("in", "bad", None, "answered")], now)
    log.add(3, [("in", "hello", None, "smalltalk")], now)
    await log.flush()
    assert sorted((e.telegram_id, e.text) for e in store.kept) == [
        (1, "From day 2 ..."), (1, "can i wear makeup?"), (3, "hello")]


def test_every_advice_kind_is_a_storable_outcome() -> None:
    """The log stores the advisor's kind as the message's outcome: a kind the log does not
    know would be refused (it was, for messages in another language)."""
    assert set(get_args(Kind)) <= {o.value for o in Outcome}
