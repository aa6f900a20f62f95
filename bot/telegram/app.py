"""Wiring of the Telegram application: `build_application`, `running` and `serve`.

`build_application(settings, db, advisor)` builds the services (bot/compose.py, with the
Telegram client as the check-in sender) and returns a python-telegram-bot `Application`
talking to ``settings.bot_api_url`` (Telegram, a local Bot API server or the test fake),
whose handlers reach those services as a typed ``context.bot_data`` (bot/telegram/context.py),
with a rate limiter, the handlers of bot/telegram/handlers.py and staff_handlers.py, the
check-in jobs and a `post_init` that registers the command lists (patients: all private
chats; staff: the staff chat).

`running(app, settings)` starts it (long polling through `ConfirmingPoller`, which confirms
an update to Telegram only once it is handled; or, when AFTERCARE_WEBHOOK_URL is set, the
webhook server of bot/telegram/webhook.py, which refuses a request without the right
X-Telegram-Bot-Api-Secret-Token before reading its body and answers 200 only once the
update is handled) and stops it on exit. Several replicas starting at once
do not each re-register the webhook: `AftercareBot.set_webhook` skips the call when
getWebhookInfo already shows this URL, and on PostgreSQL registration runs under an advisory
lock, so the first replica registers and the others see it done. `serve(settings)` is what
``aftercare run`` does: migrate the database, run until SIGINT/SIGTERM, shut down cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import signal
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import time as dt_time
from typing import Any

import httpx
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    Update,
    WebhookInfo,
)
from telegram.error import InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import (
    AIORateLimiter,
    ApplicationBuilder,
    BaseUpdateProcessor,
    ExtBot,
    TypeHandler,
)
from telegram.request import HTTPXRequest

from bot.compose import Observer, Services, build_services, load_advisor, load_plan
from bot.config import Settings
from bot.core.replies import Reply
from bot.ops.startup import StartupFailed, Transient, database_error, with_retry
from bot.telegram.alert_sender import TelegramAlertSender
from bot.telegram.context import AnyApplication, AppContext, context_types, services_of
from bot.telegram.delivery import deliver
from bot.telegram.handlers import ALLOWED_UPDATES, register_handlers
from bot.telegram.sender import TelegramSender, retry_after_seconds
from bot.telegram.staff_handlers import register_staff_handlers
from knowledge.advisor import Advisor
from storage import Database, utcnow
from storage.clock import Clock
from storage.retention import Retention

log = logging.getLogger(__name__)
CONCURRENCY = 8


def count_updates(app: AnyApplication, on_update: Callable[[], None] | None) -> None:
    """Call `on_update` for every update, before any other handler sees it (metrics)."""
    if on_update is None:
        return
    counted = on_update

    async def count(_update: object, _context: AppContext) -> None:
        counted()

    app.add_handler(TypeHandler(Update, count), group=-100)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The TLS settings of every connection to the Bot API: what httpx builds by default
    (certifi's CA bundle, or SSL_CERT_FILE / SSL_CERT_DIR), built once per process and shared
    by all HTTP clients (each build reads the whole CA bundle again)."""
    return httpx.create_ssl_context()


def bot_api_request(connection_pool_size: int) -> HTTPXRequest:
    """An HTTP client for the Bot API (PTB's default one, on the shared `tls_context`)."""
    return HTTPXRequest(connection_pool_size=connection_pool_size,
                        httpx_kwargs={"verify": tls_context()})


async def fetch_bot_username(token: str, bot_api_url: str) -> str:
    """The bot's @username as Telegram knows it (getMe)."""
    quiet_http_logs()
    async with Bot(token, base_url=bot_api_url, request=bot_api_request(256),
                   get_updates_request=bot_api_request(1)) as bot:
        return bot.username


async def check_bot_api(settings: Settings) -> str:
    """getMe once, before anything else starts: the token works and the API answers."""
    if not settings.token:
        raise StartupFailed("TELEGRAM_BOT_TOKEN: missing")
    return await fetch_bot_username(settings.token, settings.bot_api_url)


