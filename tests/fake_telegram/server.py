"""A local fake of the Telegram Bot API HTTP server for tests and benchmarks.

:class:`FakeTelegram` listens on 127.0.0.1, answers ``POST /bot<token>/<method>`` like
api.telegram.org, validates every request against the Bot API description in api.json
(unknown methods/parameters, missing or mistyped parameters, bad HTML, oversized
callback_data are answered with Telegram's errors and recorded in ``violations``),
records all calls, lets tests inject incoming updates, script failures (429/403/400/500,
delays), block chats and enforce flood limits.  The same server exposes a small JSON
control API under ``/_control/`` so a bot running in another process can be driven.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import aiohttp
from aiohttp import web

from tests.fake_telegram.control import add_control_routes
from tests.fake_telegram.faults import FaultRule, RateLimiter, error_body, is_send_method
from tests.fake_telegram.handlers import ApiError, ApiHandlers
from tests.fake_telegram.semantics import check_semantics
from tests.fake_telegram.spec import (
    ParamError,
    UploadedFile,
    method_fields,
    resolve_method,
    validate_params,
)
from tests.fake_telegram.state import TelegramState
from tests.fake_telegram.updates import UpdateHelpers

logger = logging.getLogger(__name__)

# an optional /as/<client> before /bot names the client in the records (``base_url``
# f"{root}/as/replica1/bot" tells several bots on one fake apart)
_API_PATH = re.compile(r"^(?:/as/(?P<client>[\w-]+))?/bot(?P<token>[^/]*)/(?P<method>[^/]+)/?$")
_FILE_PATH = re.compile(r"^(?:/as/[\w-]+)?/file/bot(?P<token>[^/]*)/(?P<path>.+)$")
_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]{5,}$")
MESSAGE_METHODS = ("sendMessage", "sendPhoto", "sendDocument")


@dataclass
class Recorded:
    """One request the fake received (params decoded: ints, bools, JSON objects)."""

    method: str
    params: dict[str, Any]
    time: float
    status: int = 200
    result: Any = None
    client: str = ""  # the /as/<client> of the path, if any

    def as_json(self) -> dict[str, Any]:
        """JSON-safe form for the control API."""
        return {"method": self.method, "params": self.params, "time": self.time,
                "status": self.status, "result": self.result, "client": self.client}


@dataclass
class Violation:
    """A request that real Telegram would refuse (or a call to an unknown method)."""

    method: str
    description: str
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.method}: {self.description} (params={self.params})"


class _Answer(Exception):
    """Internal: stop processing and answer with this status/body."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("description", ""))
        self.status = status
        self.body = body


