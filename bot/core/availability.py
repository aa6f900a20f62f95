"""What a patient is told about when a person will read their message, and who is on call.

`Availability` joins the clinic's opening hours (scheduler/clinic_hours.py, from `Settings`)
with the clock and the message catalogue (section ``hours`` of bot/core/messages.yaml):

* during opening hours an urgent alert "has been told" and the team usually replies within
  the configured target (or, when the clinic closes before that, when it opens again);
* outside them the clinic is "closed until Monday 30 November at 09:00" (in the patient's own
  time zone, or labelled with the clinic's), the team will see it then, and what to do if it
  can't wait (the out-of-hours contact, else a doctor or urgent care today);
* without configured hours nothing names a time: "not monitored around the clock".

Emergency advice never goes through here: it is the same at any hour.
Also: whether the on-call staff (``AFTERCARE_ONCALL_IDS``) get cards now, and /help's line
about the opening hours. No Telegram import; the clock is injected.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

from knowledge.catalogue import Catalogue, Trusted
from scheduler.clinic_hours import OpeningHours
from storage.clock import Clock

log = logging.getLogger(__name__)

Kind = Literal["urgent", "handoff", "report"]
KINDS: tuple[Kind, ...] = ("urgent", "handoff", "report")
CLOSING_SOON = dt.timedelta(hours=1)  # without a reply target: "we close at 17:30" within this


class HoursSettings(Protocol):
    """What `Availability` reads from `bot.config.Settings`."""

    @property
    def oncall_ids(self) -> frozenset[int]: ...

    @property
    def out_of_hours_contact(self) -> str | None: ...

    @property
    def urgent_reply_target_minutes(self) -> int | None: ...

    def hours(self) -> OpeningHours | None: ...


class Availability:
    """Opening hours as the patient hears them, and the on-call list in force."""

    def __init__(self, settings: HoursSettings, messages: Catalogue,
                 clock: Clock) -> None:
        self.messages = messages
        self.clock = clock
        self.hours: OpeningHours | None = settings.hours()
        self.oncall: frozenset[int] = frozenset(settings.oncall_ids)
        self.contact: str | None = settings.out_of_hours_contact
        target = settings.urgent_reply_target_minutes
        self.target = dt.timedelta(minutes=target) if target else None

    # --- facts -------------------------------------------------------------------------------
    def is_open(self, at: dt.datetime | None = None) -> bool | None:
        """True / False with configured hours; None when the hours are not known."""
        if self.hours is None:
            return None
        return self.hours.is_open(at or self.clock())

    def oncall_now(self, at: dt.datetime | None = None) -> frozenset[int]:
        """The on-call staff ids who should get cards now (none during opening hours)."""
        if not self.oncall or self.is_open(at) is not False:
            return frozenset()
        return self.oncall

    def open_time(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta | None:
        """Open time between two instants (None without configured hours)."""
        return self.hours.open_time_between(start, end) if self.hours else None

    # --- words -------------------------------------------------------------------------------
    def text(self, key: str, **values: Any) -> str:
        """A rendered entry of the ``hours`` section."""
        return self.messages.render(f"hours.{key}", **values)

    def when(self, at: dt.datetime, tz: ZoneInfo, own_zone: bool) -> str:
        """"Monday 30 November at 09:00 (your time)" / "(Europe/London time)"."""
        local = at.astimezone(tz)
        weekdays = self.messages.raw("hours.weekdays")
        months = self.messages.raw("hours.months")
        zone = self.text("zone_yours") if own_zone else self.text("zone_clinic", zone=tz.key)
        return self.text("when", weekday=weekdays[local.weekday()], day=local.day,
                         month=months[local.month - 1], time=local.strftime("%H:%M"), zone=zone)

    def duration(self, wait: dt.timedelta) -> str:
        """"45 minutes", "2 hours", "1 hour 30 minutes"."""
        minutes = int(wait.total_seconds() // 60)
        hours, rest = divmod(minutes, 60)
        if not hours:
            return self.text("minutes", n=minutes)
        text = self.text("hour" if hours == 1 else "hours", n=hours)
        return text + (" " + self.text("minutes", n=rest) if rest else "")

    def fallback(self) -> str:
        """What to do if it can't wait: the out-of-hours contact, else a doctor today."""
        if self.contact:
            return self.text("fallback_contact", contact=self.contact)
        return self.text("fallback_default")

    def status(self, kind: Kind, tz: ZoneInfo | None = None, own_zone: bool = False,
               **values: Any) -> str:
        """The sentence(s) about when a person will read it, for an urgent alert, an "ask the
        clinic" hand-off or a /report; `tz` is the patient's zone (`own_zone` when they chose
        it), else the clinic's. HTML, values escaped."""
        now = self.clock()
        if self.hours is None:
            return self.text(f"{kind}_unknown", **values)
        tz = tz or self.hours.tz
        if not self.hours.is_open(now):
            opening = self.hours.next_opening(now)
            if opening is None:
                return self.text(f"{kind}_unknown", **values)
            oncall = "_oncall" if kind == "urgent" and self.oncall else ""
            return self.text(f"{kind}_closed{oncall}",
                             opening=Trusted(self.when(opening, tz, own_zone)),
                             fallback=Trusted(self.fallback()), **values)
        if kind != "urgent":
            return self.text(f"{kind}_open", **values)
        closing = self.hours.next_closing(now)
        if self.target is not None:
            answered_by = self.hours.after_open_time(now, self.target)
            if closing is None or (answered_by is not None and answered_by <= closing):
                return self.text("urgent_open", target=self.duration(self.target), **values)
            soon = True  # the clinic closes before the usual reply time
        else:
            soon = closing is not None and closing - now <= CLOSING_SOON
        opening = self.hours.next_opening(closing) if closing is not None and soon else None
        if closing is not None and opening is not None:
            return self.text("urgent_closing", closing=closing.astimezone(tz).strftime("%H:%M"),
                             opening=Trusted(self.when(opening, tz, own_zone)),
                             fallback=Trusted(self.fallback()), **values)
        return self.text("urgent_open_plain", **values)

    def closed_note(self, kind: Literal["urgent", "handoff"], texts: Catalogue | None,
                    tz: ZoneInfo | None = None, own_zone: bool = False) -> str | None:
        """For a reply in another language (`texts`: its catalogue, whose ``hours.<key>``
        entries are knowledge/languages/<code>.yaml's ``hours`` section): while the clinic is
        closed, the sentence naming when it opens and what to do if it can't wait; None while
        open or without configured hours. In English when the language has no such
        sentences. HTML, values escaped."""
        now = self.clock()
        if self.hours is None or self.hours.is_open(now):
            return None
        opening = self.hours.next_opening(now)
        if opening is None:
            return None
        if texts is None:
            return self.status(kind, tz, own_zone)
        local = opening.astimezone(tz or self.hours.tz)
        zone = (texts.text("hours.zone_yours") if own_zone
                else texts.text("hours.zone_clinic", zone=(tz or self.hours.tz).key))
        when = texts.text("hours.when", weekday=texts.raw("hours.weekdays")[local.weekday()],
                          day=local.day, month=texts.raw("hours.months")[local.month - 1],
                          time=local.strftime("%H:%M"), zone=zone)
        fallback = (texts.text("hours.fallback_contact", contact=self.contact) if self.contact
                    else texts.text("hours.fallback_default"))
        key = "urgent_closed_oncall" if kind == "urgent" and self.oncall else f"{kind}_closed"
        return html.escape(texts.text(f"hours.{key}", opening=when, fallback=fallback),
                           quote=False)

    def help_lines(self) -> str:
        """The opening hours for /help (empty when not configured)."""
        if self.hours is None:
            return ""
        weekdays = self.messages.raw("hours.weekdays_short")
        days = dict(zip(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), weekdays,
                        strict=True))
        rows = []
        for names, spans in self.hours.describe():
            first, _, last = names.partition("-")
            label = days[first] + (f"–{days[last]}" if last else "")
            rows.append(self.text("help_row", days=label, times=spans.replace("-", "–")))
        text = self.text("help", zone=self.hours.tz.key, rows=Trusted("\n".join(rows)))
        today = self.clock().astimezone(self.hours.tz).date()
        upcoming = sorted(d for d in self.hours.closed if d >= today)[:6]
        if upcoming:
            text += "\n" + self.text("help_closed", dates=", ".join(d.isoformat()
                                                                    for d in upcoming))
        if self.contact:
            text += "\n" + self.text("help_contact", contact=self.contact)
        return text
