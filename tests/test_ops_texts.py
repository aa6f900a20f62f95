"""What start-up says when it cannot go on (bot/ops/texts.yaml): every key the code looks up
is in the file, with the values its text names, every entry is used, and the lines read
exactly as the operator has always read them."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest
from sqlalchemy.exc import DBAPIError, OperationalError
from telegram.error import Forbidden, InvalidToken

from bot.config import load_settings
from bot.ops.startup import StartupFailed, database_error, dispatcher_locked
from bot.ops.texts import TEXTS, catalogue
from bot.telegram.bot_api import bot_api_error, check_bot_api
from scheduler.guard import DispatcherLockError, SingleDispatcherLock
from tests.text_keys import lookups, missing, unused

ROOT = TEXTS.parents[2]


def users() -> list[Path]:
    """The modules that import `text` from bot.ops.texts (the lookups are theirs)."""
    found = []
    for path in sorted((ROOT / "bot").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(isinstance(node, ast.ImportFrom) and node.module == "bot.ops.texts"
               and any(alias.name == "text" for alias in node.names) for node in ast.walk(tree)):
            found.append(path)
    return found


def ops_lookups() -> list:
    def kind(call: ast.Call) -> str | None:
        return "text" if isinstance(call.func, ast.Name) and call.func.id == "text" else None

    return list(lookups(users(), kind))


def test_every_key_used_is_in_the_file_with_the_values_it_names() -> None:
    found = ops_lookups()
    assert {p.name for p in users()} >= {"startup.py", "bot_api.py"}
    assert len(found) >= 7  # the scan sees the lookups (a rename of `text` would hide them)
    assert missing(catalogue(), found, TEXTS.name) == []


def test_every_entry_of_the_file_is_used() -> None:
    assert unused(catalogue(), ops_lookups()) == []


class _Refused(Exception):
    pass


def test_the_lines_read_as_the_operator_reads_them(tmp_path: Path) -> None:
    assert str(bot_api_error(InvalidToken("x"))) == (
        "Telegram refused TELEGRAM_BOT_TOKEN (check it with @BotFather)")
    assert str(bot_api_error(Forbidden("Forbidden: bot was kicked {x}\nmore"))) == (
        "the Telegram Bot API answered: Forbidden: bot was kicked {x}")
    sqlite = OperationalError("SELECT 1", {}, _sqlite_error())
    assert str(database_error(sqlite)) == (
        "cannot open the SQLite database (OperationalError: unable to open database file)")
    refused = DBAPIError("SELECT 1", {}, _Refused("password authentication failed\nSQL"))
    assert str(database_error(refused)) == (
        "the database refused the connection (_Refused: password authentication failed)")
    with pytest.raises(StartupFailed, match="^TELEGRAM_BOT_TOKEN: missing$"):
        import asyncio

        asyncio.run(check_bot_api(load_settings(None)))


def _sqlite_error() -> Exception:
    import sqlite3

    return sqlite3.OperationalError("unable to open database file")


def test_a_second_run_on_one_sqlite_file_names_the_file_and_the_holder(tmp_path: Path) -> None:
    first, second = (SingleDispatcherLock(tmp_path / "bot.db") for _ in range(2))
    first.acquire()
    try:
        with pytest.raises(DispatcherLockError) as refused:
            second.acquire()
    finally:
        first.release()
    assert (refused.value.database, refused.value.holder) == (tmp_path / "bot.db", os.getpid())
    assert str(dispatcher_locked(refused.value)) == (
        f"another `aftercare run` (process {os.getpid()}) is already sending check-ins from "
        f"{tmp_path / 'bot.db'}; run only one bot per SQLite database (stop the other one, or "
        "use PostgreSQL for several replicas)")
    assert str(dispatcher_locked(DispatcherLockError(tmp_path / "bot.db", None))).startswith(
        f"another `aftercare run` is already sending check-ins from {tmp_path / 'bot.db'}; ")
