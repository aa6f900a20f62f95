"""A local fake of the Telegram Bot API for the test suite and benchmarks.

Usage::

    async with FakeTelegram() as fake:
        bot = telegram.Bot("123456:TEST-token", base_url=fake.base_url)
        fake.user_message(42, "/start")
        ...
        assert fake.violations == []

Run standalone with ``python -m tests.fake_telegram --port 8081`` (see ``control.py``).
"""

from tests.fake_telegram.server import FakeTelegram, Recorded, Violation

__all__ = ["FakeTelegram", "Recorded", "Violation"]
