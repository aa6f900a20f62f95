"""The last lease checks before a ``getUpdates`` leaves: `LeaseCheckedRequest`, the HTTP client
of the bot's polls (PTB's ``get_updates_request``, bot/telegram/bot_api.py `polling_request`).

The poll loop checks the lease (`PollGuard.held`) and then awaits PTB's ``get_updates``; a
process frozen (SIGSTOP) or stalled between the two used to send that poll on waking without
checking again, and it ended the new leader's waiting poll with 409. So the poll is checked
twice more on its way out, in the task of the poll loop that sends it (`POLL_GUARD`):

- in PTB's ``do_request``, before httpx gets the request: `PollGuard.held`, which may renew
  the lease in the database (a replica frozen past its trust finds the row taken there);
- in the network stream, as each part of the request (headers, body) is handed to the
  socket: `PollGuard.fresh`, without awaiting anything, so nothing runs between this check
  and the socket's send but a few lines of anyio and asyncio (httpx's own path from
  ``do_request`` to the socket, about 0.5 ms of CPU per poll, is where most of the old window
  was). A process frozen before it is stale when it wakes: its monotonic clock has moved on.

Either check failing raises `NotSent`; the poll loop then checks the lease again (renewing)
and polls on or stops. A request cut off between its headers and its body never reaches a
server as a request.

What no client can close: a freeze after the last check, inside the socket send (a few
statements); Telegram has no fencing token to refuse a stale poll. Such a poll can end the new
leader's waiting one with 409 once: the new leader confirms its lease in the database and polls
again (`LeaderElection.contested`), the stale one finds the row taken before it handles or
confirms anything, so nothing is lost or answered twice. A ``getUpdates`` sent from anywhere
but a poll loop (`POLL_GUARD` unset) is not checked, and neither is one through a proxy httpx
takes from the environment (HTTPS_PROXY: another transport; the ``do_request`` check holds).
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any

import httpcore
import httpx
from telegram.error import TelegramError
from telegram.request import HTTPXRequest

from bot.telegram.polling.ports import PollGuard

POLL_GUARD: ContextVar[PollGuard | None] = ContextVar("aftercare_poll_guard", default=None)


class NotSent(TelegramError):
    """A poll was not sent: this replica did not hold the polling lease, or its hold was no
    longer fresh, when the poll was to leave."""


class LeaseCheckedRequest(HTTPXRequest):
    """PTB's HTTP client (one connection) whose ``getUpdates`` goes out only while the sending
    poll loop's guard (`POLL_GUARD`) says this replica holds the lease: checked before httpx
    gets it and again as it is written to the socket (`FencedTransport`)."""

    def __init__(self, read_timeout: float | None = 5.0,
                 verify: ssl.SSLContext | bool = True) -> None:
        transport = FencedTransport(verify=verify, limits=httpx.Limits(max_connections=1))
        super().__init__(connection_pool_size=1, read_timeout=read_timeout,
                         httpx_kwargs={"verify": verify, "transport": transport})

    async def do_request(self, url: str, method: str, *args: Any,
                         **kwargs: Any) -> tuple[int, bytes]:
        guard = POLL_GUARD.get()
        if guard is not None and url.endswith("/getUpdates") and not await guard.held():
            raise NotSent("not the polling leader: getUpdates not sent")
        return await super().do_request(url, method, *args, **kwargs)


class FencedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport whose connections check `PollGuard.fresh` before each write. (httpx
    does not take httpcore's network backend as an argument: it is set on the pool it built,
    and a change of httpx that moves it stops the bot at start, not quietly.)"""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        pool = self._pool
        backend = getattr(pool, "_network_backend", None)
        if not isinstance(pool, httpcore.AsyncConnectionPool) or backend is None:
            raise RuntimeError("httpx no longer keeps httpcore's network backend where the "
                               "poll fence sets it (bot/telegram/polling/fence.py)")
        pool._network_backend = _FencedBackend(backend)


class _FencedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, backend: httpcore.AsyncNetworkBackend) -> None:
        self._backend = backend

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None,
                          ) -> httpcore.AsyncNetworkStream:
        return _FencedStream(await self._backend.connect_tcp(
            host, port, timeout=timeout, local_address=local_address,
            socket_options=socket_options))

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None,
                                  ) -> httpcore.AsyncNetworkStream:
        return _FencedStream(await self._backend.connect_unix_socket(
            path, timeout=timeout, socket_options=socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


class _FencedStream(httpcore.AsyncNetworkStream):
    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self._stream = stream

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        guard = POLL_GUARD.get()
        if buffer and guard is not None and not guard.fresh():
            raise NotSent("the polling lease was not fresh as the poll was written: not sent")
        # nothing is awaited between the check and the socket's send (anyio's SocketStream
        # yields only when cancelled or when the socket's buffer is full)
        await self._stream.write(buffer, timeout)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._stream.read(max_bytes, timeout)

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        return _FencedStream(await self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)
