"""Logging set-up for ``aftercare run``: plain lines by default, JSON lines with
``AFTERCARE_LOG_FORMAT=json``, and the bot token masked in every record.

Nothing at INFO level logs what patients write (handlers log ids and outcomes only); the
`Redactor` filter is the safety net for the token, which could otherwise leak through a URL
in a third-party log line or an exception message.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any, TextIO

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
OUR_LOGGERS = ("bot", "aftercare", "storage", "scheduler", "knowledge")
_TOKEN_SHAPE = re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{20,}\b")  # any bot token
MASK = "[token]"


class Redactor(logging.Filter):
    """Replace the configured token (and anything shaped like a bot token) with a mask."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)

    def scrub(self, text: str) -> str:
        """`text` without secrets."""
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return _TOKEN_SHAPE.sub(MASK, text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.scrub(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and the traceback if any)."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            payload["exception"] = record.exc_text
        return json.dumps(payload, ensure_ascii=False)


def setup_logging(fmt: str = "plain", secrets: tuple[str, ...] = (),
                  level: int = logging.INFO, stream: TextIO | None = None) -> logging.Handler:
    """Route all logs to one stderr handler with the chosen format and the token mask."""
    handler = logging.StreamHandler(stream or sys.stderr)
    formatter: logging.Formatter = JsonFormatter() if fmt == "json" else logging.Formatter(
        PLAIN_FORMAT)
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.addFilter(Redactor(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    if root.level > logging.WARNING or root.level == logging.NOTSET:
        root.setLevel(logging.WARNING)
    for name in OUR_LOGGERS:
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() > level:
            logger.setLevel(level)
    for name in ("httpx", "httpcore", "apscheduler"):  # URLs with the token; tick chatter
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler
