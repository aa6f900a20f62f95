"""The per-user update processor through PTB's own entry point (`process_update`, which PTB
marks final and which ours no longer overrides): one user's updates in order, one at a time;
a user's backlog never holds more than one slot, so another user is handled meanwhile; at
most `limit` updates run at once."""

from __future__ import annotations

import asyncio

from telegram import Chat, Message, Update, User
from telegram.ext import BaseUpdateProcessor

from bot.telegram.update_processor import PerUserUpdateProcessor


def update(update_id: int, user: int) -> Update:
    chat = Chat(user, Chat.PRIVATE)
    message = Message(update_id, None, chat, from_user=User(user, "P", False),  # type: ignore[arg-type]
                      text=f"message {update_id}")
    return Update(update_id, message=message)


def test_only_the_documented_hooks_are_implemented() -> None:
    assert "process_update" not in vars(PerUserUpdateProcessor)
    assert {"do_process_update", "initialize", "shutdown"} <= set(vars(PerUserUpdateProcessor))
    assert PerUserUpdateProcessor.process_update is BaseUpdateProcessor.process_update


async def test_one_users_backlog_holds_one_slot_and_keeps_its_order() -> None:
    processor = PerUserUpdateProcessor(2)
    await processor.initialize()
    release = asyncio.Event()
    order: list[tuple[int, int]] = []
    running: list[int] = []
    peak = 0

    async def handle(user: int, n: int) -> None:
        nonlocal peak
        running.append(user)
        peak = max(peak, len(running))
        if user == 1:
            await release.wait()  # the flooding patient's first update is slow
        order.append((user, n))
        running.remove(user)

    flood = [asyncio.create_task(processor.process_update(update(n, 1), handle(1, n)))
             for n in range(10)]
    await asyncio.sleep(0)
    other = asyncio.create_task(processor.process_update(update(100, 2), handle(2, 100)))
    await asyncio.wait_for(other, timeout=5)  # answered while user 1's backlog waits
    assert order == [(2, 100)]
    release.set()
    await asyncio.wait_for(asyncio.gather(*flood), timeout=5)
    assert [n for user, n in order if user == 1] == list(range(10))
    assert peak <= 2
    await processor.shutdown()


async def test_no_more_than_the_limit_run_at_once() -> None:
    processor = PerUserUpdateProcessor(3)
    await processor.initialize()
    gate = asyncio.Event()
    running = 0
    peak = 0

    async def handle() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await gate.wait()
        running -= 1

    tasks = [asyncio.create_task(processor.process_update(update(n, 10 + n), handle()))
             for n in range(8)]
    for _ in range(5):
        await asyncio.sleep(0)
    assert running == 3
    gate.set()
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=5)
    assert peak == 3