def bot_api_error(exc: BaseException) -> Transient | StartupFailed | None:
    """Network trouble, time-outs, 429 and server errors are waited out; a refused token
    is not."""
    if isinstance(exc, InvalidToken):
        return StartupFailed("Telegram refused TELEGRAM_BOT_TOKEN (check it with @BotFather)")
    if isinstance(exc, RetryAfter):
        return Transient("flood control", wait=retry_after_seconds(exc))
    if isinstance(exc, (NetworkError, OSError, TimeoutError)):  # TimedOut is a NetworkError
        return Transient(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
    if isinstance(exc, TelegramError):
        return StartupFailed(f"the Telegram Bot API answered: {str(exc).splitlines()[0]}")
    return None


def quiet_http_logs() -> None:
    """httpx logs request URLs (which contain the bot token) at INFO/DEBUG: keep it quiet."""
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)


class PerUserUpdateProcessor(BaseUpdateProcessor):
    """Updates of different users run concurrently; one user's updates run one at a time, in order.

    A patient's /start, button press and next question must be handled in the order they
    were sent; other patients need not wait for them (database and HTTP waits overlap).
    An update first waits for its user's turn and only then for one of the `limit` slots,
    so one user's backlog never holds more than one slot (40 queued messages from one
    patient used to take every slot while they waited on that patient's lock, and everybody
    else waited behind them).

    Only PTB's documented hooks are implemented. PTB's `process_update` (final) takes one of
    its own slots before it calls `do_process_update`, where an update may wait for its
    user's turn; so PTB's bound is set out of reach (`ADMIT`) and the real bound, `limit`,
    is a semaphore taken in `do_process_update` after the user's turn.
    """

    ADMIT = 1 << 30  # PTB's own slots: never the limit (every queued update is admitted)

    def __init__(self, max_concurrent_updates: int = 64) -> None:
        if max_concurrent_updates < 1:
            raise ValueError("max_concurrent_updates must be a positive integer")
        super().__init__(self.ADMIT)
        self.limit = max_concurrent_updates
        self._slots = asyncio.Semaphore(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}  # key -> updates holding or waiting for its lock

    @staticmethod
    def _key(update: object) -> int:
        if isinstance(update, Update):
            if update.effective_user is not None:
                return update.effective_user.id
            if update.effective_chat is not None:
                return update.effective_chat.id
        return 0

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """The user's turn first, then one of the `limit` slots, then the handlers."""
        key = self._key(update)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock, self._slots:
                await coroutine
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._locks[key]

    async def initialize(self) -> None:
        """Fresh slots and no user turns (the Application calls this once before polling)."""
        self._slots = asyncio.Semaphore(self.limit)
        self._locks.clear()
        self._users.clear()

    async def shutdown(self) -> None:
        """Nothing to tear down (the Application has awaited every update by then)."""


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


def build_application(settings: Settings, db: Database, advisor: Advisor | None = None,
                      clock: Clock = utcnow, observer: Observer | None = None) -> AnyApplication:
    """The configured Application (not started). Needs a bot token in `settings`; `advisor`
    may be given already loaded (default: loaded from the settings' knowledge base);
    `observer` (the ops metrics) hears every answer and check-in send."""
    if not settings.token:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    quiet_http_logs()
    limiter = (AIORateLimiter(overall_max_rate=settings.max_sends_per_second, max_retries=2)
               if settings.max_sends_per_second else None)
    bot = AftercareBot(  # what ApplicationBuilder would build, with our set_webhook
        settings.token, base_url=settings.bot_api_url, base_file_url=settings.base_file_url,
        request=bot_api_request(256), get_updates_request=bot_api_request(1),
        rate_limiter=limiter)
    cards = (TelegramAlertSender(bot, settings.alert_read_timeout_seconds)
             if settings.staff_chat_id is not None else None)  # no staff chat: no cards
    services = build_services(settings, db, TelegramSender(bot), clock, advisor=advisor,
                              alert_sender=cards,
                              identity=TelegramIdentity(bot, settings.bot_username),
                              observer=observer)
    services = _with_spool(services, bot)
    builder = (
        ApplicationBuilder()
        .bot(bot)
        .context_types(context_types(services))
        .concurrent_updates(PerUserUpdateProcessor(CONCURRENCY))
        .post_init(register_commands)
    )
    app: AnyApplication = builder.build()
    register_handlers(app)
    schedule_checkins(app, services)
    register_staff_handlers(app, services)  # report cards, staff buttons and commands
    return app