class FakeTelegram(UpdateHelpers):
    """The fake Bot API server. Use ``async with FakeTelegram() as fake:``."""

    RECHECK = 0.5  # seconds: `wait_for` also looks this often (state outside the fake)

    def __init__(self, host: str = "127.0.0.1", port: int = 0, max_poll_wait: float = 1.0,
                 known_chats: set[int] | None = None) -> None:
        self.host = host
        self.port = port
        self.state = TelegramState()
        self.handlers = ApiHandlers(self.state, max_poll_wait)
        self.handlers.changed = self._notify
        self.requests: list[Recorded] = []
        self.violations: list[Violation] = []
        self.known_chats = known_chats
        self.blocked_chats: set[int] = set()
        self.webhook_deliveries: list[tuple[int, int]] = []
        self._faults: list[FaultRule] = []
        self._limiter: RateLimiter | None = None
        self._runner: web.AppRunner | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.in_flight = 0  # Bot API calls other than getUpdates being answered now
        self._changed = asyncio.Event()  # set (and replaced) whenever something happens here
        self.changes = 0  # how many times something happened here (`_notify`)

    # lifecycle -------------------------------------------------------------------
    async def start(self) -> Self:
        """Start listening; ``port=0`` picks a free port."""
        app = web.Application(client_max_size=60 * 1024 * 1024)
        add_control_routes(app, self)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        logger.info("fake Telegram listening on %s", self.root_url)
        return self

    async def stop(self) -> None:
        """Stop the server and background webhook deliveries (a waiting getUpdates answers
        at once: stopping does not wait for long polls to time out)."""
        self.handlers.close()
        for task in list(self._tasks):
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.stop()

    @property
    def root_url(self) -> str:
        """http://127.0.0.1:PORT"""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What to pass as ``base_url`` to telegram.Bot / ApplicationBuilder."""
        return f"{self.root_url}/bot"

    @property
    def base_file_url(self) -> str:
        """What to pass as ``base_file_url`` to telegram.Bot / ApplicationBuilder."""
        return f"{self.root_url}/file/bot"

    # scripting -------------------------------------------------------------------
    def fail_next(self, method: str, error_code: int | None = None,
                  description: str | None = None, retry_after: int | None = None,
                  times: int = 1, chat_id: int | None = None, delay: float = 0.0) -> None:
        """Make the next ``times`` calls of ``method`` ("*" = any) fail and/or be delayed."""
        self._faults.append(FaultRule(method, error_code, description, retry_after, times,
                                      chat_id, delay))

    def drop_faults(self) -> None:
        """Forget the scripted faults not used yet (a hang already being applied goes on);
        what was recorded stays."""
        self._faults.clear()

    @property
    def faults_left(self) -> int:
        """Scripted faults not used yet (one being applied, e.g. a hang, counts as used)."""
        return sum(rule.times for rule in self._faults)

    def block_chat(self, chat_id: int) -> None:
        """Every send to ``chat_id`` answers 403 "bot was blocked by the user"."""
        self.blocked_chats.add(chat_id)

    def unblock_chat(self, chat_id: int) -> None:
        """Undo :meth:`block_chat`."""
        self.blocked_chats.discard(chat_id)

    def rate_limit(self, global_per_sec: int | None = 30,
                   per_chat_per_sec: int | None = 1) -> None:
        """Enforce flood limits on sends (sliding 1 s window)."""
        self._limiter = RateLimiter(global_per_sec, per_chat_per_sec)

    def clear_rate_limit(self) -> None:
        """Stop enforcing flood limits."""
        self._limiter = None

    @property
    def rate_limited_count(self) -> int:
        """How many sends were answered 429 by the rate limiter."""
        return self._limiter.rejected if self._limiter else 0

    # recording helpers -----------------------------------------------------------
    def calls(self, method: str) -> list[Recorded]:
        """All recorded calls of ``method`` (any outcome)."""
        return [r for r in self.requests if r.method.lower() == method.lower()]

    def sent_messages(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """Params of successful sendMessage/sendPhoto/sendDocument plus message_id/method."""
        sent = []
        for rec in self.requests:
            if rec.method not in MESSAGE_METHODS or rec.status != 200:
                continue
            if chat_id is not None and rec.params.get("chat_id") != chat_id:
                continue
            sent.append({**rec.params, "method": rec.method,
                         "message_id": rec.result["message_id"]})
        return sent

    def _notify(self) -> None:
        """Something happened (a call recorded or answered, an update queued or delivered):
        wake every `wait_for` to look again."""
        self.changes += 1
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 30.0) -> None:
        """Wait until ``predicate()`` is true; raise TimeoutError after ``timeout`` s (a bound
        on a hang, generous for a loaded machine: a passing test returns at the signal).

        The predicate is checked again whenever the fake records or finishes a call, queues
        an update or delivers one to a webhook (what predicates over the fake's records
        depend on), and every `RECHECK` seconds for one that looks at something else."""
        deadline = time.monotonic() + timeout
        while True:
            changed = self._changed  # taken before the check: a change after it wakes us
            if predicate():
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout}s; "
                                   f"recorded: {[r.method for r in self.requests]}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), min(remaining, self.RECHECK))

    async def settled(self, timeout: float = 30.0) -> None:
        """Wait until no Bot API call (getUpdates aside) is being answered: every send that
        reached the server is recorded (a signal instead of sleeping "long enough")."""
        await self.wait_for(lambda: self.in_flight == 0, timeout)

    async def wait_for_messages(self, chat_id: int, n: int = 1,
                                timeout: float = 30.0) -> list[dict[str, Any]]:
        """Wait until at least ``n`` messages were sent to ``chat_id``; return them."""
        await self.wait_for(lambda: len(self.sent_messages(chat_id)) >= n, timeout)
        return self.sent_messages(chat_id)

    def clear(self) -> None:
        """Forget recorded requests, violations, faults, blocks and rate limits."""
        self.requests.clear()
        self.violations.clear()
        self._faults.clear()
        self.blocked_chats.clear()
        self._limiter = None

    # updates ---------------------------------------------------------------------
    def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue ``update`` for getUpdates, or deliver it to the webhook if one is set."""
        if "update_id" not in update:
            update["update_id"] = self.state.next_update_id()
        if self.known_chats is not None:
            self.known_chats.update(_chat_ids_in(update))
        if self.state.webhook_url:
            task = asyncio.get_running_loop().create_task(self._deliver(update))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            self.state.queue_update(update)
        self._notify()
        return update

    async def _deliver(self, update: dict[str, Any]) -> None:
        status = await self.post_update_to(self.state.webhook_url, update,
                                           self.state.webhook_secret)
        self.webhook_deliveries.append((update["update_id"], status))
        self._notify()

    async def post_update_to(self, url: str, update: dict[str, Any],
                             secret_token: str | None = None) -> int:
        """POST ``update`` to a bot's webhook like Telegram does; return the HTTP status."""
        headers = {"Content-Type": "application/json"}
        if secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret_token
        async with (aiohttp.ClientSession() as session,
                    session.post(url, data=json.dumps(update), headers=headers) as resp):
            return resp.status

    # HTTP --------------------------------------------------------------------------
    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        file_match = _FILE_PATH.match(request.path)
        if file_match:
            return self._download(file_match.group("path"))
        match = _API_PATH.match(request.path)
        if match is None or not _TOKEN.match(match.group("token")):
            self.violations.append(Violation(request.path, "Not Found (bad path or token)"))
            return web.json_response(error_body(404), status=404)
        return await self._api_call(match.group("method"), request, match.group("client") or "")

    def _download(self, file_path: str) -> web.Response:
        stored = self.state.file_by_path(file_path)
        if stored is None:
            return web.json_response(error_body(404), status=404)
        return web.Response(body=stored.content, content_type="application/octet-stream")

    async def _api_call(self, raw_method: str, request: web.Request,
                        client: str = "") -> web.Response:
        counted = (resolve_method(raw_method) or raw_method) != "getUpdates"
        self.in_flight += counted
        try:
            return await self._answer_call(raw_method, request, client)
        finally:
            self.in_flight -= counted
            self._notify()  # recorded (in _answer_call) and no longer in flight

    async def _answer_call(self, raw_method: str, request: web.Request,
                           client: str = "") -> web.Response:
        method = resolve_method(raw_method)
        started = time.time()
        params: dict[str, Any] = {}
        try:
            params, files = await _read_params(request)
            if method is None:
                self.violations.append(Violation(raw_method, "Not Found", params))
                raise _Answer(404, error_body(404))
            params = self._validated(method, params, files)
            result = await self._answer(method, params, request)
        except _Answer as answer:
            status = answer.status
            if status == 409 and (request.transport is None or request.transport.is_closing()):
                status = 499  # the poller is gone (e.g. killed): nobody receives this 409
            self.requests.append(Recorded(method or raw_method, params, started, status,
                                          client=client))
            logger.debug("%s -> %s %s", raw_method, answer.status, answer.body)
            return web.json_response(answer.body, status=answer.status)
        self.requests.append(Recorded(method, params, started, 200, result,
                                      client=client))
        return web.json_response({"ok": True, "result": result})

    def _validated(self, method: str, raw: dict[str, Any],
                   files: dict[str, UploadedFile]) -> dict[str, Any]:
        try:
            params = validate_params(method, raw, files)
            check_semantics(method, params)
        except ParamError as exc:
            self.violations.append(Violation(method, str(exc), raw))
            raise _Answer(400, error_body(400, str(exc))) from exc
        return params

    async def _answer(self, method: str, params: dict[str, Any],
                      request: web.Request | None = None) -> Any:
        chat_id = params.get("chat_id") if isinstance(params.get("chat_id"), int) else None
        await self._apply_faults(method, chat_id, request)
        self._check_chat(method, params, chat_id)
        if self._limiter is not None and is_send_method(method) and method != "sendChatAction":
            retry_after = self._limiter.check(chat_id)
            if retry_after is not None:
                raise _Answer(429, error_body(429, retry_after=retry_after))
        try:
            return await self.handlers.call(method, params)
        except ApiError as exc:
            raise _Answer(exc.error_code, error_body(exc.error_code, exc.description)) from exc

    async def _apply_faults(self, method: str, chat_id: int | None,
                            request: web.Request | None = None) -> None:
        rule = next((r for r in self._faults if r.matches(method, chat_id)), None)
        if rule is None:
            return
        rule.times -= 1
        if rule.times <= 0:
            self._faults.remove(rule)
        self._notify()  # a fault less to come (`faults_left`)
        if rule.delay:  # a hang: ends early when the client gives up (closes the connection)
            deadline = time.monotonic() + rule.delay
            while (remaining := deadline - time.monotonic()) > 0:
                if request is not None and (request.transport is None
                                            or request.transport.is_closing()):
                    break
                await asyncio.sleep(min(0.1, remaining))
        body = rule.body()
        if body is not None:
            raise _Answer(body["error_code"], body)

    def _check_chat(self, method: str, params: dict[str, Any], chat_id: int | None) -> None:
        if "chat_id" not in params or not any(
                f["name"] == "chat_id" for f in method_fields(method)):
            return
        if chat_id is None or (self.known_chats is not None and chat_id not in self.known_chats):
            raise _Answer(400, error_body(400, "Bad Request: chat not found"))
        if chat_id in self.blocked_chats and is_send_method(method):
            raise _Answer(403, error_body(403, "Forbidden: bot was blocked by the user"))


async def _read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Collect query, form, multipart or JSON parameters of an API request."""
    raw: dict[str, Any] = dict(request.query)
    files: dict[str, UploadedFile] = {}
    if not request.can_read_body:
        return raw, files
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except json.JSONDecodeError as exc:
            raise _Answer(400, error_body(400, "Bad Request: can't parse JSON body")) from exc
        if not isinstance(body, dict):
            raise _Answer(400, error_body(400, "Bad Request: JSON body must be an object"))
        raw.update(body)
        return raw, files
    form = await request.post()
    for name, value in form.items():
        if isinstance(value, web.FileField):
            files[name] = UploadedFile(name, value.filename, value.content_type,
                                       value.file.read())
        else:
            raw[name] = value
    return raw, files


def _chat_ids_in(update: dict[str, Any]) -> set[int]:
    """Chat ids mentioned by an update (they become 'known' to Telegram)."""
    found: set[int] = set()
    for value in update.values():
        if isinstance(value, dict):
            chat = value.get("chat") or (value.get("message") or {}).get("chat")
            if isinstance(chat, dict) and isinstance(chat.get("id"), int):
                found.add(chat["id"])
    return found
