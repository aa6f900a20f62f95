"""Operations endpoints on AFTERCARE_HTTP_PORT (default 8080; 0 turns them off).

* ``GET /healthz`` — 200 while the process runs (the Docker HEALTHCHECK);
* ``GET /readyz``  — 200 when the database answers, its migrations are at this code's head,
  and Telegram accepted the token (getMe); 503 with the failing checks otherwise;
* ``GET /metrics`` — Prometheus text format (`prometheus_client`): updates handled, replies
  by outcome, check-ins by status and due, check-in sends by result and their latency, 429s,
  open reports by urgency, age of the oldest open report, whether this replica polls, and
  the time to first staff action (last 30 days; median and 90th percentile, by the wall
  clock and in opening time).
  It needs ``Authorization: Bearer <AFTERCARE_METRICS_TOKEN>``; without a token configured it
  answers only clients on this machine (loopback), so it is never open to the network
  unauthenticated. The database figures are read at most once per `METRICS_TTL` seconds
  (by the injected clock), however often it is scraped.

The server is a tiny asyncio HTTP/1.0 responder: three GET routes need no web framework. A
request line or header over 64 KiB (or more than `MAX_HEADERS` headers) gets 414/431 and the
connection is closed, with one log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hmac
import ipaddress
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import InitVar, dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from bot.compose import Services
from bot.core.ports import Spool
from bot.core.response_times import WINDOW, first_action_times, summarise
from scheduler.clinic_hours import OpeningHours
from storage.clock import Clock, utcnow
from storage.figures import OpsFigures
from storage.health import DatabaseProbe
from storage.models import CheckinStatus
from storage.revision import HEAD

log = logging.getLogger(__name__)
OUTCOMES = ("answered", "suggested", "abstained", "escalated", "smalltalk", "foreign")
METRICS_TTL = dt.timedelta(seconds=5)  # database figures are re-read at most this often
MAX_HEADERS = 100
REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
           404: "Not Found", 405: "Method Not Allowed", 414: "URI Too Long",
           431: "Request Header Fields Too Large", 503: "Service Unavailable"}


class Metrics:
    """The bot's Prometheus metrics in their own registry."""

    def __init__(self, hours: OpeningHours | None = None) -> None:
        self.hours = hours  # the clinic's opening hours: time to first action in open time
        self.registry = CollectorRegistry()
        r = self.registry
        self.updates = Counter("aftercare_updates_handled", "Telegram updates handled", registry=r)
        self.replies = Counter("aftercare_replies", "Replies to patient questions by outcome",
                               ["outcome"], registry=r)
        self.sends = Counter("aftercare_checkin_sends", "Check-in send attempts by result",
                             ["result"], registry=r)
        self.send_seconds = Histogram(
            "aftercare_checkin_send_seconds", "Time for Telegram to accept a check-in",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=r)
        self.rate_limited = Counter("aftercare_telegram_rate_limited",
                                    "429 Too Many Requests answers to check-in sends", registry=r)
        self.checkins = Gauge("aftercare_checkins", "Check-in rows by status", ["status"],
                              registry=r)
        self.checkins_due = Gauge("aftercare_checkins_due",
                                  "Pending check-ins whose time has come", registry=r)
        self.open_reports = Gauge("aftercare_open_reports", "Unresolved reports by urgency",
                                  ["urgency"], registry=r)
        self.oldest_report = Gauge("aftercare_oldest_open_report_age_seconds",
                                   "Age of the oldest unresolved report (0: none)", registry=r)
        self.alerts_owed = Gauge("aftercare_alerts_owed",
                                 "Staff-chat alerts (cards, re-posts, edits) not yet delivered",
                                 registry=r)
        self.first_action = Gauge(
            "aftercare_first_action_seconds",
            "Time to first staff action over the reports of the last 30 days, by the wall "
            "clock and in opening time (clock), median and 90th percentile (quantile)",
            ["clock", "quantile"], registry=r)
        self.first_action_reports = Gauge(
            "aftercare_first_action_reports",
            "Reports of the last 30 days a staff member has acted on", registry=r)
        self.polling_leader = Gauge("aftercare_polling_leader",
                                    "1 while this replica polls Telegram", registry=r)
        for outcome in OUTCOMES:
            self.replies.labels(outcome)
        for status in CheckinStatus:
            self.checkins.labels(status.value)

    def render(self) -> bytes:
        """The exposition text."""
        return generate_latest(self.registry)

    async def refresh(self, figures: OpsFigures, now: dt.datetime) -> None:
        """Re-read the database-backed gauges (check-ins, reports, alerts, first actions)."""
        read = await figures.read(now, now - WINDOW)
        for status in CheckinStatus:
            self.checkins.labels(status.value).set(read.checkins.get(status.value, 0))
        self.checkins_due.set(read.checkins_due)
        for urgency in ("emergency", "urgent", "none"):
            self.open_reports.labels(urgency).set(read.open_reports.get(urgency, 0))
        oldest = read.oldest_open
        self.oldest_report.set(max(0.0, (now - oldest).total_seconds()) if oldest else 0)
        self.alerts_owed.set(read.alerts_owed)
        pairs = read.first_actions
        summary = summarise(first_action_times(((raised, [("taken", first)])
                                                for raised, first in pairs), self.hours))
        self.first_action_reports.set(summary.count)
        for clock, quantile, value in (("wall", "0.5", summary.wall_median),
                                       ("wall", "0.9", summary.wall_p90),
                                       ("open", "0.5", summary.open_median),
                                       ("open", "0.9", summary.open_p90)):
            if value is not None:
                self.first_action.labels(clock, quantile).set(value.total_seconds())
            elif clock == "wall" or self.hours is not None:
                self.first_action.labels(clock, quantile).set(0)

    # --- observers: bot/compose.py hands these to the decorators it builds -----------------
    def advice_given(self, kind: str) -> None:
        """Count an answer by outcome (bot.core.advisors `ObservedAdvisor`)."""
        self.replies.labels(kind).inc()

    def send_result(self, result: str, seconds: float | None = None) -> None:
        """Count a check-in send by result, and time it (scheduler.dispatcher
        `ObservedSender`)."""
        if result == "rate_limited":
            self.rate_limited.inc()
        self.sends.labels(result).inc()
        if seconds is not None:
            self.send_seconds.observe(seconds)


