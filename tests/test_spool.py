"""The report spool (storage/spool.py) shared by processes, and what it remembers about an
offline /report (bot/telegram/spooling.py).

* Two processes on one spool file: appends from one while the other replays and rewrites
  are never lost, each entry is stored once, and only one process replays at a time; each
  sees the other's entries in its count (/readyz).
* An offline /report's "describe" entry is in the file, so a restarted process still takes
  the next text as the report; a photo sent before the words is replayed after them.
* Words kept offline that answered a /report waiting for them online (sent online, or run
  online by a replay just before they were kept) finish it when stored, as online; words
  sent before that /report, or a rule-out answer, leave it waiting.
* An ordinary text written during an outage while a /report handled online waited for its
  words is kept (one per patient, bounded in all) and raises that report once after; with
  no /report waiting (none, cancelled, begun after the text) it is dropped, nothing raised
  and nothing said again; a cancel word cancels the /report as online.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from bot.config import load_settings
from bot.telegram.spooling import (
    DESCRIBE_WITHIN,
    SpoolReplayer,
    answer_offline,
    command_offline,
    describing_offline,
    edit_offline,
    photo_offline,
    photos_after_descriptions,
)
from storage.clock import ManualClock
from storage.spool import ReportSpool, Spooled, SpooledEvent, SpooledReport

AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _report(update_id: int, user: int = 1) -> SpooledReport:
    return SpooledReport(update_id, user, user, f"words {update_id}", "urgent", None, None,
                         AT.isoformat(), kind="patient")


def _event(entry: str, update_id: int, user: int = 1, data: str = "") -> SpooledEvent:
    return SpooledEvent(entry, update_id, user, user, "Ivy", data, AT.isoformat())


APPENDER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from storage.spool import ReportSpool, SpooledReport
    spool = ReportSpool(Path(sys.argv[1]))
    for n in range(int(sys.argv[2])):
        spool.append(SpooledReport(n, 1, 1, "w", None, None, None, "2026-03-02T09:00:00+00:00"))
""")


async def test_another_process_appending_during_replays_loses_nothing(tmp_path: Path) -> None:
    path, count = tmp_path / "shared.spool", 300
    spool = ReportSpool(path)
    stored: list[int] = []

    async def store(item: Spooled) -> None:
        stored.append(item.update_id)
    writer = subprocess.Popen([sys.executable, "-c", APPENDER, str(path), str(count)])
    try:
        while writer.poll() is None:
            await spool.replay(store)  # rewrites the file while the other process appends
            await asyncio.sleep(0.001)
    finally:
        writer.wait(timeout=60)
    assert writer.returncode == 0
    await spool.replay(store)
    assert sorted(stored) == list(range(count))  # each once, none lost
    assert len(spool) == 0


async def test_one_process_replays_at_a_time_and_each_counts_the_others_entries(
        tmp_path: Path) -> None:
    path = tmp_path / "shared.spool"
    first, second = ReportSpool(path), ReportSpool(path)  # two processes' views of one file
    first.append(_report(1))
    assert len(second) == 1  # the other process's entry counts in its /readyz too
    second.append(_report(2))
    assert len(first) == 2
    inside, release = asyncio.Event(), asyncio.Event()
    stored: list[int] = []

    async def slow(item: Spooled) -> None:
        inside.set()
        await release.wait()
        stored.append(item.update_id)
    replaying = asyncio.create_task(first.replay(slow))
    await inside.wait()
    assert await second.replay(slow) == 0  # the other one is replaying: skip this round
    release.set()
    assert await replaying == 2 and stored == [1, 2]
    assert len(first) == 0 and len(second) == 0


async def test_store_may_keep_an_entry_for_a_later_replay(tmp_path: Path) -> None:
    spool = ReportSpool(tmp_path / "s.spool")
    spool.append(_event("photo", 1))
    spool.append(_report(2))

    async def not_photos(item: Spooled) -> bool:
        return item.entry != "photo"
    assert await spool.replay(not_photos) == 1
    assert [item.entry for item in spool.pending()] == ["photo"]


