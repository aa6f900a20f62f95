"""The staff side of reports, independent of Telegram: cards, actions, permissions, audit.

One module per job, each a small class taking only what it uses (built by bot/compose.py):

* `kit` — `DeskKit`: settings, clock, "desk" texts, staff names, messages to staff or to one
  patient (shared by every job, as `FlowKit` is by the flows);
* `access` — `StaffGate`: the staff list is checked on every staff action (never cached);
  refusals and report/patient mismatches are logged and audited;
* `pending` — `PendingActions`: a staff member's pending Reply / Resolve (database state);
* `copies` — `CardCopies`: where a report's cards are, edits owed to on-call copies;
* `cards` — `Cards`: card text and buttons, `render` for the alert sender, repeated or
  edited patient words; `escalation` — `Escalations`: re-posts of cards nobody took;
* `presses` — `CardPresses`: Take / Reply / Resolve / Pause buttons (taking a report);
* `relays` — `Relays`: a staff answer to exactly one patient, and its delivery;
* `resolutions` — `Resolutions`: resolve with a note, reopen;
* `staff_chat` — `StaffMessages`: a staff message, routed to its one patient or a resolve;
* `commands` — `StaffCommands`: /queue, /report N, /patient, /gaps, /resolve, /reopen, /cancel;
* `views` — `DeskViews`: the texts staff read; `web` — `WebActions`: the web desk's actions;
* `patients` — `PatientReports`: /report, threads with staff, photos (`PatientDesk`);
* `callbacks`, `labels`, `gaps`, `export`: card button data, labels and ages, unanswered
  questions grouped, the CSV export;
* `jobs` — `DeskJobs`: the jobs side by side as bot/compose.py hands them to the entry points
  (there is no desk object above them: each caller takes the job it needs).

Safety rules kept here:

* permission is checked on every action (`settings.is_staff`), never cached; refusals are
  logged and written to the audit trail;
* callback data ("st:take:12:7") carries no authority: the pressed message must be a card of
  the report it names (looked up server-side), that report must still belong to the patient
  the button names (ids are never reused: storage/migrations 0006), and the report's state
  must allow the action; a staff member's pending Reply / Resolve remembers report and
  patient the same way, and a mismatch is refused and audited;
* cards are not sent from here: a report's card is owed in the alert outbox in the same
  transaction as the report (storage/alerts.py) and delivered by the alert sender
  (scheduler/alerts.py), which asks `render` what each owed row looks like;
* a staff answer goes only to the patient of the report whose card (or prompt) it replies
  to, or whose Reply button that staff member pressed; never to a resolved report's patient;
* status changes are conditional UPDATEs (storage/reports.py): with two presses at once, one
  wins and the other is told.
"""

from bot.core.desk.callbacks import callback_data, card_press
from bot.core.desk.export import export_csv
from bot.core.desk.gaps import (
           GapGroup,
           content_words,
           format_gaps,
           gaps,
           group_questions,
           normalise,
)
from bot.core.desk.jobs import DeskJobs
from bot.core.desk.labels import age, label_key
from bot.core.desk.web import WebOutcome

__all__ = ["DeskJobs", "GapGroup", "WebOutcome", "age", "callback_data", "card_press",
           "content_words", "export_csv", "format_gaps", "gaps", "group_questions", "label_key",
           "normalise"]