@dataclass
class Readiness:
    """What /readyz checks: the database answers through `database` (storage/health.py, built
    by bot/compose.py) and is at this code's migration `head`. The bot is authorised once getMe
    succeeded: its owner says so by calling `authorised` (bot/telegram/app.py;
    `bot_authorised=True` when it is already known). `on_leader_change` (given to
    `bot.telegram.app.running`) shows polling leadership in the metrics, and `on_update`
    counts the updates handled (called by a Telegram handler)."""

    database: DatabaseProbe
    bot_authorised: InitVar[bool] = False
    head: str = HEAD
    on_leader_change: Callable[[bool], None] | None = None
    on_update: Callable[[], None] | None = None
    spool: Spool | None = None  # reports waiting for the database
    unhandled: int = 0  # polled updates not handled yet (database unavailable), unconfirmed
    _authorised: bool = field(default=False, init=False, repr=False)

    def __post_init__(self, bot_authorised: bool) -> None:
        self._authorised = bot_authorised

    def authorised(self) -> None:
        """The bot's token was accepted (getMe succeeded)."""
        self._authorised = True

    def waiting_updates(self, count: int) -> None:
        """The poller's count of updates waiting to be handled again (not ready while any)."""
        self.unhandled = count

    async def problems(self) -> list[str]:
        """Failed checks (empty: ready)."""
        problems = []
        try:
            async with asyncio.timeout(3):
                current = await self.database.revision()
            if current != self.head:
                problems.append(f"database at migration {current}, code expects {self.head}")
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            problems.append(f"database unreachable ({type(exc).__name__})")
        if not self._authorised:
            problems.append("bot not authorised with Telegram yet (getMe)")
        if self.spool is not None and len(self.spool):
            problems.append(f"{len(self.spool)} spooled entr(ies) from a database outage (reports, "
                            "answers, commands) not stored yet")
        if self.unhandled:
            problems.append(f"{self.unhandled} update(s) not handled yet (database "
                            "unavailable); not confirmed to Telegram")
        return problems


Answer = tuple[int, str, bytes]
Route = Callable[[], Awaitable[Answer]]


class RequestTooLarge(Exception):
    """A request line or header block over the reader's limit."""

    def __init__(self, status: int, what: str) -> None:
        super().__init__(what)
        self.status = status
        self.what = what


def is_loopback(peer: object) -> bool:
    """True for a client on this machine (127.0.0.0/8, ::1, a Unix socket)."""
    if not isinstance(peer, tuple) or not peer:
        return True  # a Unix socket
    try:
        return ipaddress.ip_address(str(peer[0]).split("%")[0]).is_loopback
    except ValueError:
        return False