def test_an_offline_report_waiting_for_words_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "s.spool"
    ReportSpool(path).append(_event("describe", 10))
    restarted = ReportSpool(path)
    assert describing_offline(restarted, 1, AT + dt.timedelta(minutes=5))
    assert not describing_offline(restarted, 2, AT)  # another patient
    assert not describing_offline(restarted, 1, AT + DESCRIBE_WITHIN + dt.timedelta(seconds=1))
    restarted.append(_event("photo", 11))  # a photo is not the words
    assert describing_offline(ReportSpool(path), 1, AT)
    restarted.append(_report(12))  # the words: described
    assert not describing_offline(ReportSpool(path), 1, AT)


def test_a_photo_between_an_offline_report_and_its_words_is_replayed_after_them() -> None:
    items: list[Spooled] = [_event("photo", 1), _event("describe", 2), _event("photo", 3),
                            _event("photo", 4, user=2), _event("command", 5, data="mydata"),
                            _report(6), _event("photo", 7), _event("describe", 8),
                            _event("photo", 9)]
    order = [item.update_id for item in photos_after_descriptions(items)]
    assert order == [1, 2, 4, 5, 6, 3, 7, 8, 9]


async def test_each_entry_leaves_the_file_as_soon_as_it_is_stored(tmp_path: Path) -> None:
    """A crash (no `finally`) in the middle of a replay repeats at most the entry being
    stored: the ones before it are already gone from the file."""
    path = tmp_path / "s.spool"
    spool = ReportSpool(path)
    for update_id in (1, 2, 3):
        spool.append(_event("command", update_id, data="mydata"))
    left_in_file: list[list[int]] = []

    async def store(item: Spooled) -> None:
        left_in_file.append([i.update_id for i in ReportSpool(path).pending()])
    assert await spool.replay(store) == 3
    assert left_in_file == [[1, 2, 3], [2, 3], [3]]


# --- a photo sent between an offline /report and its words, however the replay is split -------
PATIENT = 501
EARLIER = "there is some yellow pus and it feels hot"  # an open report raised before
ANAPHYLAXIS = "my lips and tongue are swelling and I can't breathe"
LUMP = "a small hard lump under the skin near my ear"
NOW = dt.datetime(2026, 6, 15, 9, 0, tzinfo=dt.UTC)


class GoesAway(SpoolReplayer):
    """A replayer whose database goes away again while it stores the first entry of a kind
    in `down_at` (once each): that replay stops there, the next one goes on from it."""

    def __init__(self, *args: Any, down_at: set[str], **keywords: Any) -> None:
        super().__init__(*args, **keywords)
        self.down_at = down_at
        self.before_store: Callable[[Spooled], None] = lambda item: None

    async def _store(self, item: Spooled) -> bool:
        self.before_store(item)
        if item.entry in self.down_at:
            self.down_at.discard(item.entry)
            raise OperationalError("INSERT", {}, sqlite3.OperationalError(
                "unable to open database file"))
        return await super()._store(item)


async def _offline(compose: Any, url: str, tmp_path: Path) -> tuple[Any, ReportSpool]:
    """Services over `url` with a spool, a consented patient with an open report (a photo
    put in the wrong place would land there), then, during an outage: an edit, /mydata,
    /report, a photo and the words, kept as the handlers keep them."""
    settings = load_settings(None, AFTERCARE_STAFF_CHAT_ID=-100500, AFTERCARE_STAFF_IDS="77",
                             AFTERCARE_TIMEZONE="Europe/London")
    services = await compose(settings, ManualClock(NOW), url=url)
    spool = ReportSpool(tmp_path / "reports.spool")
    services = dataclasses.replace(services, ops=dataclasses.replace(services.ops, spool=spool))
    conversation = services.patient.conversation
    await conversation.start(PATIENT, PATIENT, "Ivy", None)
    await conversation.callback(PATIENT, PATIENT, "Ivy", "consent:yes")
    await conversation.message(PATIENT, PATIENT, "Ivy", EARLIER, message_id=5)
    services.clock.advance(minutes=1)
    edit_offline(services, 10, PATIENT, PATIENT, "Ivy", 5, ANAPHYLAXIS)
    command_offline(services, 11, PATIENT, PATIENT, "Ivy", "mydata", [])
    command_offline(services, 12, PATIENT, PATIENT, "Ivy", "report", [])
    photo_offline(services, 13, PATIENT, PATIENT, "Ivy", "photo-13", None)
    return services, spool