def _with_spool(services: Services, bot: ExtBot[Any]) -> Services:
    """The spool and its replayer (which sends what a replayed update produces through
    `bot`), added to `services` (bot/telegram/spooling.py)."""
    import dataclasses

    from bot.telegram.spooling import build_spool


    async def to_chat(reply: Reply, chat: int) -> None:  # what a replayed update produced
        target = reply.to_chat if reply.to_chat is not None else chat
        try:
            sent = await deliver(bot, target, reply)
        except TelegramError as exc:
            log.warning("a replayed update's message to chat %s failed: %s", target,
                        type(exc).__name__)
            return
        if reply.card_for is not None:
            await services.desk.cards.card_sent(reply, target, sent.message_id)

    spool, replayer = build_spool(services.settings, services.stores.reports,
                                  services.checkins.service, services.checkins.alert_bell,
                                  conversation=services.patient.conversation,
                                  desk=services.desk.patients, deliver=to_chat)
    return dataclasses.replace(services, ops=dataclasses.replace(
        services.ops, spool=spool, spool_replayer=replayer))


def schedule_checkins(app: AnyApplication, services: Services) -> None:
    """The JobQueue is the clock that wakes the check-in dispatcher (nothing is stored in
    it), and staff get a daily summary."""
    settings, service = services.settings, services.checkins.service
    if app.job_queue is None:
        log.warning("no JobQueue (python-telegram-bot[job-queue] missing): check-ins not sent")
        return
    every = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}

    async def tick(_context: AppContext) -> None:
        await service.tick()

    app.job_queue.run_repeating(tick, interval=settings.checkin_tick_seconds, first=1,
                                name="checkins", job_kwargs=every)
    if settings.staff_chat_id is not None:
        app.job_queue.run_daily(_staff_summary, time=dt_time(8, 30, tzinfo=settings.tz),
                                name="checkin-summary", job_kwargs=every)


def schedule_retention(app: AnyApplication, days: int | None, retention: Retention,
                       clock: Clock = utcnow) -> None:
    """Run `retention` (storage/retention.py) a minute after start and then daily."""
    if not days or app.job_queue is None:
        return

    async def purge(_context: AppContext) -> None:
        await retention.purge(days, clock())

    app.job_queue.run_repeating(purge, interval=dt.timedelta(days=1), first=60,
                                name="retention", job_kwargs={"max_instances": 1,
                                                              "coalesce": True})
    log.info("data retention: messages and resolved reports deleted %d days after the last "
             "session", days)


async def _staff_summary(context: AppContext) -> None:
    """Daily: failed, expired and unanswered check-ins to the staff chat."""
    settings, service = context.bot_data.settings, context.bot_data.checkins.service
    text = await service.daily_summary()
    if text and settings.staff_chat_id is not None:
        await context.bot.send_message(settings.staff_chat_id, text)


async def register_commands(app: AnyApplication) -> None:
    """setMyCommands for patients (private chats) and, if configured, the staff chat."""
    services = services_of(app)
    conversation, settings = services.patient.conversation, services.settings
    patient = [BotCommand(n, d) for n, d in conversation.command_descriptions()]
    try:
        await app.bot.set_my_commands(patient, scope=BotCommandScopeAllPrivateChats())
    except TelegramError as exc:
        log.warning("could not register the patient command list: %s", exc)
    if settings.staff_chat_id is None:
        return
    staff = [BotCommand(n, d) for n, d in conversation.command_descriptions(staff=True)]
    try:
        await app.bot.set_my_commands(staff, scope=BotCommandScopeChat(settings.staff_chat_id))
    except TelegramError as exc:
        log.warning("could not register the staff command list: %s", exc)


