"""Reading a treatment date typed by a patient: "2026-11-20", "20/11", "20.11.2026", "3 days ago",
and in words: "last tuesday", "1st December", "the 1st", "2 weeks ago", "el martes pasado".

`read_date(text, today)` returns a `DateReading` (the best reading, other readings, and whether
the patient must confirm it) or None when the text is not a date; `parse_date` is the plain
best reading (staff commands); `check_session_date(day, today)` says why a date is not
acceptable for a treatment. Dates in words, in English and the other languages the bot
speaks, are read by `dateparser` (imported on the first such text: about 0.1 s, and its
language data on first use), the numeric forms by the readers here.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dateparser.date import DateDataParser

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})(?:[/.\-](\d{2}|\d{4}))?$")
_AGO = re.compile(r"^(\d{1,3}|an?|one|two|three|four|five|six|seven)\s+(day|week)s?\s+ago$")
_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
          "seven": 7}
MAX_AGE = timedelta(days=366)
MAX_FUTURE = timedelta(days=90)  # a booked treatment can be logged ahead, once confirmed


class DateProblem(StrEnum):
    """Why a date can't be a treatment date."""

    FUTURE = "future"
    TOO_OLD = "too_old"


def parse_date(text: str, today: date) -> date | None:
    """The date the text names, relative to `today`; None if it is not a date."""
    cleaned = " ".join(text.strip().lower().rstrip(".!").split())
    if cleaned in ("today", "yesterday"):
        return today - timedelta(days=0 if cleaned == "today" else 1)
    for parser in (_iso, _day_month, _ago):
        try:
            found = parser(cleaned, today)
        except ValueError:  # e.g. 31/02
            return None
        if found is not None:
            return found
    return None


def _iso(text: str, today: date) -> date | None:
    match = _ISO.match(text)
    return date(int(match[1]), int(match[2]), int(match[3])) if match else None


def _day_month(text: str, today: date) -> date | None:
    match = _DMY.match(text)
    if not match:
        return None
    day, month = int(match[1]), int(match[2])
    if match[3]:
        year = int(match[3])
        return date(year + 2000 if year < 100 else year, month, day)
    guess = date(today.year, month, day)
    return guess if guess <= today else date(today.year - 1, month, day)


def _ago(text: str, today: date) -> date | None:
    match = _AGO.match(text)
    if not match:
        return None
    amount = int(match[1]) if match[1].isdigit() else _WORDS[match[1]]
    return today - timedelta(days=amount * (7 if match[2] == "week" else 1))


def check_session_date(value: date, today: date,
                       allow_future: bool = False) -> DateProblem | None:
    """None when `value` is a plausible treatment date (at most a year back; not in the
    future, or with `allow_future` (a confirmed booking) at most `MAX_FUTURE` ahead)."""
    if value > today and (not allow_future or value - today > MAX_FUTURE):
        return DateProblem.FUTURE
    if today - value > MAX_AGE:
        return DateProblem.TOO_OLD
    return None


SILENT_AGE = timedelta(days=60)  # older readings of a date typed without a year are confirmed


@dataclass(frozen=True)
class DateReading:
    """What a typed treatment date means: the best reading, other readings worth offering,
    and whether the patient must confirm it before it is logged (a future date, a date typed
    without a year that is long ago, or one that reads differently month-first)."""

    chosen: date
    alternatives: tuple[date, ...] = ()
    confirm: bool = False

    @property
    def options(self) -> tuple[date, ...]:
        """The chosen reading first, then the alternatives (no repeats)."""
        return tuple(dict.fromkeys((self.chosen, *self.alternatives)))


def _plausible(value: date, today: date) -> bool:
    return today - MAX_AGE <= value <= today + MAX_FUTURE


def read_date(text: str, today: date) -> DateReading | None:
    """The treatment date the text names, and whether to confirm it; None if not a date.

    "today", "yesterday" and "3 days ago" are exact. "2026-11-20" names its year. "20/12" on
    1 December is either last year's (346 days ago) or this year's (in 19 days): both are
    offered, the past one first. "05/11" reads day-first; the month-first reading is offered
    too when the day-first one would need confirming anyway.
    """
    cleaned = " ".join(text.strip().lower().rstrip(".!").split())
    if cleaned in ("today", "yesterday"):
        return DateReading(today - timedelta(days=0 if cleaned == "today" else 1))
    try:
        relative = _ago(cleaned, today)
        if relative is not None:
            return DateReading(relative, confirm=relative > today or today - relative > MAX_AGE)
        exact = _iso(cleaned, today)
    except ValueError:
        return None
    if exact is not None:
        return DateReading(exact, confirm=check_session_date(exact, today) is not None)
    match = _DMY.match(cleaned)
    if not match:
        return _in_words(text, today)
    first, second = int(match[1]), int(match[2])
    valid: list[date] = []
    for day, month in ((first, second), (second, first)):
        valid += _dm_readings(day, month, match[3], today)
    readings = [r for r in dict.fromkeys(valid) if _plausible(r, today)]
    if not readings:  # e.g. 31/02 (None), or a date years ago (confirmed, then refused)
        return DateReading(valid[0], confirm=True) if valid else None
    day_first = [r for r in readings if (r.day, r.month) == (first, second)]
    candidates = day_first or readings
    past = [r for r in candidates if r <= today]
    chosen = max(past) if past else min(candidates)
    others = tuple(sorted((r for r in readings if r != chosen),
                          key=lambda r: abs((r - today).days)))
    typed_year = match[3] is not None
    if chosen <= today and (typed_year or today - chosen <= SILENT_AGE):
        return DateReading(chosen)
    return DateReading(chosen, others[:2], confirm=True)


def _dm_readings(day: int, month: int, year: str | None, today: date) -> list[date]:
    """The dates `day`/`month` can be: in the typed year, or this year and last year."""
    years = ([int(year) + 2000 if int(year) < 100 else int(year)] if year
             else [today.year, today.year - 1])
    found = []
    for y in years:
        try:
            found.append(date(y, month, day))
        except ValueError:
            continue
    return found


# --- a date in words: "last tuesday", "1st of Dec", "the 1st", "hace 2 semanas" -------------
# The languages the bot speaks (knowledge/languages/): dateparser tries only these.
DATE_LANGUAGES = ("en", "es", "pt", "fr", "de", "it", "ru", "uk", "pl", "tr", "ar")
_MAX_WORDS = 6  # a typed date is short; a longer text is a message (dateparser is not asked)
_MAX_CHARS = 40
# Words around a date that dateparser does not take ("el martes", "am Montag", "w zeszły
# wtorek", "it was on monday"): dropped when the text as typed is not a date. Every word left
# must still be part of the date, so "I had a bad day" stays a message. "Last" and its kin
# mean what a bare weekday means here: the most recent past one.
_AROUND_WORDS = {
    "en": "on the last past this it was i had my done treatment session",
    "es": "el la lo pasado pasada último ultimo última ultima este esta fue",
    "pt": "na no em passada passado última último nesta neste foi",
    "fr": "le ce cette dernier dernière passé passée était",
    "de": "am letzten letzter vergangenen vergangener den es war",
    "it": "il lo scorso scorsa passato passata era",
    "ru": "в во на прошлый прошлую прошлое прошлой это было",
    "uk": "у в минулого минулий минулу минулої це було",
    "pl": "w we zeszły zeszłą ostatni ostatnią ubiegły ubiegłą to był była",
    "tr": "geçen günü",
    "ar": "يوم الماضي الماضية في",
}
_AROUND_DATE = frozenset(word for words in _AROUND_WORDS.values() for word in words.split())
_PUNCTUATION = re.compile(r"[.,!?;:()\"«»¿¡]+")
_THE_DAY = re.compile(r"^(?:on )?(?:the (\d{1,2})(?:st|nd|rd|th)?|(\d{1,2})(?:st|nd|rd|th))$")
_YEAR = re.compile(r"\b\d{4}\b")


@functools.lru_cache(maxsize=4)
def _parser(today: date) -> DateDataParser:
    """dateparser over the bot's languages, relative to noon on `today` (the patient's date),
    past dates preferred ("tuesday" is the last one, "20 December" last year's).
    STRICT_PARSING stays off: it wants a day, a month and a year, so "last tuesday" would not
    be read; "I had a bad day" is no date without it (the whole text must be one date)."""
    from dateparser.date import DateDataParser  # lazy: see the module doc

    return DateDataParser(languages=list(DATE_LANGUAGES), settings={
        "PREFER_DATES_FROM": "past", "RELATIVE_BASE": datetime.combine(today, time(12)),
        "RETURN_TIME_AS_PERIOD": True, "DATE_ORDER": "DMY"})