def _replayer(services: Any, spool: ReportSpool, down_at: set[str]) -> GoesAway:
    return GoesAway(services.stores.reports, services.checkins.service,
                    services.checkins.alert_bell, spool,
                    conversation=services.patient.conversation, desk=services.desk.patients,
                    down_at=down_at)


async def _photos_by_report(services: Any) -> dict[str, list[str]]:
    store = services.desk.store
    return {report.text: await store.photos(report.id) for report in await store.queue()}


@pytest.mark.parametrize(("down_at", "left"), [
    ("edit", 5), ("command", 4), ("describe", 3), ("report", 2),  # the first replay stops
    ("photo", 0), ("", 0)])  # the words take the photo: its entry is never stored alone
async def test_a_photo_before_its_words_joins_their_report_however_the_replay_is_split(
        compose: Any, database_url: str, tmp_path: Path, down_at: str, left: int) -> None:
    """The database goes away again in the middle of the replay, at each entry in turn (the
    CI failure: at the words, once their /report was stored; the next replay then had the
    photo before them, and it joined the report the patient had open)."""
    services, spool = await _offline(compose, database_url, tmp_path)
    answer_offline(services, 14, PATIENT, PATIENT, LUMP)
    assert [item.entry for item in spool.pending()] == [
        "edit", "command", "describe", "photo", "report"]
    replayer = _replayer(services, spool, {down_at})
    await replayer.replay()
    assert len(spool) == left
    await replayer.replay()
    assert len(spool) == 0
    assert await _photos_by_report(services) == {ANAPHYLAXIS: [], LUMP: ["photo-13"]}


async def test_words_kept_while_a_replay_is_under_way_still_take_the_photo_before_them(
        compose: Any, database_url: str, tmp_path: Path) -> None:
    """The replay read the spool before the words were kept (the database came back for it
    while the patient's words still failed): its /report counts as described, and the photo
    waits for the words instead of joining the report the patient had open."""
    services, spool = await _offline(compose, database_url, tmp_path)
    replayer = _replayer(services, spool, set())

    def words_now(item: Spooled) -> None:
        if item.entry == "describe" and not any(isinstance(i, SpooledReport)
                                                for i in spool.pending()):
            answer_offline(services, 14, PATIENT, PATIENT, LUMP)
    replayer.before_store = words_now
    await replayer.replay()  # read before the words: edit, /mydata, /report, photo
    assert [item.entry for item in spool.pending()] == ["photo", "report"]
    assert await replayer.replay() == 2
    assert len(spool) == 0
    assert await _photos_by_report(services) == {ANAPHYLAXIS: [], LUMP: ["photo-13"]}


