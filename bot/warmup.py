"""The advisor warmed up in the background once a long-running process answers patients.

`Advisor.load` leaves each triage pattern to be compiled when a message first needs it, and a
few indexes to be built on first use (start-up stays under a second, and a standby replica may
answer nothing); the patients of a fresh process paid for it instead (a first pass through 80
questions about 0.6 s of CPU more than a second one, one message 90 ms). `warm_in_background`
runs `Advisor.warm_up` (knowledge/advisor.py) in a daemon thread, started by the entry points
once they answer: ``aftercare run`` once it polls or listens (bot/telegram/app.py `serve`), the
terminal demo before its first message (bot/cli/demo.py), both also warming the reader of
typed dates (`warm_for_patients`), and the web desk once it listens (bot/web/serve.py).
Nothing waits for it: a message that comes while it runs builds what it needs itself, as
before (the compiles are the same objects, made once under a lock or raced
harmlessly). ``aftercare ask`` answers one message and does not warm up.

`knowledge/` starts no thread; this module is where the thread is made.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from bot.core import dates
from knowledge.advisor import Advisor

log = logging.getLogger(__name__)

WarmUpWork = Callable[[Advisor], object]  # what warms an advisor (tests slow it down)


def warm_for_patients(advisor: Advisor) -> None:
    """What a process that talks to patients warms up: the advisor, then the reader of dates
    typed in words (bot/core/dates.py `warm_up`: dateparser and its languages)."""
    advisor.warm_up()
    dates.warm_up()


class WarmUp:
    """One warm-up in a daemon thread (it never keeps a stopping process alive). `done` is set
    when it ended, finished or failed; `cpu_seconds` is the thread's CPU time then, `failure`
    what it raised (logged: answering builds what it needs instead)."""

    def __init__(self, advisor: Advisor, work: WarmUpWork = Advisor.warm_up,
                 name: str = "advisor-warm-up") -> None:
        self.done = threading.Event()
        self.cpu_seconds: float | None = None
        self.failure: Exception | None = None
        self._advisor = advisor
        self._work = work
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> WarmUp:
        self.thread.start()
        return self

    def _run(self) -> None:
        started = time.thread_time()
        try:
            self._work(self._advisor)
        except Exception as exc:  # noqa: BLE001 - a message builds what it needs instead
            self.failure = exc
            log.warning("warming the advisor up failed (%s: %s); each message builds what it "
                        "needs when it needs it", type(exc).__name__, exc)
        else:
            self.cpu_seconds = time.thread_time() - started
            log.info("advisor warmed up: every pattern compiled (%.2f s of CPU)",
                     self.cpu_seconds)
        finally:
            self.done.set()


def warm_in_background(advisor: Advisor, work: WarmUpWork = Advisor.warm_up) -> WarmUp:
    """Start warming `advisor` up in a daemon thread and return at once."""
    return WarmUp(advisor, work).start()
