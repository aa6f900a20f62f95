"""The webhook server: Telegram POSTs updates here when AFTERCARE_WEBHOOK_URL is set.

Replaces python-telegram-bot's own webhook server for two reasons:

* **A request is judged by its headers before its body is read.** PTB's server (tornado)
  buffers the whole body, up to 100 MB, before it looks at the secret: four unauthenticated
  90 MB POSTs took the process to 786 MB. Here the handler streams
  (`tornado.web.stream_request_body`), and `prepare` runs on the headers alone: a missing or
  wrong ``X-Telegram-Bot-Api-Secret-Token`` gets 403, a declared body over
  `MAX_UPDATE_BYTES` gets 413, and the connection is closed without reading the body. A
  chunked body is cut off at the same size.
* **An update is confirmed only once it is handled (or spooled).** PTB answers 200 as soon as
  the update is queued, so an update in flight when the process dies, or one the database
  could not take, was lost. Here the update is handled inside the request, through the
  application's per-user processor, and the answer is 200 only afterwards; when handling
  could not finish because the database was unavailable and nothing was spooled
  (`not_handled()`, called by the error handler; bot/telegram/handling.py), the answer is
  503 and Telegram delivers the update again later.

`registered_url` is the URL given to setWebhook: the configured one with a short fingerprint
of the secret as a query parameter, so a rotated AFTERCARE_WEBHOOK_SECRET changes the
registration and one restart re-registers it (getWebhookInfo never shows the secret).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import tornado.web
from telegram import Update
from tornado.httpserver import HTTPServer
from tornado.iostream import StreamClosedError

from bot.telegram.context import AnyApplication
from bot.telegram.handling import handling

log = logging.getLogger(__name__)

MAX_UPDATE_BYTES = 1024 * 1024  # an update is a few KB; Telegram's largest are far below this
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
FINGERPRINT_PARAM = "aftercare"


def fingerprint(secret: str) -> str:
    """A short, one-way fingerprint of the webhook secret (never the secret itself)."""
    return hashlib.sha256(f"aftercare-webhook:{secret}".encode()).hexdigest()[:12]


def registered_url(url: str, secret: str) -> str:
    """`url` with the secret's fingerprint as a query parameter: what setWebhook is given."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k != FINGERPRINT_PARAM]
    query.append((FINGERPRINT_PARAM, fingerprint(secret)))
    return urlunsplit(parts._replace(query=urlencode(query)))


@tornado.web.stream_request_body
class UpdateHandler(tornado.web.RequestHandler):
    """POST /<path>: one update, judged by its headers first, answered once handled."""

    SUPPORTED_METHODS = ("POST",)

    def initialize(self, app: AnyApplication, secret: str,
                   in_flight: set[int]) -> None:  # tornado's per-request set-up
        self.app = app
        self.secret = secret
        self.in_flight = in_flight
        self.chunks: list[bytes] = []
        self.size = 0

    def prepare(self) -> None:
        """Headers only (the body is not read yet): refuse early, closing the connection."""
        given = self.request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode("utf-8", "replace"), self.secret.encode()):
            self._refuse(403, "without the right secret token")
            return
        declared = self.request.headers.get("Content-Length")
        if declared is not None and (not declared.isascii() or not declared.isdigit()
                                     or int(declared) > MAX_UPDATE_BYTES):
            self._refuse(413, f"declaring a body over {MAX_UPDATE_BYTES} bytes")
            return
        content_type = self.request.headers.get("Content-Type", "").split(";")[0].strip()
        if content_type != "application/json":
            self._refuse(415, "that is not JSON")
            return
        # a chunked body is cut off (connection closed) once it exceeds the limit
        connection = self.request.connection
        if connection is not None and hasattr(connection, "set_max_body_size"):
            connection.set_max_body_size(MAX_UPDATE_BYTES)

    def _refuse(self, status: int, why: str) -> None:
        log.warning("webhook: refused a request from %s %s (%d)", self.request.remote_ip,
                    why, status)
        self.set_status(status)
        self.set_header("Connection", "close")
        self.finish()

    def data_received(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size <= MAX_UPDATE_BYTES:
            self.chunks.append(chunk)

    async def post(self) -> None:
        if self.size > MAX_UPDATE_BYTES:
            self._refuse(413, f"with a body over {MAX_UPDATE_BYTES} bytes")
            return
        try:
            update = Update.de_json(json.loads(b"".join(self.chunks)), self.app.bot)
        except Exception as exc:  # noqa: BLE001 - anything unreadable is a bad request
            log.warning("webhook: an unreadable update (%s)", type(exc).__name__)
            self.set_status(400)
            self.finish()
            return
        self.chunks = []
        self.in_flight.add(update.update_id)
        try:
            with handling() as state:
                await self.app.update_processor.process_update(
                    update, self.app.process_update(update))
        finally:
            self.in_flight.discard(update.update_id)
        if not state.complete:
            log.warning("webhook: update %d not handled (database unavailable); Telegram "
                        "will deliver it again", update.update_id)
            self.set_status(503)
        else:
            self.set_status(200)
        with contextlib.suppress(StreamClosedError):  # the server is stopping
            self.finish()

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.finish()  # no body, no traceback

    def log_exception(self, typ: type[BaseException] | None, value: BaseException | None,
                      tb: TracebackType | None) -> None:
        if isinstance(value, tornado.web.HTTPError):
            return
        log.error("webhook: request failed (%s)", typ.__name__ if typ else "?")


class _Quiet(tornado.web.Application):
    def log_request(self, handler: tornado.web.RequestHandler) -> None:
        """No access log (requests are logged only when refused)."""


class WebhookServer:
    """The HTTP server for `app`'s updates at `path` (see the module docstring)."""

    def __init__(self, app: AnyApplication, path: str, secret: str) -> None:
        self.in_flight: set[int] = set()  # update ids being handled
        routes = [(rf"/{path.strip('/')}/?", UpdateHandler,
                   {"app": app, "secret": secret, "in_flight": self.in_flight})]
        # a body's size is judged per request (`prepare`); this only bounds what tornado
        # would accept before the handler has seen the headers
        self._http = HTTPServer(_Quiet(routes), max_body_size=1 << 40, idle_connection_timeout=75,
                                body_timeout=30)

    def listen(self, port: int, address: str) -> None:
        """Start accepting connections."""
        self._http.listen(port, address=address)

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, let updates being handled finish (up to `timeout` seconds), then
        close every connection (an update still in hand gets no answer, so Telegram sends
        it again)."""
        self._http.stop()
        deadline = asyncio.get_running_loop().time() + timeout
        while self.in_flight and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        await self._http.close_all_connections()
