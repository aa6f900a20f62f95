"""/delete handled by one replica empties every replica's caches of the patient's words
(bot/core/forgetting.py, storage/erasures.py), on SQLite and PostgreSQL.

Replica B is built in this process (bot/compose.py), so `tests.holders` can search its memory;
it reads the patient's messages, each with a word made for the test. Replica A is a real
`aftercare run` over the same database (tests/processes.py), which handles the patient's
/delete from the fake Bot API: it erases the patient and forgets in its own process, which is
not this one. So after the erasure B still holds the word (its caches do not know), and after
B's next tick (the call bot/telegram/app.py `schedule_forgetting` makes) it holds it nowhere.
Without the count of erasures the last check fails: nothing tells B. B's next update, the
other way a replica reads the count, is `tests/test_shared_state.py`'s, in memory.
"""

from __future__ import annotations

import gc
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from bot.config import load_settings
from storage.clock import utcnow
from tests.holders import holders_of, is_held
from tests.processes import Control, start_bot, stop_bot

USER = 4711  # the fake server's patient (tests/processes.py `Control`)


async def test_delete_on_one_replica_empties_the_caches_of_another(
        database_url: str, compose: Any, fake_server: str, tmp_path: Path) -> None:
    word = "".join(chr(ord("a") + int(c, 16)) for c in uuid.uuid4().hex[:12])  # unique
    b = await compose(load_settings(None), utcnow, url=database_url)
    conversation = b.patient.conversation
    await conversation.start(USER, USER, "Bea")
    await conversation.callback(USER, USER, "Bea", "consent:yes")
    await conversation.message(USER, USER, "Bea", f"can I wear makeup to {word.title()}s party?")
    await conversation.message(USER, USER, "Bea", f"my {word} cousin says bruising is normal")
    await conversation.log.flush()
    assert await conversation.forgetting.check() is False  # nothing erased since it read
    async with aiohttp.ClientSession() as session:
        control = Control(session, fake_server, USER)
        a = start_bot(fake_server, database_url, tmp_path)
        try:
            confirm = await control.say("/delete")
            done = await control.press(confirm, "delete:yes")
        finally:
            code, err = stop_bot(a)
    assert code == 0, err
    assert done["text"].startswith("Done. I have erased everything")
    assert await b.stores.patients.get(USER) is None
    assert is_held(word)  # B read the words, and nothing has told it yet
    assert await conversation.forgetting.check() is True  # B's tick: the count moved
    gc.collect()
    assert holders_of(word) == 0


async def test_the_bot_reads_the_count_of_erasures_every_tick(bot: Any) -> None:
    """The JobQueue's job (bot/telegram/app.py `schedule_forgetting`): an erasure made
    elsewhere (here through the store, as another replica's /delete writes it) is forgotten at
    the next run, and only once."""
    forgetting = bot.app.bot_data.patient.conversation.forgetting
    (job,) = bot.app.job_queue.get_jobs_by_name("forget-erased")
    await job.run(bot.app)
    forgotten = forgetting.forgotten
    await bot.app.bot_data.stores.patients.erase(99)
    await job.run(bot.app)
    assert forgetting.forgotten == forgotten + 1
    await job.run(bot.app)
    assert forgetting.forgotten == forgotten + 1
