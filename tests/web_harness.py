"""Test helpers for the web desk: its services over a test database, a signed-in client,
and forms with their CSRF token."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode

import httpx

from bot.backends import MemoryBackend
from bot.config import Settings, load_settings
from bot.web.app import create_app
from bot.web.auth import sign_login
from bot.web.services import DeskServices, build_desk_services
from knowledge.advisor import Advisor
from storage import Database
from storage.clock import ManualClock
from tests.bot_harness import CLINIC, STAFF_CHAT, STAFF_USER, TOKEN
from tests.databases import connect_args

NOW = dt.datetime(2026, 3, 10, 9, 0, tzinfo=dt.UTC)
OTHER_USER = 4242  # a Telegram user who is not staff
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def desk_settings(database_url: str, **extra: Any) -> Settings:
    """The desk's settings (`database_url` "memory": no database named)."""
    if database_url != "memory":
        extra = {"AFTERCARE_DATABASE_URL": database_url, **extra}
    return load_settings(
        None, TELEGRAM_BOT_TOKEN=TOKEN, AFTERCARE_STAFF_CHAT_ID=STAFF_CHAT,
        AFTERCARE_STAFF_IDS=str(STAFF_USER),
        AFTERCARE_TIMEZONE="Europe/London", AFTERCARE_CLINIC_NAME=CLINIC.name,
        AFTERCARE_CLINIC_CONTACT=CLINIC.contact, **extra)


@asynccontextmanager
async def desk_services(database_url: str, advisor: Advisor, clock: ManualClock,
                        **extra: Any) -> AsyncIterator[DeskServices]:
    """The desk's services over a migrated database (fixture `database_url`, or the file a
    running bot migrated): opened without Alembic's no-op upgrade, as tests/conftest.py's
    fixtures open it. `database_url` "memory": over the in-memory twins of the stores
    (a new `MemoryBackend`), no database at all."""
    if database_url == "memory":
        yield build_desk_services(desk_settings(database_url, **extra), MemoryBackend(),
                                  clock=clock, advisor=advisor)
        return
    db = await Database.connect(database_url, migrate=False,
                                connect_args=connect_args(database_url))
    try:
        yield build_desk_services(desk_settings(database_url, **extra), db, clock=clock,
                                  advisor=advisor)
    finally:
        await db.close()


def client(services: DeskServices) -> httpx.AsyncClient:
    """An HTTP client talking to the desk app in this process."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(services)),
                             base_url="http://desk.test", follow_redirects=False)


def login_query(user_id: int, when: dt.datetime, first_name: str = "Sam",
                token: str = TOKEN) -> str:
    """The query string the Login Widget would redirect to, signed with `token`."""
    return urlencode(sign_login(token, user_id, first_name, when, username="sam_staff"))


async def sign_in(http: httpx.AsyncClient, user_id: int, when: dt.datetime) -> httpx.Response:
    """Follow the widget's redirect for this user."""
    return await http.get("/auth/telegram?" + login_query(user_id, when))


async def csrf_of(http: httpx.AsyncClient, path: str = "/queue") -> str:
    """The CSRF token the page at `path` puts in its forms."""
    response = await http.get(path)
    found = _CSRF.search(response.text)
    assert found, response.text[:500]
    return found.group(1)
