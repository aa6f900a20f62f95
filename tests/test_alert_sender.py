"""The alert sender's state machine on the in-memory outbox twin (storage/alerts_memory.py).

A card is delivered once; 429 pauses every send and gives the row back uncounted; 5xx,
timeouts and a 403 from the staff group are retried with backoff until they succeed (a card
is never given up); an edit Telegram calls "not modified" is done; a sender that dies with a
row claimed loses nothing (the next start re-queues it) and repeats at most that one row.
"""

from __future__ import annotations

import datetime as dt

import pytest

from scheduler.alerts import AlertConfig, AlertDispatcher, OutgoingAlert
from scheduler.dispatcher import PermanentError, RetryAfter, SendError, TransientError
from storage.alerts import ClaimedAlert
from storage.alerts_memory import MemoryAlerts
from storage.clock import ManualClock
from storage.models import AlertKind, AlertStatus

NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
STAFF = -100


class Renderer:
    """Cards say "card <report>"; erase rows edit their message."""

    async def render(self, alert: ClaimedAlert) -> OutgoingAlert | None:
        if alert.kind == AlertKind.ERASE.value:
            assert alert.chat_id is not None and alert.message_id is not None
            return OutgoingAlert(alert.chat_id, "[erased]", edit_message_id=alert.message_id)
        return OutgoingAlert(STAFF, f"card {alert.report_id}")


class Scripted:
    """Raises the scripted errors in order, then succeeds; records what Telegram accepted."""

    def __init__(self, *errors: SendError) -> None:
        self.errors = list(errors)
        self.delivered: list[str] = []
        self.attempts = 0

    async def send(self, alert: OutgoingAlert) -> int:
        self.attempts += 1
        if self.errors:
            raise self.errors.pop(0)
        self.delivered.append(alert.text)
        return 1000 + len(self.delivered)


def dispatcher(outbox: MemoryAlerts, sender: Scripted, clock: ManualClock,
               worker: str = "w1") -> AlertDispatcher:
    config = AlertConfig(backoff_base=dt.timedelta(seconds=2),
                         backoff_cap=dt.timedelta(seconds=60), poll_interval=0.01)
    return AlertDispatcher(outbox, Renderer(), sender, config=config, clock=clock, worker=worker)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


async def test_a_card_is_delivered_once_and_linked(clock: ManualClock) -> None:
    outbox = MemoryAlerts()
    outbox.add(7, AlertKind.CARD, NOW)
    sender = Scripted()
    alerts = dispatcher(outbox, sender, clock)
    assert await alerts.tick() == 1
    assert await alerts.tick() == 0
    assert sender.delivered == ["card 7"]
    assert outbox.cards == [(7, STAFF, 1001, "card")] and await outbox.owed() == 0


@pytest.mark.parametrize("error", [
    TransientError("500 Internal Server Error"),
    TransientError("timed out (ConnectTimeout)"),
    TransientError("Forbidden: bot was kicked from the supergroup chat"),
    PermanentError("Bad Request: can't parse entities"),  # a card is never given up
], ids=["500", "timeout", "403-group", "400"])
async def test_failed_card_sends_are_retried_with_backoff_until_delivered(
        clock: ManualClock, error: SendError) -> None:
    outbox = MemoryAlerts()
    row = outbox.add(1, AlertKind.CARD, NOW)
    sender = Scripted(*[error] * 6)
    alerts = dispatcher(outbox, sender, clock)
    waits = []
    for _ in range(6):
        assert await alerts.tick() == 0
        assert row.status == AlertStatus.PENDING.value and row.last_error
        waits.append((row.due_at - clock()).total_seconds())
        clock.now = row.due_at  # the retry's time comes
    assert waits == [2, 4, 8, 16, 32, 60]  # exponential, capped
    assert await alerts.tick() == 1
    assert sender.delivered == ["card 1"] and await outbox.owed() == 0


async def test_429_pauses_all_sends_and_gives_the_row_back_uncounted(
        clock: ManualClock) -> None:
    outbox = MemoryAlerts()
    first = outbox.add(1, AlertKind.CARD, NOW)
    outbox.add(2, AlertKind.CARD, NOW)
    sender = Scripted(RetryAfter(30))
    alerts = dispatcher(outbox, sender, clock)
    assert await alerts.tick() == 0
    assert alerts.paused_for > 25 and sender.attempts == 1  # the second card was not tried
    assert first.status == AlertStatus.PENDING.value and first.attempts == 0
    alerts.pause.clear()  # the pause is over
    assert await alerts.tick() == 2
    assert sender.delivered == ["card 1", "card 2"]


async def test_an_edit_of_a_vanished_or_unchanged_message_is_done(clock: ManualClock) -> None:
    outbox = MemoryAlerts()
    outbox.add(None, AlertKind.ERASE, NOW, chat_id=STAFF, message_id=55, card_kind="card")
    outbox.add(None, AlertKind.ERASE, NOW, chat_id=STAFF, message_id=56, card_kind="card")
    sender = Scripted(PermanentError("Bad Request: message is not modified"),
                      PermanentError("Bad Request: message to edit not found"))
    assert await dispatcher(outbox, sender, clock).tick() == 0
    assert await outbox.owed() == 0 and sender.delivered == []


async def test_a_dead_sender_loses_nothing_and_repeats_at_most_one_card(
        clock: ManualClock) -> None:
    outbox = MemoryAlerts()
    for report in (1, 2, 3):
        outbox.add(report, AlertKind.CARD, NOW)
    # the first sender claimed card 1, Telegram accepted it, and the process died before
    # recording it; cards 2 and 3 were never claimed (one row in flight at a time)
    (claimed,) = await outbox.claim_due(NOW, 1, dt.timedelta(seconds=60), "dead")
    accepted = ["card 1"]
    restarted = dispatcher(outbox, Scripted(), clock, worker="w2")
    assert await restarted.start() == 1  # the only sender: the dead claim comes back at once
    assert await restarted.tick() == 3
    delivered = accepted + restarted.sender.delivered  # type: ignore[attr-defined]
    assert sorted(delivered) == ["card 1", "card 1", "card 2", "card 3"]
    assert claimed.report_id == 1 and await outbox.owed() == 0


async def test_a_claim_lost_to_an_expired_lease_is_counted_not_recorded_twice(
        clock: ManualClock) -> None:
    outbox = MemoryAlerts()
    row = outbox.add(4, AlertKind.CARD, NOW)
    slow = dispatcher(outbox, Scripted(), clock, worker="slow")
    (claimed,) = await outbox.claim_due(NOW, 1, dt.timedelta(seconds=60), "slow")
    clock.advance(seconds=61)  # the lease ran out; another replica takes the row
    assert await dispatcher(outbox, Scripted(), clock, worker="fast").tick() == 1
    assert not await outbox.mark_sent(claimed.id, "slow", STAFF, 999, clock())
    assert row.status == AlertStatus.SENT.value and row.sent_message_id == 1001
    assert slow.stats.lost_claims == 0 and len(outbox.cards) == 1