class OpsServer:
    """/healthz, /readyz and /metrics on a small asyncio HTTP server."""

    def __init__(self, metrics: Metrics, readiness: Readiness, figures: OpsFigures,
                 clock: Clock = utcnow,
                 metrics_token: str | None = None) -> None:
        self.metrics = metrics
        self.readiness = readiness
        self.figures = figures  # the database figures (bot/ops/figures.py)
        self.clock = clock
        self.metrics_token = metrics_token
        self.port = 0
        self._server: asyncio.Server | None = None
        self._refreshed: dt.datetime | None = None
        self._refresh_lock = asyncio.Lock()
        self.routes: dict[str, Route] = {"/healthz": self.healthz, "/readyz": self.readyz,
                                         "/metrics": self.render_metrics}

    async def start(self, host: str, port: int) -> int:
        """Listen; returns the bound port (`port` 0 picks a free one)."""
        self._server = await asyncio.start_server(self._serve, host, port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        log.info("ops endpoints on http://%s:%d (/healthz /readyz /metrics, the last %s)", host,
                 self.port, "with its bearer token" if self.metrics_token
                 else "for this machine only (no AFTERCARE_METRICS_TOKEN)")
        return self.port

    async def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None

    async def healthz(self) -> Answer:
        return 200, "text/plain", b"ok\n"

    async def readyz(self) -> Answer:
        problems = await self.readiness.problems()
        if problems:
            return 503, "text/plain", ("\n".join(problems) + "\n").encode()
        return 200, "text/plain", b"ready\n"

    async def render_metrics(self) -> Answer:
        async with self._refresh_lock:  # concurrent scrapes share one refresh
            now = self.clock()
            if self._refreshed is None or not (
                    dt.timedelta(0) <= now - self._refreshed < METRICS_TTL):
                try:
                    await self.metrics.refresh(self.figures, now)
                    self._refreshed = now
                except Exception as exc:  # noqa: BLE001 - the counters are still worth showing
                    log.warning("metrics: database figures unavailable (%s)",
                                type(exc).__name__)
        return 200, CONTENT_TYPE_LATEST, self.metrics.render()

    def _allowed(self, path: str, headers: dict[str, str], peer: object) -> Answer | None:
        """None when the request may see `path`; otherwise the refusal."""
        if path != "/metrics":
            return None
        if self.metrics_token is None:
            if is_loopback(peer):
                return None
            return 403, "text/plain", (b"/metrics is served to this machine only; set "
                                       b"AFTERCARE_METRICS_TOKEN to scrape it from elsewhere\n")
        scheme, _, given = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
                given.strip().encode("utf-8", "replace"), self.metrics_token.encode()):
            return None
        return 401, "text/plain", b"a bearer token is needed\n"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        extra = ""
        try:
            async with asyncio.timeout(10):
                try:
                    request, headers = await self._read_head(reader)
                except RequestTooLarge as exc:
                    log.warning("ops endpoints: refused a request from %s: %s (%d)",
                                peer[0] if isinstance(peer, tuple) else "local", exc.what,
                                exc.status)
                    status, ctype, body = exc.status, "text/plain", (exc.what + "\n").encode()
                else:
                    status, ctype, body = await self._route(request, headers, peer)
                    if status == 401:
                        extra = 'WWW-Authenticate: Bearer realm="aftercare"\r\n'
            writer.write(f"HTTP/1.0 {status} {REASONS.get(status, '')}\r\n"
                         f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n{extra}"
                         "Connection: close\r\n\r\n".encode() + body)
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    @staticmethod
    async def _read_head(reader: asyncio.StreamReader) -> tuple[bytes, dict[str, str]]:
        """The request line and the headers (names lower-cased)."""
        try:
            request = await reader.readline()
        except ValueError:  # asyncio's LimitOverrunError: over the 64 KiB line limit
            raise RequestTooLarge(414, "request line over 64 KiB") from None
        headers: dict[str, str] = {}
        for _ in range(MAX_HEADERS + 1):
            try:
                line = await reader.readline()
            except ValueError:
                raise RequestTooLarge(431, "header line over 64 KiB") from None
            if line in (b"\r\n", b"\n", b""):
                return request, headers
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        raise RequestTooLarge(431, f"more than {MAX_HEADERS} headers")

    async def _route(self, request_line: bytes, headers: dict[str, str] | None = None,
                     peer: object = None) -> Answer:
        parts = request_line.decode("latin-1").split()
        if len(parts) < 2:
            return 400, "text/plain", b"bad request\n"
        method, path = parts[0], parts[1].split("?", 1)[0]
        route = self.routes.get(path)
        if route is None:
            return 404, "text/plain", b"not found\n"
        if method not in ("GET", "HEAD"):
            return 405, "text/plain", b"GET only\n"
        refused = self._allowed(path, headers or {}, peer)
        if refused is not None:
            return refused
        return await route()


@contextlib.asynccontextmanager
async def operations(services: Services, metrics: Metrics) -> AsyncIterator[Readiness]:
    """The HTTP endpoints (unless port 0) serving `metrics` (which bot/compose.py already made
    observe the advisor and the check-in sender) and the readiness of the bot `services`
    belong to. The Telegram side counts updates through the readiness' `on_update` and
    schedules the daily retention job (bot/telegram/app.py)."""
    settings, clock = services.settings, services.clock
    readiness = Readiness(services.ops.probe,
                          on_leader_change=lambda leader: metrics.polling_leader.set(int(leader)),
                          on_update=metrics.updates.inc, spool=services.ops.spool)
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    server = OpsServer(metrics, readiness, services.ops.figures, clock,
                      metrics_token=token)
    if settings.http_port:
        await server.start(settings.http_listen, settings.http_port)
    try:
        yield readiness
    finally:
        await server.stop()

