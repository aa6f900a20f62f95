"""Typed records for knowledge-base entries and their day-windowed answers.

A knowledge-base YAML file looks like this (see knowledge/kb/ for the real ones)::

    entries:
      - id: makeup                      # unique across all files, [a-z0-9_]+
        title: Wearing makeup           # short label, shown on suggestion buttons
        questions:                      # example questions, as patients type them
          - can i wear makeup yet
          - foundation ok today?
        keywords: [makeup, foundation]  # optional, words that point strongly at this entry
        handoff: false                  # optional: answer offers to pass the question to the clinic
        condition: false                # optional: a condition that decides whether a session may
                                        # go ahead; named by a keyword, it outranks the logistics
        answer:                         # either a plain string (same on every day) ...
          unknown: Not for at least 24 hours ...   # ... or day windows plus a neutral answer
          days:
            - {from: 0, to: 0, text: No makeup today ...}
            - {from: 1, to: 2, text: Mineral makeup only ...}
            - {from: 3, text: Your usual makeup is fine ...,   # no "to": open-ended
               brief: Your usual makeup is fine again.}   # optional: the check-ins' line

A window's ``brief`` is the one-sentence version of its advice that the care plan's check-in
texts quote (``{kb:makeup}`` in scheduler/careplan.yaml), so a check-in and the answer for the
same topic and day come from one place and cannot disagree.

Day windows must start at day 0, must not overlap or leave gaps, and the last one is open-ended.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class DayWindow:
    """Answer text for recovery days ``start``..``end`` inclusive (``end`` None = open-ended)."""

    start: int
    end: int | None
    text: str
    brief: str = ""  # the one-line version quoted by check-ins ("" when none)

    def covers(self, day: int) -> bool:
        return day >= self.start and (self.end is None or day <= self.end)


@dataclass(frozen=True)
class Answer:
    """An entry's answer: either one text for every day, or day windows plus a neutral text."""

    unknown: str
    windows: tuple[DayWindow, ...] = ()

    @property
    def day_aware(self) -> bool:
        return bool(self.windows)

    def for_day(self, day: int | None) -> tuple[str, bool]:
        """Return (text, used_day). ``used_day`` is True when a day window was selected."""
        if day is None or not self.windows:
            return self.unknown, False
        for window in self.windows:
            if window.covers(day):
                return window.text, True
        return self.unknown, False

    def window_for(self, day: int) -> DayWindow | None:
        """The day window that covers ``day`` (None for an answer without windows)."""
        return next((window for window in self.windows if window.covers(day)), None)


@dataclass(frozen=True)
class Entry:
    """One FAQ topic: its id, example questions, keywords and answer."""

    id: str
    title: str
    questions: tuple[str, ...]
    answer: Answer
    keywords: tuple[str, ...] = ()
    handoff: bool = False
    condition: bool = False  # named by its keyword, it is answered before sessions and booking
    source: str = ""  # "file:line" where the entry starts, for error messages


@dataclass(frozen=True)
class KnowledgeBase:
    """All entries of a knowledge base, in file order."""

    entries: tuple[Entry, ...]
    paths: tuple[str, ...] = field(default=())

    def by_id(self, entry_id: str) -> Entry | None:
        for entry in self.entries:
            if entry.id == entry_id:
                return entry
        return None
