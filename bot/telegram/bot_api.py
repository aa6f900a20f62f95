"""The Bot API client: one TLS setup and HTTP client kind for every connection, getMe at start
(`check_bot_api`, `fetch_bot_username`), how a failure of the API at start-up is judged
(`bot_api_error`: waited out or fatal, the fatal lines from bot/ops/texts.yaml), the bot's
@username (`TelegramIdentity`) and `AftercareBot`, whose `set_webhook` skips a registration
Telegram already has (several replicas starting at once do not each re-register)."""

from __future__ import annotations

import functools
import logging
import ssl
from collections.abc import Sequence
from typing import Any

import httpx
from telegram import Bot, WebhookInfo
from telegram.error import InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from bot.config import Settings
from bot.ops.startup import StartupFailed, Transient
from bot.ops.texts import text
from bot.telegram.polling.fence import LeaseCheckedRequest
from bot.telegram.sender import retry_after_seconds

log = logging.getLogger(__name__)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The TLS settings of every connection to the Bot API: what httpx builds by default
    (certifi's CA bundle, or SSL_CERT_FILE / SSL_CERT_DIR), built once per process and shared
    by all HTTP clients (each build reads the whole CA bundle again)."""
    return httpx.create_ssl_context()


def bot_api_request(connection_pool_size: int, read_timeout: float = 5.0) -> HTTPXRequest:
    """An HTTP client for the Bot API (PTB's default one, on the shared `tls_context`).
    `read_timeout`: how long an answer may take (PTB's default 5 s; for getUpdates, beyond
    the poll's own long-poll timeout)."""
    return HTTPXRequest(connection_pool_size=connection_pool_size, read_timeout=read_timeout,
                        httpx_kwargs={"verify": tls_context()})


def polling_request(read_timeout: float = 5.0) -> LeaseCheckedRequest:
    """The HTTP client of the bot's polls (one connection, on the shared `tls_context`), whose
    ``getUpdates`` goes out only while the poll loop sending it holds the polling lease,
    checked again right before it is written (bot/telegram/polling/fence.py)."""
    return LeaseCheckedRequest(read_timeout=read_timeout, verify=tls_context())


async def fetch_bot_username(token: str, bot_api_url: str) -> str:
    """The bot's @username as Telegram knows it (getMe)."""
    quiet_http_logs()
    async with Bot(token, base_url=bot_api_url, request=bot_api_request(256),
                   get_updates_request=bot_api_request(1)) as bot:
        return bot.username


async def check_bot_api(settings: Settings) -> str:
    """getMe once, before anything else starts: the token works and the API answers."""
    if not settings.token:
        raise StartupFailed(text("startup.token_missing"))
    return await fetch_bot_username(settings.token, settings.bot_api_url)


def bot_api_error(exc: BaseException) -> Transient | StartupFailed | None:
    """Network trouble, time-outs, 429 and server errors are waited out; a refused token
    is not."""
    if isinstance(exc, InvalidToken):
        return StartupFailed(text("startup.token_refused"))
    if isinstance(exc, RetryAfter):
        return Transient("flood control", wait=retry_after_seconds(exc))
    if isinstance(exc, (NetworkError, OSError, TimeoutError)):  # TimedOut is a NetworkError
        return Transient(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    if isinstance(exc, TelegramError):
        return StartupFailed(text("startup.bot_api_refused", answer=str(exc).splitlines()[0]))
    return None


def quiet_http_logs() -> None:
    """httpx logs request URLs (which contain the bot token) at INFO/DEBUG: keep it quiet."""
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)


def webhook_is_current(info: WebhookInfo | None, url: str,
                       allowed_updates: Sequence[str] | None = None) -> bool:
    """True when Telegram's webhook (getWebhookInfo) already is `url` and nothing suggests the
    registration is stale: the same update types (when Telegram lists them) and no 403 as
    the last delivery error (our server refusing Telegram's secret: it changed)."""
    if info is None or info.url != url:
        return False
    listed = tuple(info.allowed_updates or ())
    if listed and allowed_updates is not None and set(listed) != set(allowed_updates):
        return False
    return "403" not in (info.last_error_message or "")


class AftercareBot(ExtBot[Any]):
    """The bot: PTB's ExtBot whose `set_webhook` (which PTB's webhook start always calls)
    does nothing when Telegram already has this registration, so replicas starting at once
    do not each re-register (each re-registration also resets Telegram's delivery state)."""

    async def set_webhook(self, url: str, *args: Any, **kwargs: Any) -> bool:
        try:
            info = await self.get_webhook_info()
        except TelegramError as exc:
            log.info("getWebhookInfo failed (%s): registering the webhook", exc)
            info = None
        if webhook_is_current(info, url, kwargs.get("allowed_updates")):
            log.info("webhook already registered at this URL: not registering again")
            return True
        log.info("registering the webhook")
        return await super().set_webhook(url, *args, **kwargs)


class TelegramIdentity:
    """The bot's @username (a `BotIdentity`): AFTERCARE_BOT_USERNAME when set, else what
    getMe told `bot` when the application was initialised (None before that)."""

    def __init__(self, bot: ExtBot[Any], configured: str | None = None) -> None:
        self.bot = bot
        self.configured = configured

    @property
    def username(self) -> str | None:
        if self.configured:
            return self.configured
        try:
            return self.bot.username
        except RuntimeError:  # not initialised yet: getMe not called
            return None
