"""Wiring of the Telegram application: `build_application`, `running` and `serve`.

`build_application(settings, db, advisor)` builds the services (bot/compose.py, with the
Telegram client as the check-in sender) and returns a python-telegram-bot `Application`
talking to ``settings.bot_api_url`` (Telegram, a local Bot API server or the test fake),
whose handlers reach those services as a typed ``context.bot_data`` (bot/telegram/context.py),
with a rate limiter, the handlers of bot/telegram/handlers.py and staff_handlers.py, the
check-in jobs and a `post_init` that registers the command lists (patients: all private
chats; staff: the staff chat).

`running(app, settings)` starts it (long polling through `ConfirmingPoller`, which confirms an
update to Telegram only once it is handled; or, when AFTERCARE_WEBHOOK_URL is set, the webhook
server of bot/telegram/webhook.py, which refuses a request without the right
X-Telegram-Bot-Api-Secret-Token before reading its body and answers 200 only once the update is
handled) and stops it on exit. Several replicas starting at once do not each re-register the
webhook: `AftercareBot.set_webhook` (bot/telegram/bot_api.py) skips the call when
getWebhookInfo already shows this URL, and on PostgreSQL registration runs under an advisory
lock, so the first replica registers and the others see it done. `serve(settings)` is what
``aftercare run`` does: migrate the database, run until SIGINT/SIGTERM, shut down cleanly;
once it answers, the advisor is warmed up in a background thread (bot/warmup.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import signal
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import time as dt_time
from typing import Any

from telegram import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    Update,
)
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    ApplicationBuilder,
    ExtBot,
    TypeHandler,
)

from bot.compose import Observer, Services, build_services, load_advisor, load_plan
from bot.config import Settings
from bot.core.replies import Reply
from bot.datafiles import check_alert_topics, check_texts
from bot.ops.startup import Backoff, database_error, with_retry
from bot.telegram.alert_sender import TelegramAlertSender
from bot.telegram.bot_api import (
    AftercareBot,
    TelegramIdentity,
    bot_api_error,
    bot_api_request,
    check_bot_api,
    polling_request,
    quiet_http_logs,
)
from bot.telegram.context import AnyApplication, AppContext, context_types, services_of
from bot.telegram.delivery import deliver
from bot.telegram.handlers import ALLOWED_UPDATES, register_handlers
from bot.telegram.sender import TelegramSender
from bot.telegram.staff_handlers import register_staff_handlers
from bot.telegram.update_processor import PerUserUpdateProcessor
from bot.warmup import WarmUpWork, warm_for_patients, warm_in_background
from knowledge.advisor import Advisor
from knowledge.text import forget_texts
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


def build_application(settings: Settings, db: Database, advisor: Advisor | None = None,
                      clock: Clock = utcnow, observer: Observer | None = None,
                      alerts_monotonic: Callable[[], float] = time.monotonic) -> AnyApplication:
    """The configured Application (not started). Needs a bot token in `settings`; `advisor`
    may be given already loaded (default: loaded from the settings' knowledge base);
    `observer` (the ops metrics) hears every answer and check-in send; `alerts_monotonic`
    paces the alert sender's 429 pause (build_services)."""
    if not settings.token:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    quiet_http_logs()
    limiter = (AIORateLimiter(overall_max_rate=settings.max_sends_per_second, max_retries=2)
               if settings.max_sends_per_second else None)
    bot = AftercareBot(  # what ApplicationBuilder would build, with our set_webhook
        settings.token, base_url=settings.bot_api_url, base_file_url=settings.base_file_url,
        request=bot_api_request(256),
        get_updates_request=polling_request(settings.polling_read_timeout_seconds),
        rate_limiter=limiter)
    cards = (TelegramAlertSender(bot, settings.alert_read_timeout_seconds)
             if settings.staff_chat_id is not None else None)  # no staff chat: no cards
    services = build_services(settings, db, TelegramSender(bot), clock, advisor=advisor,
                              alert_sender=cards,
                              identity=TelegramIdentity(bot, settings.bot_username),
                              observer=observer, alerts_monotonic=alerts_monotonic)
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
    schedule_forgetting(app, services)
    register_staff_handlers(app, services)  # report cards, staff buttons and commands
    return app


def _with_spool(services: Services, bot: ExtBot[Any]) -> Services:
    """The replayer of the spool bot/compose.py built (which sends what a replayed update
    produces through `bot`), added to `services` (bot/telegram/spooling.py)."""
    import dataclasses

    from bot.telegram.spooling import build_replayer

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

    replayer = build_replayer(services.settings, services.ops.spool, services.stores.reports,
                              services.checkins.service, services.checkins.alert_bell,
                              conversation=services.patient.conversation,
                              desk=services.desk.patients, deliver=to_chat)
    return dataclasses.replace(services, ops=dataclasses.replace(
        services.ops, spool_replayer=replayer))


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


def schedule_forgetting(app: AnyApplication, services: Services) -> None:
    """On the check-in dispatcher's clock (every AFTERCARE_CHECKIN_TICK_SECONDS, 5 s by
    default), read the count of erasures and, when another replica erased someone, empty this
    process's caches of patients' words (bot/core/forgetting.py): a replica that handles no
    update forgets within one tick."""
    if app.job_queue is None:
        return
    forgetting = services.patient.conversation.forgetting

    async def check(_context: AppContext) -> None:
        await forgetting.tick()

    app.job_queue.run_repeating(check, interval=services.settings.checkin_tick_seconds,
                                first=services.settings.checkin_tick_seconds,
                                name="forget-erased",
                                job_kwargs={"max_instances": 1, "coalesce": True,
                                            "misfire_grace_time": None})


def schedule_retention(app: AnyApplication, days: int | None, retention: Retention,
                       clock: Clock = utcnow) -> None:
    """Run `retention` (storage/retention.py) a minute after start and then daily."""
    if not days or app.job_queue is None:
        return

    async def purge(_context: AppContext) -> None:
        await retention.purge(days, clock())
        forget_texts()  # nor do the words of deleted messages stay in the advisor's caches

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
            # looked at every 2 s, or every check-in tick when the dispatcher ticks faster
            every = min(2.0, settings.checkin_tick_seconds)
            standby = asyncio.create_task(_take_over_sending(services, every),
                                          name="sending-standby")
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


async def serve(settings: Settings, stop: asyncio.Event | None = None,
                warm_up: WarmUpWork = warm_for_patients) -> None:
    """Run the bot until SIGINT/SIGTERM (or `stop` is set): ``aftercare run``. Once it polls
    (or its webhook listens) and getMe succeeded, `warm_up` runs on the advisor in a
    background thread (bot/warmup.py): the bot is ready before it, and answers meanwhile."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    from bot.ops.http import Metrics, operations
    from storage.advisory_locks import migration_lock

    advisor = load_advisor(settings)  # bad data files stop us before the database
    load_plan(settings, advisor.kb)  # quoting the knowledge base just loaded, not a second one
    check_alert_topics(settings, advisor)  # the red flags' topics name its signs and entries
    check_texts(settings)  # and every text file, read whole now rather than at its first use
    backoff = Backoff(first=settings.startup_backoff_seconds)
    if await with_retry("Telegram Bot API", lambda: check_bot_api(settings), bot_api_error,
                        stop, backoff=backoff) is None:
        return  # asked to stop while waiting

    async def open_database() -> Database:
        async with migration_lock(settings.database_url):
            return await Database.connect(settings.database_url)

    db = await with_retry("database", open_database, database_error, stop, backoff=backoff)
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
                if settings.warm_up:
                    warm_in_background(advisor, warm_up)  # nothing waits for it
                await stop.wait()
                log.info("stopping")
    finally:
        await db.close()
