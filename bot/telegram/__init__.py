"""The Telegram layer: python-telegram-bot application, handlers, delivery, sender, the Bot API
client and long polling by an elected leader (polling/).

The only place that imports telegram. It opts in to PTB 22.2's time periods as
`datetime.timedelta` (``PTB_TIMEDELTA``, read by PTB at each access), the type they will have
in PTB's next major version: ``RetryAfter.retry_after`` then reads the same now and after the
change, and PTB stops warning about it. An operator's own ``PTB_TIMEDELTA`` is kept; our
readers (bot/telegram/sender.py `retry_after_seconds`) take an int as well.
"""

import os

os.environ.setdefault("PTB_TIMEDELTA", "true")
