"""The slot reader: what a sentence tells besides its sign words - the body PLACES it names
(and the ones it says something reached: "down past my collarbone", "up to my ear"), its
short TIME SPANS ("an hour ago", "twenty minutes later", "in the last hour"), a verb of going
fast, "now", an AMOUNT or container of what soaks up a bleed ("a whole packet of tissues",
"a wad of cotton wool"), a bleed GOING ON ("still", "keeps", "won't stop", "coming") and a
COMPARISON OF SPEED ("faster than I can ...", "you can watch it move", "before my eyes").

Two readings are built on the slots, each used by a sign as a pattern ``@reading:NAME``
(``READINGS``), so that a sign is recognised by what the message tells, not by listed wordings:

- ``spreading_fast``: a red or spreading state, and either a comparison of speed with a word
  of moving in its sentence, or (in its sentence or the one before) a place and then another
  place reached by a verb of moving or after "now" (or a place, then "now" with a word of
  moving on), with a short time span (minutes, an hour ago, in the last hour) or a verb of
  going fast ("racing"), and no word of a slow or settling change ("slowly", "over a few
  days", "fading") nor of hives or an itch (the hives sign's). A spread over a morning or
  between meals is the worsening the urgent signs read, not this.
- ``bleeding_going_on``: an amount or container of tissues, pads, cotton or kitchen roll used,
  and a bleed going on anywhere in the message, and nothing that explains the tissues away (a
  cold, hay fever, a film, a spill).

Pure: the word lists come from the rules file's ``slots`` section (knowledge/triage.yaml),
compiled by the parser; a reading returns spans of the normalised text, which the sign then
checks like any match (negation, question, story, joke, its exceptions).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

READING_PREFIX = "@reading:"
_SENTENCE_END = re.compile(r"[.!?\n]")
READINGS = ("spreading_fast", "bleeding_going_on")

# the slot lists the rules file must give (``slots`` section), each a regex source
SLOT_KEYS = ("place", "reached", "span", "fast", "now", "moving_on", "slow", "other_spread",
             "speed", "spread_state", "amount", "going_on", "not_a_bleed")


@dataclass(frozen=True)
class SlotWords:
    """The compiled slot lists of the rules file."""

    place: re.Pattern[str]  # a body place ("cheek", "collarbone", "hairline")
    reached: re.Pattern[str]  # a way to a place, right before it ("down past my", "up to the")
    span: re.Pattern[str]  # a short time span ("an hour ago", "in the last hour")
    fast: re.Pattern[str]  # a verb of going fast ("racing", "flying", "tearing")
    now: re.Pattern[str]  # "now", "by now", "already"
    moving_on: re.Pattern[str]  # a word of moving on, after "now" ("spread", "everywhere")
    slow: re.Pattern[str]  # a slow or settling change ("slowly", "over a few days", "fading")
    other_spread: re.Pattern[str]  # what spreads that is hives or an itch ("welts", "itchy")
    speed: re.Pattern[str]  # a comparison of speed ("faster than i can", "before my eyes")
    spread_state: re.Pattern[str]  # a red or spreading state ("redness", "spreading down")
    amount: re.Pattern[str]  # an amount or container of what soaks a bleed up
    going_on: re.Pattern[str]  # a bleed going on ("still", "keeps", "wont stop", "coming")
    not_a_bleed: re.Pattern[str]  # what explains the tissues away (a cold, a film, a spill)


def _stem(word: str) -> str:
    """A place's word without its plural ("cheeks" and "cheek" are one place)."""
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def _windows(text: str, sentences: Sequence[int]) -> list[tuple[int, int, int]]:
    """Each sentence as (window start, sentence start, end): the window also holds the
    sentence before it ("It was on my cheek at lunch. Now it's past my jaw.")."""
    starts = [*sentences, len(text)]
    found = []
    for i in range(len(starts) - 1):
        start, end = starts[i], starts[i + 1]
        if start >= end:
            continue
        found.append((starts[i - 1] if i else start, start, end))
    return found


def _places(words: SlotWords, text: str, start: int, end: int) -> list[tuple[int, str, bool]]:
    """The places named in [start, end): (position, place, whether it is told as reached)."""
    found = []
    for m in words.place.finditer(text, start, end):
        before = text[max(start, m.start() - 40) : m.start()]
        reached = words.reached.search(before) is not None
        found.append((m.start(), _stem(m.group()), reached))
    return found


def _moved_between_places(words: SlotWords, text: str, start: int, end: int) -> bool:
    """A place and then another place reached ("was on my cheek ... now down past my
    collarbone"), or a place and then "now" with a word of moving on ("was just my chin at
    ten, now it's everywhere")."""
    places = _places(words, text, start, end)
    for i, (_, first, _) in enumerate(places):
        if any(reached and place != first for _, place, reached in places[i + 1 :]):
            return True
    if places:
        first_at = places[0][0]
        for m in words.now.finditer(text, first_at, end):
            # the word of moving on in the sentence of "now", after it
            stop = _SENTENCE_END.search(text, m.end(), min(end, m.end() + 50))
            if words.moving_on.search(text, m.end(), stop.start() if stop else
                                      min(end, m.end() + 50)) is not None:
                return True
    return False


def spreading_fast(words: SlotWords, text: str,
                   sentences: Sequence[int]) -> list[tuple[int, int]]:
    """Where a red or spreading state is told spreading fast (the state's span)."""
    found: list[tuple[int, int]] = []
    for window, start, end in _windows(text, sentences):
        states = [m.span() for m in words.spread_state.finditer(text, start, end)]
        if not states:
            continue
        if (words.slow.search(text, window, end) is not None
                or words.other_spread.search(text, window, end) is not None):
            continue
        moving = (words.moving_on.search(text, start, end) is not None
                  or any(words.moving_on.match(text, *span) for span in states))
        quick = (words.span.search(text, window, end) is not None
                 or words.fast.search(text, window, end) is not None)
        fast = (moving and words.speed.search(text, start, end) is not None) or (
            quick and _moved_between_places(words, text, window, end))
        if fast:
            found.append(states[0])
    return found


def bleeding_going_on(words: SlotWords, text: str,
                      sentences: Sequence[int]) -> list[tuple[int, int]]:
    """Where an amount of tissues, pads or cotton used is told with a bleed going on."""
    del sentences  # the amount and the going on may be told anywhere in the message
    amounts = [m.span() for m in words.amount.finditer(text)]
    if not amounts or words.not_a_bleed.search(text) is not None:
        return []
    if words.going_on.search(text) is None:
        return []
    return amounts[:1]


def read(name: str, words: SlotWords, text: str,
         sentences: Sequence[int]) -> list[tuple[int, int]]:
    """The spans of reading ``name`` (one of ``READINGS``) in ``text``."""
    if name == "spreading_fast":
        return spreading_fast(words, text, sentences)
    if name == "bleeding_going_on":
        return bleeding_going_on(words, text, sentences)
    raise ValueError(f"unknown reading {name!r}")
