"""The clinic desk on the web: the Starlette application, sign-in and the queue.

`create_app(services)` returns the ASGI app `aftercare desk` serves (bot/web/serve.py). Pages
are rendered on the server from bot/web/templates (Jinja2, autoescaped, so a patient's words
are always shown as text); static files come from bot/web/static in the package, nothing from
another site. The queue refreshes itself every few seconds (a small script asks for
``/queue/rows``), so a report handled in Telegram shows as handled here without a reload.

Staff actions (Take, Reply, Resolve, Reopen, Pause) go through `WebActions.web_action`
(bot/core/desk/web.py), the same checks, transitions and audit as the Telegram buttons; what
they say to the patient or the staff chat goes into the desk outbox for the bot to send.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.core.outbox import to_items
from bot.web.auth import (
    CSRF_FIELD,
    LoginRefused,
    check_login,
    cookie_secret,
    csrf_ok,
    sign_login,
)
from bot.web.common import (
    StaffUser,
    back,
    flash,
    form_action,
    page,
    refused,
    services,
    staff_page,
)
from bot.web.services import DeskServices
from storage.desk_views import QueueItem
from storage.models import ReportAction, ReportStatus

log = logging.getLogger(__name__)
STATIC = Path(__file__).with_name("static")
SESSION_HOURS = 12
QUEUE_REFRESH_SECONDS = 5


# --- sign-in ----------------------------------------------------------------------------------
async def login_page(request: Request) -> Response:
    """The sign-in page: the Telegram Login Widget (or, in the demo, a demo sign-in)."""
    desk = services(request)
    return page(request, "login.html", bot_username=desk.settings.bot_username,
                demo_staff=desk.demo_staff, error=request.query_params.get("error"))


async def telegram_auth(request: Request) -> Response:
    """Where the Login Widget sends the user (``data-auth-url``): verify, then sign in."""
    desk = services(request)
    fields = {k: v for k, v in request.query_params.items()}
    if not desk.login_token:
        return refused(request, desk.text("refused.no_token"), 503)
    now = desk.now()
    try:
        login = check_login(fields, desk.login_token, now)
    except LoginRefused as exc:
        log.warning("desk sign-in refused: %s", exc.reason)
        return refused(request, exc.reason)
    if not desk.settings.is_staff(login.telegram_id):
        log.warning("desk sign-in by %d refused: not staff", login.telegram_id)
        await desk.desk.store.record(None, login.telegram_id, ReportAction.REFUSED,
                                     note="sign in to the web desk", now=now)
        return refused(request, desk.text("refused.not_staff", telegram_id=login.telegram_id))
    if not await desk.logins.use(login.hash, login.telegram_id, now,
                                 login.auth_date + dt.timedelta(days=2)):
        log.warning("desk sign-in by %d refused: payload used before", login.telegram_id)
        return refused(request, desk.text("refused.replayed"))
    await desk.logins.purge(now)  # payloads too old to be accepted anyway
    request.session.clear()
    request.session.update({"uid": login.telegram_id, "name": login.first_name[:64],
                            "at": now.isoformat()})
    desk.desk.kit.seen(login.telegram_id, login.first_name)
    log.info("staff %d signed in to the web desk", login.telegram_id)
    return RedirectResponse("/queue", status_code=303)


async def demo_login(request: Request) -> Response:
    """Demo only: a correctly signed Login Widget payload for the demo staff member, sent
    through the real verification (``/auth/telegram``)."""
    desk = services(request)
    if not desk.demo or desk.demo_staff is None or not desk.login_token:
        return Response(status_code=404)
    form = await request.form()
    if not csrf_ok(request.session.get("csrf"), form.get(CSRF_FIELD)):
        return refused(request, desk.text("refused.csrf"))
    uid, name = desk.demo_staff
    fields = sign_login(desk.login_token, uid, name, desk.now())
    return RedirectResponse("/auth/telegram?" + urlencode(fields), status_code=303)


async def logout(request: Request) -> Response:
    """Sign out (POST with the CSRF token; also for someone no longer on the staff list)."""
    form = await request.form()
    if not csrf_ok(request.session.get("csrf"), form.get(CSRF_FIELD)):
        return refused(request, services(request).text("refused.csrf"))
    request.session.clear()
    flash(request, services(request).text("notice.signed_out"))
    return RedirectResponse("/login", status_code=303)


async def home(request: Request) -> Response:
    """/ -> the queue."""
    return RedirectResponse("/queue", status_code=303)


# --- queue ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QueueRow:
    """What one queue line shows."""

    item: QueueItem
    label: str
    waited: str
    deadline: str | None  # when the card is re-posted if nobody takes it
    overdue: bool
    taken_by: str | None
    thread: list[tuple[str, str, str]]  # (who, when, words)


def queue_rows(desk: DeskServices, items: list[QueueItem]) -> list[QueueRow]:
    """Queue lines with waits and re-post deadlines worked out."""
    now = desk.now()
    thresholds = desk.desk.escalation.thresholds()
    tz = desk.settings.tz
    rows = []
    for item in items:
        report = item.report
        deadline, overdue = None, False
        if report.status == ReportStatus.OPEN.value and report.urgency in thresholds:
            due = (item.last_card_at or report.created_at) + thresholds[report.urgency]
            deadline = due.astimezone(tz).strftime("%H:%M")
            overdue = due <= now
        thread = []
        for action in item.trail:
            if action.action == ReportAction.PATIENT.value and action.note:
                thread.append(("patient", _when(action.created_at, tz), action.note))
            elif action.action == ReportAction.REPLIED.value and action.note:
                thread.append((desk.desk.kit.staff_name(action.actor_telegram_id),
                               _when(action.created_at, tz), action.note))
        kit = desk.desk.kit
        rows.append(QueueRow(item, kit.label(report), kit.age(now - report.created_at),
                             deadline, overdue, kit.staff_name(report.taken_by)
                             if report.taken_by else None, thread))
    return rows


def _when(moment: dt.datetime, tz: dt.tzinfo) -> str:
    return moment.astimezone(tz).strftime("%d %b %H:%M")


@staff_page
async def queue(request: Request, user: StaffUser) -> Response:
    """The queue page."""
    desk = services(request)
    rows = queue_rows(desk, await desk.views.queue())
    return page(request, "queue.html", rows=rows, refresh=QUEUE_REFRESH_SECONDS,
                warnings=await desk.desk.views.unreachable_lines(plain=True))


@staff_page
async def queue_fragment(request: Request, user: StaffUser) -> Response:
    """Just the queue's rows (the page's refresh script swaps them in)."""
    desk = services(request)
    rows = queue_rows(desk, await desk.views.queue())
    return page(request, "_queue_rows.html", rows=rows,
                warnings=await desk.desk.views.unreachable_lines(plain=True))


@form_action
async def report_action(request: Request, user: StaffUser, form: FormData) -> Response:
    """Take / Reply / Resolve / Reopen / Pause a report (through the staff desk)."""
    desk = services(request)
    report_id = int(request.path_params["report_id"])
    action = str(request.path_params["action"])
    report = await desk.desk.store.get(report_id)
    claimed = str(form.get("patient_id", ""))
    if report is not None and claimed != str(report.patient_id):
        log.warning("staff %d: form for report %d names patient %r", user.telegram_id,
                    report_id, claimed[:20])
        await desk.desk.store.record(report_id, user.telegram_id, ReportAction.REFUSED,
                                     note=f"web {action}: form named another patient",
                                     now=desk.now())
        return refused(request, desk.text("refused.wrong_patient"), 400)
    text = str(form.get("text", ""))[:4000]
    if action == "reply" and not text.strip():
        flash(request, desk.text("notice.text_needed"), "error")
        return back(request, form, "/queue")
    if action == "resolve" and not text.strip():
        flash(request, desk.text("notice.note_needed"), "error")
        return back(request, form, "/queue")
    outcome = await desk.desk.web.web_action(user.telegram_id, user.first_name, action, report_id,
                                         text)
    if outcome.replies:
        await desk.outbox.put(to_items(outcome.replies, report_id), desk.now())
    if outcome.ok and report is not None:
        desk.figures.forget(report.created_at)  # its time to first staff action may change
    note = outcome.feedback
    if outcome.ok and any(r.to_chat != desk.settings.staff_chat_id for r in outcome.replies):
        note += " " + desk.text("notice.demo_queued" if desk.demo else "notice.queued")
    flash(request, note, "ok" if outcome.ok else "error")
    return back(request, form, "/queue")


# Pages come from here only; the sign-in page may load Telegram's Login Widget, which opens
# its frame from oauth.telegram.org. No other site, no inline script, no framing of the desk.
CSP = ("default-src 'self'; script-src 'self' https://telegram.org; "
       "frame-src https://oauth.telegram.org; img-src 'self' data: https://telegram.org; "
       "style-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
       "form-action 'self'")
HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
           (b"referrer-policy", b"same-origin"), (b"x-frame-options", b"DENY")]


class SecurityHeaders:
    """Adds the headers above to every response (plain ASGI middleware)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], *HEADERS]
            await send(message)

        await self.app(scope, receive, sending)


