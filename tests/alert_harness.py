"""Alert-outbox helpers for desk tests: a recording `AlertSender` and "deliver what is owed".

`with_alerts(desk)` gives the staff desk (its `DeskJobs`, or any job holding the desk's
`kit`, `store` and `cards`, such as `PatientReports`) an alert sender over the real outbox
tables (storage/alerts.py; its in-memory twin for a desk built by `build_memory_services`)
with a sender that records instead of calling Telegram; `deliver(desk)` runs one pass and
returns what was posted or edited, numbering new staff-chat messages from `first_id`.
"""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

from scheduler.alerts import AlertBell, AlertDispatcher, OutgoingAlert
from storage.alerts import AlertConnector, AlertSql
from storage.alerts_memory import MemoryAlerts
from storage.reports_memory import MemoryReportStore

_SENDERS: WeakKeyDictionary[Any, AlertDispatcher] = WeakKeyDictionary()  # cards -> sender


class RecordingSender:
    """An `AlertSender` that remembers each alert and hands out message ids in order."""

    def __init__(self, first_id: int = 500) -> None:
        self.next_id = first_id
        self.sent: list[OutgoingAlert] = []

    async def send(self, alert: OutgoingAlert) -> int:
        self.sent.append(alert)
        if alert.edit_message_id is not None:
            return alert.edit_message_id
        message_id, self.next_id = self.next_id, self.next_id + 1
        return message_id


def with_alerts(desk: Any, first_id: int = 500) -> AlertDispatcher:
    """An alert sender (real outbox, recording sender) for `desk`, woken by the desk's bell."""
    bell = desk.kit.alerts if isinstance(desk.kit.alerts, AlertBell) else None
    store = desk.store
    outbox: AlertConnector = (MemoryAlerts(store.tables) if isinstance(store, MemoryReportStore)
                              else AlertSql(store.sessions))
    dispatcher = AlertDispatcher(outbox, desk.cards,
                                 RecordingSender(first_id), clock=desk.kit.now, bell=bell)
    _SENDERS[desk.cards] = dispatcher
    return dispatcher


async def deliver(desk: Any, first_id: int | None = None) -> list[OutgoingAlert]:
    """Send everything owed now through `desk`'s alert sender; what went out, in order."""
    dispatcher = _SENDERS[desk.cards] if desk.cards in _SENDERS else with_alerts(desk)
    sender = dispatcher.sender
    assert isinstance(sender, RecordingSender)
    if first_id is not None:
        sender.next_id = first_id
    before = len(sender.sent)
    await dispatcher.tick()
    return sender.sent[before:]
