"""Start-up when the database or the Bot API is not there yet: one line per failed attempt,
capped exponential backoff, and the bot runs once they answer; problems waiting cannot fix stop
start-up with one line (issue 15, item 7).

Start-up being the subject, every bot here is a new Python exec'd for it (tests/processes.py
`start_fresh_bot`), not forked from the tests' fork server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from bot.ops.startup import Backoff, StartupFailed, Transient, with_retry
from tests.processes import (
    BotProcess,
    Control,
    free_port,
    start_fake_server,
    start_fresh_bot,
    stop_bot,
    until,
)


class Lines:
    """A bot's stderr lines as they come (read from the file start_fresh_bot sends them to)."""

    def __init__(self, proc: BotProcess) -> None:
        self._proc = proc

    def matching(self, text: str) -> list[str]:
        return [line for line in self.text().splitlines() if text in line]

    def text(self) -> str:
        return self._proc.stderr_so_far()


def test_retry_waits_longer_each_time_up_to_the_cap_and_returns_the_result() -> None:
    waits: list[float] = []
    calls = 0

    async def attempt() -> str:
        nonlocal calls
        calls += 1
        if calls < 6:
            raise ConnectionRefusedError(111, "Connection refused")
        return "up"

    async def sleep(_stop: asyncio.Event, seconds: float) -> bool:
        waits.append(seconds)
        return False

    result = asyncio.run(with_retry("database", attempt, lambda e: Transient(str(e)),
                                    asyncio.Event(), backoff=Backoff(first=1, cap=5),
                                    sleep=sleep))
    assert result == "up"
    assert waits == [1, 2, 4, 5, 5]


def test_retry_honours_a_wait_the_server_asks_for_and_stops_when_told() -> None:
    stop = asyncio.Event()
    waits: list[float] = []

    async def attempt() -> str:
        raise RuntimeError("429")

    async def sleep(stop_: asyncio.Event, seconds: float) -> bool:
        waits.append(seconds)
        stop_.set()  # SIGTERM arrives while we wait
        return True

    result = asyncio.run(with_retry("Telegram Bot API", attempt,
                                    lambda e: Transient("flood control", wait=17), stop,
                                    sleep=sleep))
    assert result is None and waits == [17]


def test_a_problem_waiting_cannot_fix_is_raised_at_once() -> None:
    async def attempt() -> str:
        raise PermissionError("token refused")

    with pytest.raises(StartupFailed, match="refused"):
        asyncio.run(with_retry("x", attempt, lambda e: StartupFailed("refused"),
                               asyncio.Event()))


def test_bot_waits_for_the_bot_api_then_answers_patients(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there yet
    # tried again after 0.2, 0.4, 0.8 ... s (not 1, 2, 4 ... s): the first try after the
    # server is up comes sooner
    bot = start_fresh_bot(f"http://127.0.0.1:{port}", tmp_path / "bot.db", tmp_path,
                    AFTERCARE_STARTUP_BACKOFF_SECONDS="0.2")
    stderr = Lines(bot)
    server = None
    try:
        async def scenario() -> None:
            nonlocal server

            async def retrying() -> list[str]:
                return stderr.matching("Telegram Bot API unreachable")

            await until(retrying, "a line saying the Bot API is unreachable")
            server, root = start_fake_server(port)
            async with aiohttp.ClientSession() as session:
                patient = Control(session, root)
                answer = await patient.say("/start")
                assert answer["text"]

        asyncio.run(scenario())
    finally:
        code, _ = stop_bot(bot)
        if server is not None:
            server.kill()
            server.wait()
    output = stderr.text()
    assert code == 0, output
    assert "Traceback" not in output
    failures = stderr.matching("Telegram Bot API unreachable")
    assert failures and all("retrying in" in line for line in failures)
    assert "123:abcdef" not in output  # the token never reaches the log


def test_bot_waits_for_the_database_and_stops_cleanly_while_waiting(tmp_path: Path) -> None:
    server, root = start_fake_server()
    dead = f"postgresql+asyncpg://aftercare:secret-pw@127.0.0.1:{free_port()}/test"
    bot = start_fresh_bot(root, dead, tmp_path)
    stderr = Lines(bot)
    try:
        async def two_attempts() -> bool:
            return len(stderr.matching("database unreachable")) >= 2

        asyncio.run(until(two_attempts, "two failed database attempts"))
    finally:
        code, _ = stop_bot(bot)
        server.kill()
        server.wait()
    output = stderr.text()
    assert code == 0, output
    assert "Traceback" not in output
    first, second = stderr.matching("database unreachable")[:2]
    assert "retrying in 1 s" in first and "retrying in 2 s" in second
    assert "secret-pw" not in output


def test_a_refused_token_stops_start_up_with_one_line_and_fails_a_waiting_test_at_once(
        tmp_path: Path) -> None:
    """The product: a refused token ends start-up with one line, before the database. The
    harness: a test waiting on that bot fails straight away with the bot's own words, instead
    of waiting out the bound on a hang (one process shows both)."""
    server, root = start_fake_server()
    bot = None
    try:
        async def refuse_the_token_then_wait_for_an_answer() -> None:
            nonlocal bot
            async with aiohttp.ClientSession() as session:
                patient = Control(session, root)
                await patient.post("fail", {"method": "getMe", "error_code": 401,
                                            "description": "Unauthorized", "times": 100})
                bot = start_fresh_bot(root, tmp_path / "bot.db", tmp_path)
                await patient.wait_sent(1)  # never comes: the bot exits at start-up

        with pytest.raises(AssertionError) as failure:
            asyncio.run(refuse_the_token_then_wait_for_an_answer())
        assert bot is not None
        bot.wait(timeout=90)  # it exits by itself (a bound on a hang, not a timing assertion)
        code, err = stop_bot(bot)
    finally:
        if bot is not None and bot.poll() is None:
            stop_bot(bot)
        server.kill()
        server.wait()
    assert code == 1, err
    assert "cannot start: Telegram refused TELEGRAM_BOT_TOKEN" in err
    assert "Traceback" not in err
    assert not (tmp_path / "bot.db").exists()  # stopped before touching the database
    assert "aftercare run exited with code 1" in str(failure.value)
    assert "Telegram refused TELEGRAM_BOT_TOKEN" in str(failure.value)


def test_server_errors_from_the_bot_api_are_waited_out(tmp_path: Path) -> None:
    server, root = start_fake_server()
    bot = None
    try:
        async def scenario() -> None:
            nonlocal bot
            async with aiohttp.ClientSession() as session:
                patient = Control(session, root)
                await patient.post("fail", {"method": "getMe", "error_code": 502,
                                            "description": "Bad Gateway", "times": 2})
                # waits of 0.1 and 0.2 s between the tries instead of 1 and 2 s
                bot = start_fresh_bot(root, tmp_path / "bot.db", tmp_path,
                                AFTERCARE_STARTUP_BACKOFF_SECONDS="0.1")
                assert (await patient.say("/start"))["text"]

        asyncio.run(scenario())
    finally:
        assert bot is not None
        code, err = stop_bot(bot)
        server.kill()
        server.wait()
    assert code == 0, err
    assert err.count("Telegram Bot API unreachable") == 2
    assert "retrying in 0.1 s" in err and "retrying in 0.2 s" in err  # the configured waits
    assert "Traceback" not in err
    # the log format by default (no AFTERCARE_LOG_FORMAT) is plain text, not JSON
    assert " INFO bot.telegram.app: bot @" in err
    assert not err.lstrip().startswith("{")