def _in_words(text: str, today: date) -> DateReading | None:
    """A date written in words, or None. A weekday is the most recent past one (today's
    weekday: a week ago, today offered too); "last week" is confirmed; a day and month long
    ago without a year are confirmed with this year's date offered; a future date ("tomorrow",
    "next friday") is confirmed (a booked treatment), as a typed future date always is."""
    cleaned = " ".join(_PUNCTUATION.sub(" ", text.lower().replace("’", "'")).split())
    words = cleaned.split()
    if not words or len(words) > _MAX_WORDS or len(cleaned) > _MAX_CHARS:
        return None
    the_day = _THE_DAY.match(cleaned)
    if the_day is not None:
        return _day_of_month(int(the_day[1] or the_day[2]), today)
    if not any(len(word) > 2 or word.isdigit() for word in words):
        return None  # "ok", "so", "do": a weekday's short form in some language, not a date
    found = _parse_words(cleaned, today)
    if found is None:
        kept = [word for word in words if word not in _AROUND_DATE]
        if kept and kept != words:
            found = _parse_words(" ".join(kept), today)
    if found is None:
        return None
    value, period = found
    has_digit = any(c.isdigit() for c in cleaned)
    if period == "week":  # "2 weeks ago" is exact; "last week" is any day of it
        return DateReading(value, confirm=not has_digit)
    if value > today:
        return DateReading(value, confirm=True)
    if (today - value).days == 7 and not has_digit:  # "thursday" typed on a Thursday
        return DateReading(value, (today,), confirm=True)
    if today - value > SILENT_AGE and not _YEAR.search(cleaned):
        later = _next_year(value)
        others = (later,) if later is not None and _plausible(later, today) else ()
        return DateReading(value, others, confirm=True)
    return DateReading(value, confirm=check_session_date(value, today) is not None)


def warm_up() -> None:
    """Import dateparser and load its data for every language (about 0.4 s of CPU, once per
    process), so the first patient who types a date or a message while /session waits does
    not pay for it (bot/warmup.py runs this in its background thread)."""
    _in_words("I had a bad day", date(2026, 1, 1))  # no date: every language is tried


def _parse_words(text: str, today: date) -> tuple[date, str] | None:
    """dateparser's reading of the whole text as one date and its period: a day or a week
    ("last week", "2 weeks ago"); None for anything else (a month, a year, a time of day)."""
    data = _parser(today).get_date_data(text)
    if data.date_obj is None or data.period not in ("day", "week"):
        return None
    return data.date_obj.date(), data.period


def _day_of_month(day: int, today: date) -> DateReading | None:
    """"the 1st": this month's, or last month's when this month's is still to come."""
    if day < 1 or day > 31:
        return None
    if day <= today.day:
        return DateReading(today.replace(day=day))
    last_month = today.replace(day=1) - timedelta(days=1)
    if day > last_month.day:  # "the 31st" after a 30-day month: not a date to guess
        return None
    return DateReading(last_month.replace(day=day))


def _next_year(value: date) -> date | None:
    try:
        return value.replace(year=value.year + 1)
    except ValueError:  # 29 February
        return None


# --- a treatment date stated in a sentence ("I had my treatment yesterday") -----------------
_TREATED = re.compile(
    r"\b(treatment|session|micro[ -]?needl\w*|needling|dermapen|skinpen)\b|"
    r"\b(had|got|get|having) (it|mine|them|my face|my skin) (done|needled|treated)\b|"
    r"\b(was|were|got|been|i'?m) (treated|needled|micro[ -]?needled)\b")
_PAST = re.compile(r"\b(had|got|was|were|did|done|treated|needled|went|since)\b")
_NOT_DONE = re.compile(  # future, negated or a plan: not a date the treatment took place
    r"\b(will|going to|gonna|next|booked|book|tomorrow|tonight|upcoming|due|scheduled|"
    r"not|never|yet|cancel\w*|postponed|rescheduled?|moved)\b|\b\w+n't\b|"
    r"\b(dont|didnt|havent|hasnt|hadnt|wasnt|werent|cant|couldnt|wont|isnt|arent)\b")
_CLAUSES = re.compile(r"[,;.!?\n]+|\s+(?:and|but|then|so)\s+")
_WEEKDAYS = {"monday": 0, "tuesday": 1, "tues": 1, "wednesday": 2, "weds": 2,
             "thursday": 3, "thurs": 3, "friday": 4, "saturday": 5, "sunday": 6}