async def test_a_photo_no_report_takes_is_tried_after_what_came_later_then_logged(
        compose: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A photo on its own with no report open waits for what the patient sent after it (a
    report raised then takes it: "describe it in a few words too"); one that no report takes
    is logged, not dropped silently."""
    settings = load_settings(None, AFTERCARE_STAFF_CHAT_ID=-100500, AFTERCARE_STAFF_IDS="77",
                             AFTERCARE_TIMEZONE="Europe/London")
    services = await compose(settings, ManualClock(NOW), url="memory")
    spool = ReportSpool(tmp_path / "reports.spool")
    services = dataclasses.replace(services, ops=dataclasses.replace(services.ops, spool=spool))
    conversation = services.patient.conversation
    for user in (PATIENT, PATIENT + 1):
        await conversation.start(user, user, "Ivy", None)
        await conversation.callback(user, user, "Ivy", "consent:yes")
    photo_offline(services, 20, PATIENT, PATIENT, "Ivy", "photo-20", None)
    answer_offline(services, 21, PATIENT, PATIENT, ANAPHYLAXIS)  # a red flag: a report
    photo_offline(services, 22, PATIENT + 1, PATIENT + 1, "Ivy", "photo-22", None)
    replayer = _replayer(services, spool, set())
    with caplog.at_level(logging.WARNING, logger="bot.telegram.spooling"):
        assert await replayer.replay() == 3
    assert len(spool) == 0
    assert await _photos_by_report(services) == {ANAPHYLAXIS: ["photo-20"]}
    assert [r.getMessage() for r in caplog.records if "joins no report" in r.getMessage()] == [
        "the photo of update 22 joins no report (none open): not added to one"]


# --- words kept offline for a /report that waits for them online -------------------------------
ITCHY = "it is also very itchy now"


async def _consented(compose: Any, url: str, tmp_path: Path) -> tuple[Any, ReportSpool]:
    """Services over `url` with a spool and a consented patient, nothing reported yet."""
    settings = load_settings(None, AFTERCARE_STAFF_CHAT_ID=-100500, AFTERCARE_STAFF_IDS="77",
                             AFTERCARE_TIMEZONE="Europe/London")
    services = await compose(settings, ManualClock(NOW), url=url)
    spool = ReportSpool(tmp_path / "reports.spool")
    services = dataclasses.replace(services, ops=dataclasses.replace(services.ops, spool=spool))
    await services.patient.conversation.start(PATIENT, PATIENT, "Ivy", None)
    await services.patient.conversation.callback(PATIENT, PATIENT, "Ivy", "consent:yes")
    return services, spool


def _told(services: Any, spool: ReportSpool,
          sent: list[tuple[Any, int]]) -> GoesAway:
    """A replayer that keeps what it sends (reply, patient chat) in `sent`."""
    async def deliver(reply: Any, chat: int) -> None:
        sent.append((reply, chat))
    return GoesAway(services.stores.reports, services.checkins.service,
                    services.checkins.alert_bell, spool,
                    conversation=services.patient.conversation, desk=services.desk.patients,
                    deliver=deliver, down_at=set())


async def _flow(services: Any) -> Any:
    return await services.patient.conversation.control.live(PATIENT)


def _to_patient(sent: list[tuple[Any, int]]) -> str:
    return "\n".join(reply.text for reply, chat in sent
                     if reply.to_chat is None or reply.to_chat == chat)


async def _described_as_online(services: Any, sent: list[tuple[Any, int]], words: str) -> None:
    """The words stored by the replay finished the /report as online: one report, the flow
    on details and photos of it, the patient told so, the next message joins it."""
    (report,) = await services.desk.store.queue()
    assert report.text == words
    active = await _flow(services)
    assert (active.step, active.get_int("report_id")) == ("more", report.id)
    told = _to_patient(sent)
    assert f"Report #{report.id} is open for more details or photos" in told
    assert "send a photo of the area now" in told  # desk.patient_sent, as online
    replies = await services.patient.conversation.message(PATIENT, PATIENT, "Ivy", ITCHY)
    joined = (f"Your emergency report (#{report.id}) is still open"  # the safety line again
              if report.urgency == "emergency"
              else f"Sent to the clinic team (report #{report.id})")
    assert joined in replies[0].text  # joined it
    assert [r.text for r in await services.desk.store.queue()] == [words]  # no second one


async def test_words_kept_offline_after_their_report_was_replayed_online_finish_it(
        compose: Any, database_url: str, tmp_path: Path) -> None:
    """The race: the replay ran an offline /report online (its words were not kept yet, so
    the flow waits for them in the database), and the database went away again just as the
    patient wrote them, so they were kept as that /report's words. Storing them later must
    finish that flow, not leave it waiting for words the patient has already sent."""
    services, spool = await _consented(compose, database_url, tmp_path)
    command_offline(services, 12, PATIENT, PATIENT, "Ivy", "report", [])
    sent: list[tuple[Any, int]] = []
    replayer = _told(services, spool, sent)
    original = replayer._event

    async def then_words(conversation: Any, item: SpooledEvent) -> None:
        await original(conversation, item)  # /report online: the flow waits for words
        answer_offline(services, 14, PATIENT, PATIENT, LUMP)  # ... kept offline
    replayer._event = then_words  # type: ignore[method-assign]
    assert await replayer.replay() == 1
    (words,) = spool.pending()
    assert isinstance(words, SpooledReport) and words.describes == 12
    assert (await _flow(services)).step == "describe"
    replayer._event = original  # type: ignore[method-assign]
    assert await replayer.replay() == 1
    await _described_as_online(services, sent, LUMP)


async def test_a_red_flag_kept_offline_while_an_online_report_waits_for_words_finishes_it(
        compose: Any, database_url: str, tmp_path: Path) -> None:
    """/report was handled online; the database went away as the patient wrote the words,
    a red flag (kept as a report: a red flag always becomes the report)."""
    services, spool = await _consented(compose, database_url, tmp_path)
    await services.patient.conversation.command(PATIENT, PATIENT, "Ivy", "report")
    services.clock.advance(minutes=1)
    answer_offline(services, 14, PATIENT, PATIENT, ANAPHYLAXIS)
    sent: list[tuple[Any, int]] = []
    assert await _told(services, spool, sent).replay() == 1
    await _described_as_online(services, sent, ANAPHYLAXIS)


async def test_words_kept_offline_before_a_report_handled_online_leave_it_waiting(
        compose: Any, database_url: str, tmp_path: Path) -> None:
    """The reverse order: the red flag was kept offline, then the database came back and
    the patient sent /report before the replay stored it. The words came before that
    /report, so they do not answer it: it still waits for its own words, and the patient
    is not told anything about it by the replay."""
    services, spool = await _consented(compose, database_url, tmp_path)
    answer_offline(services, 14, PATIENT, PATIENT, ANAPHYLAXIS)
    services.clock.advance(minutes=1)
    await services.patient.conversation.command(PATIENT, PATIENT, "Ivy", "report")
    sent: list[tuple[Any, int]] = []
    assert await _told(services, spool, sent).replay() == 1
    assert [r.text for r in await services.desk.store.queue()] == [ANAPHYLAXIS]
    assert (await _flow(services)).step == "describe"
    assert _to_patient(sent) == ""
    await services.patient.conversation.message(PATIENT, PATIENT, "Ivy", LUMP)
    assert sorted(r.text for r in await services.desk.store.queue()) == sorted(
        [ANAPHYLAXIS, LUMP])
    assert (await _flow(services)).step == "more"


async def test_a_rule_out_answer_kept_offline_is_not_the_words_of_a_waiting_report(
        compose: Any, database_url: str, tmp_path: Path) -> None:
    """A "Yes" to a rule-out question that escalates is kept as a report, but online it
    would not have answered the /report either: that one still waits for its words."""
    services, spool = await _consented(compose, database_url, tmp_path)
    await services.patient.conversation.command(PATIENT, PATIENT, "Ivy", "report")
    services.clock.advance(minutes=1)
    spool.append(SpooledReport(15, PATIENT, PATIENT, "[Yes to: Is your throat tight?]",
                               "emergency", None, None, services.clock().isoformat(),
                               pressed=True))
    sent: list[tuple[Any, int]] = []
    assert await _told(services, spool, sent).replay() == 1
    assert len(await services.desk.store.queue()) == 1
    assert (await _flow(services)).step == "describe"
    assert _to_patient(sent) == ""


# --- words for a /report that waits online, written while the database is away -----------------
RASH = "small rash on my chin since yesterday, is that ok?"
KEPT = "I have kept this message"  # offline.words_kept


async def test_words_for_a_report_waiting_online_are_kept_and_raise_it_once_after(
        compose: Any, database_url: str, tmp_path: Path) -> None:
    """/report was handled online (the flow waits in the database for the words); the
    database went away; the words, not a red flag, get the ordinary answer at once and are
    kept; once the database is back they raise the report, once, and the patient is told as
    online (the gap: they were not kept, and the next message became the report)."""
    services, spool = await _consented(compose, database_url, tmp_path)
    await services.patient.conversation.command(PATIENT, PATIENT, "Ivy", "report")
    services.clock.advance(minutes=1)
    replies = answer_offline(services, 14, PATIENT, PATIENT, RASH)
    assert KEPT in replies[-1].text and KEPT not in replies[0].text  # the answer, and kept
    (words,) = spool.pending()
    assert isinstance(words, SpooledReport) and words.text == RASH and words.answered
    sent: list[tuple[Any, int]] = []
    replayer = _told(services, spool, sent)
    assert await replayer.replay() == 1
    assert len(spool) == 0 and await replayer.replay() == 0
    await _described_as_online(services, sent, RASH)


async def test_an_ordinary_question_with_no_report_waiting_raises_nothing_after(
        compose: Any, database_url: str, tmp_path: Path) -> None:
    """No /report waits: the question gets its one answer at once, and the replay drops what
    was kept in case it was a report's words, without a report or a second answer."""
    services, spool = await _consented(compose, database_url, tmp_path)
    replies = answer_offline(services, 14, PATIENT, PATIENT, RASH)
    sent: list[tuple[Any, int]] = []
    assert await _told(services, spool, sent).replay() == 1
    assert len(spool) == 0
    assert await services.desk.store.queue() == []
    assert sent == [] and await _flow(services) is None
    online = await services.patient.conversation.message(PATIENT, PATIENT, "Ivy", RASH)
    assert replies[0].text == online[0].text  # the answer they had is the ordinary one


async def test_a_report_cancelled_before_the_outage_takes_nothing(
        compose: Any, database_url: str, tmp_path: Path) -> None:
    services, spool = await _consented(compose, database_url, tmp_path)
    conversation = services.patient.conversation
    await conversation.command(PATIENT, PATIENT, "Ivy", "report")
    await conversation.message(PATIENT, PATIENT, "Ivy", "cancel")
    services.clock.advance(minutes=1)
    answer_offline(services, 14, PATIENT, PATIENT, RASH)
    sent: list[tuple[Any, int]] = []
    assert await _told(services, spool, sent).replay() == 1
    assert len(spool) == 0
    assert await services.desk.store.queue() == [] and sent == []
    assert await _flow(services) is None


async def test_words_written_before_the_report_began_do_not_answer_it(
        compose: Any, database_url: str, tmp_path: Path) -> None:
    """Kept during a first outage, then /report online before the replay stored them: the
    text came before that /report, so it is dropped, and the /report waits for its own."""
    services, spool = await _consented(compose, database_url, tmp_path)
    answer_offline(services, 14, PATIENT, PATIENT, RASH)
    services.clock.advance(minutes=1)
    await services.patient.conversation.command(PATIENT, PATIENT, "Ivy", "report")
    sent: list[tuple[Any, int]] = []
    assert await _told(services, spool, sent).replay() == 1
    assert await services.desk.store.queue() == [] and sent == []
    assert (await _flow(services)).step == "describe"


async def test_only_the_first_text_is_kept_and_a_cancel_word_cancels_as_online(
        compose: Any, database_url: str, tmp_path: Path) -> None:
    """The words a waiting /report needs are the first text after it: a second text in the
    same outage is answered as usual and not kept (no "kept" line: it is not). "cancel" as
    that first text cancels the /report on replay, as it would have online."""
    services, spool = await _consented(compose, database_url, tmp_path)
    await services.patient.conversation.command(PATIENT, PATIENT, "Ivy", "report")
    services.clock.advance(minutes=1)
    assert KEPT in answer_offline(services, 14, PATIENT, PATIENT, "cancel")[-1].text
    assert all(KEPT not in r.text for r in answer_offline(services, 15, PATIENT, PATIENT, RASH))
    assert len(spool) == 1
    sent: list[tuple[Any, int]] = []
    assert await _told(services, spool, sent).replay() == 1
    assert await services.desk.store.queue() == []
    assert await _flow(services) is None
    assert "report cancelled. Nothing was sent to the clinic" in _to_patient(sent)


async def test_words_kept_within_the_report_s_time_raise_it_after_a_long_outage(
        compose: Any, database_url: str, tmp_path: Path) -> None:
    """The /report's 30 minutes ended during the outage, but the words came in time."""
    services, spool = await _consented(compose, database_url, tmp_path)
    await services.patient.conversation.command(PATIENT, PATIENT, "Ivy", "report")
    services.clock.advance(minutes=1)
    answer_offline(services, 14, PATIENT, PATIENT, RASH)
    services.clock.advance(hours=2)
    sent: list[tuple[Any, int]] = []
    assert await _told(services, spool, sent).replay() == 1
    await _described_as_online(services, sent, RASH)


async def test_kept_words_are_bounded_one_per_patient_and_in_all(
        compose: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A long outage does not grow the spool without limit: at most one text per patient,
    and at most `MAX_KEPT_WORDS` in all, is kept in case it is a /report's words."""
    import bot.telegram.spooling as spooling
    monkeypatch.setattr(spooling, "MAX_KEPT_WORDS", 2)
    services, spool = await _consented(compose, "memory", tmp_path)
    for n in range(5):
        answer_offline(services, 20 + n, PATIENT, PATIENT, f"{RASH} {n}")
    kept = [answer_offline(services, 30 + user, user, user, RASH)
            for user in (PATIENT + 1, PATIENT + 2)]
    assert KEPT in kept[0][-1].text and all(KEPT not in r.text for r in kept[1])
    assert [(i.telegram_id, i.update_id) for i in spool.pending()] == [
        (PATIENT, 20), (PATIENT + 1, PATIENT + 31)]


async def test_a_captioned_photo_for_a_waiting_report_raises_it_with_the_photo(
        compose: Any, database_url: str, tmp_path: Path) -> None:
    """A caption is read like a text: it raises the waiting /report with its photo; with no
    /report waiting, the photo is still kept and placed as a photo on its own."""
    services, spool = await _consented(compose, database_url, tmp_path)
    conversation = services.patient.conversation
    await conversation.command(PATIENT, PATIENT, "Ivy", "report")
    services.clock.advance(minutes=1)
    photo_offline(services, 14, PATIENT, PATIENT, "Ivy", "photo-14", RASH)
    sent: list[tuple[Any, int]] = []
    await _told(services, spool, sent).replay()
    assert len(spool) == 0
    assert await _photos_by_report(services) == {RASH: ["photo-14"]}
    await conversation.callback(PATIENT, PATIENT, "Ivy", "flow:done")
    photo_offline(services, 15, PATIENT, PATIENT, "Ivy", "photo-15", "and now?")
    await _told(services, spool, sent).replay()
    assert len(spool) == 0
    assert await _photos_by_report(services) == {RASH: ["photo-14", "photo-15"]}


async def test_a_photo_before_the_words_of_a_report_waiting_online_joins_their_report(
        compose: Any, database_url: str, tmp_path: Path) -> None:
    """/report online, then during the outage a photo and the words: the photo waits for
    the report the words raise, and joins it (not the report the patient had open)."""
    services, spool = await _consented(compose, database_url, tmp_path)
    conversation = services.patient.conversation
    await conversation.message(PATIENT, PATIENT, "Ivy", EARLIER)
    await conversation.command(PATIENT, PATIENT, "Ivy", "report")
    services.clock.advance(minutes=1)
    photo_offline(services, 13, PATIENT, PATIENT, "Ivy", "photo-13", None)
    answer_offline(services, 14, PATIENT, PATIENT, RASH)
    sent: list[tuple[Any, int]] = []
    assert await _told(services, spool, sent).replay() == 2
    assert len(spool) == 0
    assert await _photos_by_report(services) == {EARLIER: [], RASH: ["photo-13"]}
