"""How the desk names things in a line: which label a card starts with, an age (in the words
of the "desk.age" texts), a UTC stamp,
how long Telegram counts an HTML text, and a desk text stripped to plain words."""

from __future__ import annotations

import datetime as dt
import html
import re

from knowledge.catalogue import Catalogue
from storage import ReportInfo, ReportKind
from storage.ids import row_id

TAGS = re.compile(r"<[^>]+>")


def label_key(report: ReportInfo) -> str:
    """Which "desk.labels" entry a card starts with: the urgency, else the kind of report."""
    if report.urgency:
        return str(report.urgency)
    return report.kind if report.kind in (ReportKind.QUESTION, ReportKind.CHECKIN) else "other"


def age(delta: dt.timedelta, texts: Catalogue) -> str:
    """"3 min", "2 h 05 min", "3 d 4 h" (bot/core/messages.yaml "desk.age")."""
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return texts.text("desk.age.minutes", minutes=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return texts.text("desk.age.hours", hours=hours, minutes=minutes)
    days, hours = divmod(hours, 24)
    return texts.text("desk.age.days", days=days, hours=hours)


def stamp(value: dt.datetime) -> str:
    """"2026-05-04 09:30 UTC"."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def number(value: str) -> int | None:
    """A report number typed by staff (storage.ids `row_id`)."""
    return row_id(value)


def strip_tags(text: str) -> str:
    """An HTML desk text as plain text (tags dropped, entities decoded)."""
    return html.unescape(TAGS.sub("", text))


def shown_length(text: str) -> int:
    """How long Telegram counts an HTML text: UTF-16 code units of what is shown (tags
    parsed, entities decoded; an emoji counts two)."""
    return len(strip_tags(text).encode("utf-16-le")) // 2
