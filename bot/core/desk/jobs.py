"""`DeskJobs`: the staff desk's jobs side by side, as bot/compose.py builds them (`build_desk`).

There is no desk object above the jobs: a caller takes the job it needs (a Telegram staff
command `commands`, a card press `presses`, the web desk's actions `web`, the alert sender's
renderer `cards` ...). This is only the set the composition root hands to the entry points
(``Services.desk``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bot.core.desk.cards import Cards
from bot.core.desk.commands import StaffCommands
from bot.core.desk.escalation import Escalations
from bot.core.desk.kit import DeskKit
from bot.core.desk.patients import PatientReports
from bot.core.desk.presses import CardPresses
from bot.core.desk.relays import Relays
from bot.core.desk.resolutions import Resolutions
from bot.core.desk.staff_chat import StaffMessages
from bot.core.desk.views import DeskViews
from bot.core.desk.web import WebActions
from bot.core.ports import DeskReports
from scheduler.passes import Passes
from storage.desk_outbox import DeskOutboxStore


@dataclass(frozen=True)
class DeskJobs:
    """The staff desk: each job of bot/core/desk/ (see the module docstring)."""

    kit: DeskKit  # settings, clock, "desk" texts, staff names (shared by every job)
    store: DeskReports  # the reports as the desk reads and changes them
    cards: Cards  # card texts, `render` for the alert sender, repeated or edited words
    escalation: Escalations  # re-posts of cards nobody took in time
    presses: CardPresses  # Take / Reply / Resolve / Pause on a card
    staff_chat: StaffMessages  # a non-command message in the staff chat
    relays: Relays  # a staff answer to one patient, and its delivery
    resolutions: Resolutions  # resolve with a note, reopen
    commands: StaffCommands  # /queue, /report N, /patient, /gaps, /resolve, /reopen, /cancel
    views: DeskViews  # the texts staff read (/queue, unreachable on-call staff ...)
    web: WebActions  # the web desk's actions
    patients: PatientReports  # the patient side: /report, threads with staff, photos
    outbox: DeskOutboxStore  # staff messages (web desk and Telegram) for the bot to send
    # the passes of the bot's desk-outbox job (bot/telegram/desk_sender.py)
    outbox_passes: Passes = field(default_factory=Passes)
    # one desk-outbox sender at a time in this process (the job, or a staff action's own
    # send): two would split one action's messages between them, and staff could read the
    # outcome of an answer ("Not delivered ...") before the "taken" notice written first
    sending: asyncio.Lock = field(default_factory=asyncio.Lock)
