"""Long polling for ``aftercare run``: stand for election and, while leader, run the poller;
the one place the election, the poller and the record of handled updates are put together,
over the lease rows and handled updates the composition root built (`Services.polling`:
the database's, or their in-memory twins)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from bot.config import Settings
from bot.telegram.context import AnyApplication, services_of
from bot.telegram.polling.failures import Backoff
from bot.telegram.polling.handled import HandledLog
from bot.telegram.polling.lease import LeaderElection, lease_name
from bot.telegram.polling.poller import ConfirmingPoller

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def elected_polling(app: AnyApplication, settings: Settings, allowed_updates: list[str],
                          on_change: Callable[[bool], None] | None = None,
                          on_waiting: Callable[[int], None] | None = None,
                          ) -> AsyncIterator[LeaderElection]:
    """Stand for election while inside; the leader runs a `ConfirmingPoller`. `on_change`
    hears whether this replica is actually polling (the ``aftercare_polling_leader`` gauge),
    `on_waiting` how many updates wait to be handled again (/readyz)."""
    services = services_of(app)
    assert settings.token is not None  # polling starts only with a bot token
    name = lease_name(settings.token)

    async def elected() -> None:
        await poller.start()

    async def lost(confirm: bool) -> None:
        await poller.stop(confirm=confirm)

    election = LeaderElection(
        services.polling.leases, name, elected, lost,
        lease=settings.polling_lease_seconds, clock=services.clock)
    poller = ConfirmingPoller(
        app, allowed_updates, election, on_polling=on_change, on_waiting=on_waiting,
        seen=HandledLog(services.polling.handled, name, clock=services.clock),
        timeout=settings.polling_timeout_seconds, give_up=settings.polling_give_up_seconds,
        backoff=Backoff(cap=settings.polling_backoff_max_seconds))
    stop = asyncio.Event()
    task = asyncio.create_task(election.run(stop), name="aftercare-leader-election")
    log.info("polling: standing for election (lease %.0f s, holder %s)",
             settings.polling_lease_seconds, election.holder)
    try:
        yield election
    finally:
        stop.set()
        await task
