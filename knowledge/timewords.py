"""Time words in a question: how many days ahead the patient is asking about.

"gym tomorrow?" on day 1 is a question about day 2, "can I swim at the weekend?" on a Wednesday
is about Saturday. ``days_ahead(text, weekday)`` finds the first such phrase and returns the
number of days ahead with the phrase itself (so the answer can say which day it answers for), or
None when the question is about now. ``weekday`` is today's weekday (Monday = 0) in the
patient's zone; without it, weekday names and "the weekend" are not resolved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge.text import fold

_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
            "seven": 7, "eight": 8, "nine": 9, "ten": 10, "couple of": 2, "few": 3}
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SHORT_DAYS = {"mon": 0, "tue": 1, "tues": 1, "wed": 2, "thu": 3, "thur": 3, "thurs": 3,
               "fri": 4, "sat": 5, "sun": 6}
_COUNT = r"(\d{1,2}|an?|one|two|three|four|five|six|seven|eight|nine|ten|couple of|few)"
_IN_DAYS = re.compile(rf"\bin (?:the next )?(?:a )?{_COUNT} days?\b")
_IN_WEEKS = re.compile(rf"\bin {_COUNT} weeks?\b")
_AFTER_TOMORROW = re.compile(r"\bday after (?:tomorrow|tmrw|tmr|tomoz)\b")
_TOMORROW = re.compile(
    r"\b(?:tomorrow|tomorow|tommorow|tommorrow|tmrw|tmr|tmoz|tomoz|2moro|2morrow|2mrw)\b")
_NEXT_WEEK = re.compile(r"\bnext week\b")
_FORTNIGHT = re.compile(r"\b(?:in (?:a|one) fortnight|in 2 weeks time|fortnight today)\b")
_NEXT_WEEKEND = re.compile(r"\bnext weekend\b")
_WEEKEND = re.compile(r"\bweekend\b")
_WEEKDAY = re.compile(r"\b(?:on |this |next )?(" + "|".join(_WEEKDAYS) + "|"
                      + "|".join(_SHORT_DAYS) + r")\b")


@dataclass(frozen=True)
class Ahead:
    """A question about a later day: how many days ahead, and the words that said so."""

    days: int
    phrase: str


def _count(word: str) -> int:
    return int(word) if word.isdecimal() else _NUMBERS[word]


def days_ahead(text: str, weekday: int | None = None) -> Ahead | None:
    """Days ahead that the question is about (None: about today or no time words)."""
    folded = fold(text)
    found: Ahead | None = None
    if match := _AFTER_TOMORROW.search(folded):
        found = Ahead(2, match.group(0))
    elif match := _TOMORROW.search(folded):
        found = Ahead(1, "tomorrow")
    elif match := _IN_DAYS.search(folded):
        found = Ahead(_count(match.group(1)), match.group(0))
    elif match := _IN_WEEKS.search(folded):
        found = Ahead(7 * _count(match.group(1)), match.group(0))
    elif match := _FORTNIGHT.search(folded):
        found = Ahead(14, "in a fortnight")
    elif weekday is not None and (match := _NEXT_WEEKEND.search(folded)):
        found = Ahead(max(5 - weekday, 0) + 7, "next weekend")
    elif match := _NEXT_WEEK.search(folded):
        found = Ahead(7, "next week")
    elif weekday is not None and (match := _WEEKEND.search(folded)):
        found = Ahead(max(5 - weekday, 0), "the weekend")
    elif weekday is not None and (match := _WEEKDAY.search(folded)):
        name = match.group(1)
        target = _WEEKDAYS.index(name) if name in _WEEKDAYS else _SHORT_DAYS[name]
        ahead = (target - weekday) % 7
        if match.group(0).startswith("next ") and ahead == 0:
            ahead = 7
        found = Ahead(ahead, _WEEKDAYS[target].capitalize())
    return found if found is not None and found.days > 0 else None