_MONTHS = {name: number for number, names in enumerate(
    (("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
     ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
     ("oct", "october"), ("nov", "november"), ("dec", "december")), start=1)
    for name in names}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_ORDINAL = r"(\d{1,2})(?:st|nd|rd|th)?"
_DAY_MONTH = re.compile(rf"\b{_ORDINAL}(?: of)? ({_MONTH})\b")
_MONTH_DAY = re.compile(rf"\b({_MONTH.replace('may|', '')}) (?:the )?{_ORDINAL}\b")
_NUMERIC = re.compile(r"\bon (?:the )?(\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.]\d{1,2}(?:[/.]\d{2,4})?)\b")
_THE_NTH = re.compile(r"\bon the (\d{1,2})(?:st|nd|rd|th)\b")
_AGO_IN = re.compile(
    r"\b(?:\d{1,3}|an?|one|two|three|four|five|six|seven)\s+(?:day|week)s?\s+ago\b")
_WEEKDAY = re.compile(r"\b(" + "|".join(_WEEKDAYS) + r")\b")
_DAY_BEFORE = re.compile(r"\b(the )?day before yesterday\b")
_YESTERDAY = re.compile(r"\b(yesterday|last night)\b")
_TODAY = re.compile(r"\b(today|this (morning|afternoon|evening)|earlier)\b")


def stated_treatment_date(text: str, today: date) -> date | None:
    """The date a patient says their treatment took place, in a sentence: "I had my
    treatment today", "had it done yesterday", "my session was on Monday", "got needled 3
    days ago", "my treatment was on 20/11" or "on 1st December"; None when no clause says
    so (a question about a treatment, a future or cancelled one, "I haven't had it yet") or
    the date is not a plausible treatment date. Read one clause at a time ("had it done
    yesterday and today it's red": yesterday)."""
    folded = " ".join(text.lower().replace("’", "'").split())
    for clause in _CLAUSES.split(folded):
        if not _TREATED.search(clause) or not _PAST.search(clause) or _NOT_DONE.search(clause):
            continue
        found = _clause_date(clause, today)
        if found is not None and check_session_date(found, today) is None:
            return found
    return None


def _clause_date(clause: str, today: date) -> date | None:
    """The most specific date the clause names (a calendar date, "N days ago", a weekday,
    then yesterday, then today), or None."""
    try:
        numeric = _NUMERIC.search(clause)
        if numeric is not None:
            reading = read_date(numeric[1], today)
            return reading.chosen if reading is not None and not reading.confirm else None
        named = _DAY_MONTH.search(clause)
        if named is not None:
            return _past_date(int(named[1]), _MONTHS[named[2]], today)
        named = _MONTH_DAY.search(clause)
        if named is not None:
            return _past_date(int(named[2]), _MONTHS[named[1]], today)
        nth = _THE_NTH.search(clause)
        if nth is not None:  # this month's, or last month's when still to come
            day = int(nth[1])
            if day <= today.day:
                return today.replace(day=day)
            last_month = today.replace(day=1) - timedelta(days=1)
            return last_month.replace(day=day)
    except ValueError:  # "31 feb"
        return None
    ago = _AGO_IN.search(clause)
    if ago is not None:
        return _ago(ago[0], today)
    weekday = _WEEKDAY.search(clause)
    if weekday is not None:
        back = (today.weekday() - _WEEKDAYS[weekday[1]]) % 7
        return today - timedelta(days=back or 7)  # today's weekday: a week ago ("today" else)
    if _DAY_BEFORE.search(clause):
        return today - timedelta(days=2)
    if _YESTERDAY.search(clause):
        return today - timedelta(days=1)
    if _TODAY.search(clause):
        return today
    return None


def _past_date(day: int, month: int, today: date) -> date:
    """`day` `month` this year, or last year's when this year's is still to come."""
    this_year = date(today.year, month, day) if month != 2 or day <= 28 else None
    if this_year is None:  # 29 February: the latest year that has it
        for year in range(today.year, today.year - 5, -1):
            try:
                candidate = date(year, month, day)
            except ValueError:
                continue
            if candidate <= today:
                return candidate
        raise ValueError("no such date")
    if this_year <= today:
        return this_year
    return date(today.year - 1, month, day)
