"""A manual monotonic clock for the polling tests: `sleep` moves it on instead of waiting."""

from __future__ import annotations

import asyncio


class Ticker:
    """A manual monotonic clock; `sleep` moves it on instead of waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)