@asynccontextmanager
async def running(app: AnyApplication, settings: Settings,
                  on_leader_change: Callable[[bool], None] | None = None,
                  on_waiting: Callable[[int], None] | None = None,
                  ) -> AsyncIterator[AnyApplication]:
    """Initialise, register commands, start polling or the webhook; stop everything on exit.
    `on_leader_change` hears whether this replica is the one actually polling, `on_waiting`
    how many polled updates wait to be handled again (database unavailable)."""
    services = services_of(app)
    async with app:
        if app.post_init is not None:
            await app.post_init(app)
        # re-queue what a previous run left in flight; on SQLite, unless another process
        # sends from the same file: then stand by (answer patients while holding the polling
        # lease) and take sending over when that process exits
        standby: asyncio.Task[None] | None = None
        if await services.checkins.service.start(standby=True):
            await _start_alerts(services)
        else:
            log.warning("another `aftercare run` sends check-ins and staff cards from this "
                        "SQLite file; this one stands by (it answers patients while it holds "
                        "the polling lease) and takes sending over when that one exits")
            standby = asyncio.create_task(_take_over_sending(services), name="sending-standby")
        if services.ops.spool_replayer is not None:  # reports kept during a database outage
            services.ops.spool_replayer.launch()
        await app.start()
        assert app.updater is not None
        stack = contextlib.AsyncExitStack()
        if settings.webhook_url:
            await _start_webhook(app, settings, stack)
        else:  # long polling: the replica holding the lease polls (bot/telegram/polling/)
            from bot.telegram.polling.elected import elected_polling

            await stack.enter_async_context(elected_polling(
                app, settings, ALLOWED_UPDATES, on_leader_change, on_waiting))
        try:
            yield app
        finally:  # stop taking updates, finish or release check-ins in flight, then close
            if standby is not None:
                standby.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await standby
            await stack.aclose()
            if app.updater.running:
                await app.updater.stop()
            if services.ops.spool_replayer is not None:
                await services.ops.spool_replayer.stop()
            if services.checkins.alerts is not None:
                await services.checkins.alerts.stop(timeout=5.0)
            if services.checkins.service.dispatcher is not None:
                await services.checkins.service.dispatcher.shutdown(timeout=5.0)
            await app.stop()
            await services.patient.conversation.log.flush()
            services.checkins.service.close()  # let go of the single-dispatcher lock


async def _start_alerts(services: Services) -> None:
    """Cards owed (also from a previous run) go out."""
    if services.checkins.alerts is not None:
        await services.checkins.alerts.start()
        services.checkins.alerts.launch()


async def _take_over_sending(services: Services, every: float = 2.0) -> None:
    """SQLite standby: once the process that sends from this file exits (its OS lock goes
    with it), send check-ins and staff cards from here."""
    while True:
        await asyncio.sleep(every)
        try:
            if await services.checkins.service.start(standby=True):
                break
        except Exception as exc:  # noqa: BLE001 - the database may be away: try again
            log.warning("could not take sending over yet (%s)", type(exc).__name__)
    log.info("the process sending from this SQLite file exited: this one sends now")
    await _start_alerts(services)


async def _start_webhook(app: AnyApplication, settings: Settings,
                         stack: contextlib.AsyncExitStack) -> None:
    """Register the webhook (with the secret's fingerprint in the URL, so a new secret is
    registered on the first restart) and start our webhook server (bot/telegram/webhook.py),
    which judges a request by its headers before reading its body and confirms an update
    only once it is handled."""
    from bot.telegram.webhook import WebhookServer, registered_url
    from storage.advisory_locks import registration_lock

    assert settings.webhook_url is not None and settings.webhook_secret is not None
    secret = settings.webhook_secret.get_secret_value()
    server = WebhookServer(app, settings.webhook_path, secret)
    server.listen(settings.webhook_port, settings.webhook_listen)
    stack.push_async_callback(server.stop)
    async with registration_lock(settings.database_url, "webhook"):
        await app.bot.set_webhook(registered_url(settings.webhook_url, secret),
                                  secret_token=secret, allowed_updates=ALLOWED_UPDATES)
    log.info("webhook server listening on %s:%d", settings.webhook_listen,
             settings.webhook_port)


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Run the bot until SIGINT/SIGTERM (or `stop` is set): ``aftercare run``."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    from bot.ops.http import Metrics, operations
    from storage.advisory_locks import migration_lock

    advisor = load_advisor(settings)  # bad data files stop us before the database
    load_plan(settings, advisor.kb)  # quoting the knowledge base just loaded, not a second one
    if await with_retry("Telegram Bot API", lambda: check_bot_api(settings), bot_api_error,
                        stop) is None:
        return  # asked to stop while waiting

    async def open_database() -> Database:
        async with migration_lock(settings.database_url):
            return await Database.connect(settings.database_url)

    db = await with_retry("database", open_database, database_error, stop)
    if db is None:
        return
    try:
        metrics = Metrics(settings.hours())
        app = build_application(settings, db, advisor, observer=metrics)
        services = services_of(app)
        schedule_retention(app, settings.retention_days, services.ops.retention, services.clock)
        async with operations(services, metrics) as ready:
            count_updates(app, ready.on_update)
            async with running(app, settings, ready.on_leader_change, ready.waiting_updates):
                ready.authorised()  # initialize() called getMe
                log.info("bot @%s running", app.bot.username)
                await stop.wait()
                log.info("stopping")
    finally:
        await db.close()
