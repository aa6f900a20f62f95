"""Run the fake Telegram server standalone: ``python -m tests.fake_telegram --port 8081``.

Prints one line ``FAKE_TELEGRAM_READY http://127.0.0.1:PORT`` on stdout when listening
(``--port 0`` picks a free port), then serves until SIGINT/SIGTERM.  Drive it through the
control API documented in ``tests/fake_telegram/control.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from tests.fake_telegram.server import FakeTelegram

READY_PREFIX = "FAKE_TELEGRAM_READY"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description="Fake Telegram Bot API server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081, help="0 = pick a free port")
    parser.add_argument("--max-poll-wait", type=float, default=1.0,
                        help="cap on getUpdates long-poll timeout (seconds)")
    parser.add_argument("--log-level", default="WARNING")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    """Start the fake and block until a termination signal arrives."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with FakeTelegram(args.host, args.port, max_poll_wait=args.max_poll_wait) as fake:
        print(f"{READY_PREFIX} {fake.root_url}", flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    """Entry point."""
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper())
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