def routes() -> list[Route | Mount]:
    """Every route of the desk."""
    from bot.web import figures, gaps, patients, photos

    return [
        Route("/", home),
        Route("/login", login_page),
        Route("/auth/telegram", telegram_auth),
        Route("/auth/demo", demo_login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/queue", queue),
        Route("/queue/rows", queue_fragment),
        Route("/reports/{report_id:int}/{action:str}", report_action, methods=["POST"]),
        *patients.routes(),
        *gaps.routes(),
        *figures.routes(),
        *photos.routes(),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]


def freeze_heap() -> None:
    """Once everything is loaded (knowledge base, language data, templates): collect, then
    move every live object into the permanent generation (`gc.freeze`), so the collector's
    full passes no longer walk them. The loaded data make a full pass take 100-200 ms, and
    one fell inside a request every few dozen (the uncached figures page's p95 was such a
    pause, benchmarks/desk.py); objects made later are collected as usual."""
    gc.collect()
    gc.freeze()


def create_app(desk: DeskServices) -> Starlette:
    """The ASGI application over `desk`."""
    secret = cookie_secret(desk.settings.desk_secret.get_secret_value()
                           if desk.settings.desk_secret else None, desk.login_token)
    secure = bool(desk.settings.desk_url and desk.settings.desk_url.startswith("https://"))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield

    app = Starlette(routes=routes(), lifespan=lifespan, middleware=[
        Middleware(SecurityHeaders),
        Middleware(SessionMiddleware, secret_key=secret, session_cookie="aftercare_desk",
                   max_age=SESSION_HOURS * 3600, same_site="lax", https_only=secure)])
    app.state.services = desk
    return app
