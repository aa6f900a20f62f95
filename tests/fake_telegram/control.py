"""JSON control API of the fake Telegram, for driving it from another process.

Routes (all answer ``{"ok": true, "result": ...}`` or ``{"ok": false, "description": ...}``):

* ``POST /_control/update`` – body is a full Update (has ``update_id`` or a payload key) or
  ``{"kind": "message", "user_id": 1, "text": "hi", ...}`` (kinds: message, group_message,
  sticker, voice, document, photo, location, edited_message, callback_query, my_chat_member)
* ``GET  /_control/requests`` – recorded requests; ``?method=sendMessage`` filters (each
  names its ``client`` when the bot's base URL was ``<root>/as/<client>/bot``)
* ``GET  /_control/sent_messages`` – ``?chat_id=`` optional
* ``GET  /_control/violations``
* ``POST /_control/fail`` – kwargs of ``FakeTelegram.fail_next``
* ``POST /_control/unfail`` – forget the faults not used yet (``fail``); records stay
* ``POST /_control/block`` – ``{"chat_id": 1, "blocked": true}``
* ``POST /_control/rate_limit`` – ``{"global_per_sec": 30, "per_chat_per_sec": 1}``;
  ``{"enabled": false}`` turns it off
* ``POST /_control/clear``
* ``POST /_control/burst`` – ``{"count": 500, "users": 50, "first_user": 1000, "texts": [...]}``
  queues that many user messages at once (benchmarks)
* ``GET  /_control/counts`` – ``{"sent_messages": n, "violations": n}``
* ``GET  /_control/pending`` – how many updates getUpdates has not had confirmed yet
* ``GET  /_control/faults`` – how many scripted faults (``fail``) are still to be used
* ``GET  /_control/in_flight`` – Bot API calls other than getUpdates being answered now (0:
  every send that reached the server is recorded)

Long polls, for waiting on a signal instead of asking again and again (each answers at once
when its condition holds, else as soon as it does, else after ``timeout`` seconds, at most
`LONGEST_POLL`, with what there is then):

* ``GET  /_control/wait_sent?n=3&timeout=1`` – the sent messages (``chat_id=`` optional, as
  ``sent_messages``) once there are at least ``n``
* ``GET  /_control/wait_settled?timeout=1`` – ``in_flight`` once it is 0
* ``GET  /_control/changed?since=12&timeout=1`` – the count of changes here (a call recorded
  or answered, an update queued or delivered) once it is more than ``since``; ``since=-1``
  answers the count at once: a client reads it, looks at what it waits for, and asks for
  the changes since then (whatever its look missed wakes it)
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from tests.fake_telegram.server import FakeTelegram

logger = logging.getLogger(__name__)

Route = Callable[[web.Request], Awaitable[web.Response]]
LONGEST_POLL = 30.0  # seconds: the longest a long poll is held (a client asks again)


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except json.JSONDecodeError as exc:
        raise web.HTTPBadRequest(text=json.dumps({"ok": False, "description": str(exc)}),
                                 content_type="application/json") from exc
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text='{"ok": false, "description": "body must be an object"}',
                                 content_type="application/json")
    return body


def _guarded(handler: Route) -> Route:
    async def wrapper(request: web.Request) -> web.Response:
        try:
            return await handler(request)
        except (TypeError, ValueError, KeyError) as exc:
            logger.warning("control request failed: %s", exc)
            return web.json_response({"ok": False, "description": str(exc)}, status=400)
    return wrapper


def add_control_routes(app: web.Application, fake: FakeTelegram) -> None:
    """Register the /_control/ routes for ``fake`` on ``app``."""

    async def update(request: web.Request) -> web.Response:
        body = await _body(request)
        if "kind" in body:
            kind = body.pop("kind")
            return _ok(fake.build_update(kind, **body))
        return _ok(fake.push_update(body))

    async def requests(request: web.Request) -> web.Response:
        method = request.query.get("method")
        recorded = fake.calls(method) if method else fake.requests
        return _ok([r.as_json() for r in recorded])

    async def sent_messages(request: web.Request) -> web.Response:
        chat_id = request.query.get("chat_id")
        return _ok(fake.sent_messages(int(chat_id) if chat_id else None))

    async def violations(request: web.Request) -> web.Response:
        return _ok([{"method": v.method, "description": v.description, "params": v.params}
                    for v in fake.violations])

    async def fail(request: web.Request) -> web.Response:
        fake.fail_next(**await _body(request))
        return _ok(True)

    async def unfail(request: web.Request) -> web.Response:
        fake.drop_faults()
        return _ok(True)

    async def block(request: web.Request) -> web.Response:
        body = await _body(request)
        if body.get("blocked", True):
            fake.block_chat(int(body["chat_id"]))
        else:
            fake.unblock_chat(int(body["chat_id"]))
        return _ok(True)

    async def rate_limit(request: web.Request) -> web.Response:
        body = await _body(request)
        if body.pop("enabled", True):
            fake.rate_limit(**body)
        else:
            fake.clear_rate_limit()
        return _ok({"rate_limited_count": fake.rate_limited_count})

    async def clear(request: web.Request) -> web.Response:
        fake.clear()
        return _ok(True)

    async def burst(request: web.Request) -> web.Response:
        body = await _body(request)
        texts, users, first = list(body["texts"]), int(body["users"]), int(body["first_user"])
        for number in range(int(body["count"])):
            fake.user_message(first + number % users, texts[number % len(texts)])
        return _ok(True)

    async def counts(request: web.Request) -> web.Response:
        return _ok({"sent_messages": len(fake.sent_messages()),
                    "violations": len(fake.violations)})

    async def pending(request: web.Request) -> web.Response:
        return _ok(len(fake.state.pending))

    async def faults(request: web.Request) -> web.Response:
        return _ok(fake.faults_left)

    async def in_flight(request: web.Request) -> web.Response:
        return _ok(fake.in_flight)

    async def held(request: web.Request, condition: Callable[[], bool]) -> None:
        """Until `condition()` holds or the request's ``timeout`` (seconds) has passed."""
        timeout = min(float(request.query.get("timeout", 1.0)), LONGEST_POLL)
        with contextlib.suppress(TimeoutError):
            await fake.wait_for(condition, timeout)

    async def wait_sent(request: web.Request) -> web.Response:
        chat_id = request.query.get("chat_id")
        chat = int(chat_id) if chat_id else None
        n = int(request.query["n"])
        await held(request, lambda: len(fake.sent_messages(chat)) >= n)
        return _ok(fake.sent_messages(chat))

    async def wait_settled(request: web.Request) -> web.Response:
        await held(request, lambda: fake.in_flight == 0)
        return _ok(fake.in_flight)

    async def changed(request: web.Request) -> web.Response:
        since = int(request.query.get("since", -1))
        if since >= 0:
            await held(request, lambda: fake.changes > since)
        return _ok(fake.changes)

    routes: list[tuple[str, str, Route]] = [
        ("POST", "update", update), ("GET", "requests", requests),
        ("GET", "sent_messages", sent_messages), ("GET", "violations", violations),
        ("POST", "fail", fail), ("POST", "unfail", unfail), ("POST", "block", block),
        ("POST", "rate_limit", rate_limit), ("POST", "clear", clear),
        ("POST", "burst", burst), ("GET", "counts", counts), ("GET", "pending", pending),
        ("GET", "faults", faults), ("GET", "in_flight", in_flight),
        ("GET", "wait_sent", wait_sent), ("GET", "wait_settled", wait_settled),
        ("GET", "changed", changed),
    ]
    for verb, name, handler in routes:
        app.router.add_route(verb, f"/_control/{name}", _guarded(handler))
