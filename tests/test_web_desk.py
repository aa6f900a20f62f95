"""The web desk over HTTP (in-process ASGI client): sign-in with Telegram Login Widget data,
CSRF, forms that name another patient, escaping, and staff actions through the same desk logic
and audit as the Telegram buttons.

The desk is built over the in-memory twins of the stores (`build_desk_services` over a
`MemoryBackend`; the web desk's page reads are storage/desk_views_memory.py, each twin proven
equal to its SQL store by tests/test_*_conformance.py); the tests that assert storage
behaviour (the audit trail, used sign-ins, the outboxes, the clinic's KB additions, the
patients' pages, the figures) run on a migrated SQLite file too (`BOTH`). The desk over
PostgreSQL is tested by tests/test_desk_outbox.py and tests/test_staff_outbox_e2e.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from sqlalchemy import func, select

from bot.backends import MemoryBackend
from bot.backends import Stores as BuiltStores
from bot.core.outbox import from_payload
from bot.web.auth import LoginRefused, check_login, data_check_string, sign_login
from bot.web.figures import lines, safe_cell, to_csv
from bot.web.services import DeskServices
from knowledge.advisor import Advisor
from storage.clock import ManualClock
from storage.desk_views import WeekFigures
from storage.models import Alert, ReportAction, ReportActionRow
from storage.states import AlertKind
from tests.bot_harness import STAFF_CHAT, STAFF_USER, TOKEN
from tests.databases import migrated_sqlite
from tests.web_harness import NOW, OTHER_USER, client, csrf_of, desk_services, sign_in

PATIENT = 5551
BOTH = pytest.mark.parametrize("desk", ["memory", "sqlite"], indirect=True)


@pytest.fixture(params=["memory"])
async def desk(request: pytest.FixtureRequest, advisor: Advisor,
               tmp_path: Path) -> AsyncIterator[Any]:
    """The desk in memory, or (``BOTH``) over a migrated SQLite file as well."""
    clock = ManualClock(NOW)
    url = "memory" if request.param == "memory" else migrated_sqlite(tmp_path / "desk.db")
    async with desk_services(url, advisor, clock) as services:
        yield services


def stores(desk: DeskServices) -> BuiltStores:
    """Stores like those the desk was built with, over its rows (for seeding and reading)."""
    return desk.storage.stores(desk.settings, desk.clock)


class Audit(NamedTuple):
    """One audit entry (a ``report_actions`` row)."""

    action: str
    actor: int | None
    patient_id: int | None
    report_id: int | None
    note: str | None


async def audit(desk: DeskServices) -> list[Audit]:
    """Every audit entry, oldest first, about reports or not."""
    if isinstance(desk.storage, MemoryBackend):
        return [Audit(a.action, a.actor_telegram_id, a.patient_id, a.report_id, a.note)
                for _, a in sorted(desk.storage.tables.actions.items())]
    async with desk.db.sessions() as s:
        rows = (await s.execute(
            select(ReportActionRow.action, ReportActionRow.actor_telegram_id,
                   ReportActionRow.patient_id, ReportActionRow.report_id,
                   ReportActionRow.note).order_by(ReportActionRow.id))).all()
    return [Audit(*row) for row in rows]


async def owed_cards(desk: DeskServices, report_id: int) -> int:
    """How many staff-chat cards of a report the alert outbox was given."""
    if isinstance(desk.storage, MemoryBackend):
        return sum(1 for a in desk.storage.tables.alerts.values()
                   if a.report_id == report_id and a.kind == AlertKind.CARD.value)
    async with desk.db.sessions() as s:
        cards = await s.scalar(select(func.count()).select_from(Alert).where(
            Alert.report_id == report_id, Alert.kind == AlertKind.CARD.value))
    return int(cards or 0)


async def report_for(desk: Any, telegram_id: int, name: str, text: str,
                     urgency: str | None = "urgent") -> Any:
    repo = stores(desk)
    await repo.patients.ensure(telegram_id, telegram_id, now=NOW)
    await repo.patients.record_consent(telegram_id, name, now=NOW)
    return await repo.reports.create(telegram_id, "triage" if urgency else "patient", text,
                                     urgency=urgency, day=2, now=NOW)


# --- the Login Widget check itself ----------------------------------------------------------
def test_data_check_string_is_sorted_fields_without_hash() -> None:
    fields = {"username": "ann", "id": "7", "hash": "x", "auth_date": "1", "first_name": "Ann"}
    assert data_check_string(fields) == "auth_date=1\nfirst_name=Ann\nid=7\nusername=ann"


def test_signed_login_passes_and_any_change_fails() -> None:
    fields = sign_login(TOKEN, 77, "Ann", NOW, username="ann")
    assert check_login(fields, TOKEN, NOW).telegram_id == 77
    for key, value in (("id", "78"), ("first_name", "Bob"), ("username", "bob"),
                       ("auth_date", str(int(NOW.timestamp()) + 1))):
        with pytest.raises(LoginRefused):
            check_login({**fields, key: value}, TOKEN, NOW)
    with pytest.raises(LoginRefused):  # another bot's token
        check_login(fields, "999:another-bots-token", NOW)
    with pytest.raises(LoginRefused):
        check_login({k: v for k, v in fields.items() if k != "hash"}, TOKEN, NOW)


def test_login_older_than_a_day_is_refused() -> None:
    fields = sign_login(TOKEN, 77, "Ann", NOW - dt.timedelta(days=1, minutes=1))
    with pytest.raises(LoginRefused, match="more than a day old"):
        check_login(fields, TOKEN, NOW)
    assert check_login(sign_login(TOKEN, 77, "Ann", NOW - dt.timedelta(hours=23)), TOKEN, NOW)


# --- sign-in over HTTP -------------------------------------------------------------------------
async def test_staff_signs_in_and_out(desk: Any) -> None:
    async with client(desk) as http:
        assert (await http.get("/queue")).headers["location"] == "/login"
        response = await sign_in(http, STAFF_USER, NOW)
        assert response.status_code == 303 and response.headers["location"] == "/queue"
        cookie = response.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        page = await http.get("/queue")
        assert page.status_code == 200 and "Sign out" in page.text
        token = await csrf_of(http)
        assert (await http.post("/logout", data={"csrf": token})).status_code == 303
        assert (await http.get("/queue")).headers["location"] == "/login"


@BOTH
async def test_forged_expired_and_replayed_logins_are_refused(desk: Any) -> None:
    async with client(desk) as http:
        forged = sign_login("999:not-this-bots-token", STAFF_USER, "Sam", NOW)
        response = await http.get("/auth/telegram", params=forged)
        assert response.status_code == 403 and "not signed by Telegram" in response.text
        old = sign_login(TOKEN, STAFF_USER, "Sam", NOW - dt.timedelta(days=2))
        response = await http.get("/auth/telegram", params=old)
        assert response.status_code == 403 and "more than a day old" in response.text
        assert (await http.get("/queue")).status_code == 303  # still signed out
        fresh = sign_login(TOKEN, STAFF_USER, "Sam", NOW)
        assert (await http.get("/auth/telegram", params=fresh)).status_code == 303
    async with client(desk) as other:  # someone who captured the redirect URL
        response = await other.get("/auth/telegram", params=fresh)
        assert response.status_code == 403 and "already used" in response.text
        assert (await other.get("/queue")).status_code == 303


@BOTH
async def test_non_staff_is_refused_and_audited(desk: Any) -> None:
    async with client(desk) as http:
        response = await sign_in(http, OTHER_USER, NOW)
        assert response.status_code == 403 and "not in the staff list" in response.text
        assert (await http.get("/queue")).headers["location"] == "/login"
    refusals = [(a.actor, a.action, a.report_id) for a in await audit(desk)]
    assert refusals == [(OTHER_USER, "refused", None)]


async def test_staff_removed_from_the_list_is_out_at_the_next_click(desk: Any) -> None:
    async with client(desk) as http:
        await sign_in(http, STAFF_USER, NOW)
        assert (await http.get("/queue")).status_code == 200
        desk.settings = desk.settings.model_copy(update={"staff_ids": frozenset({1})})
        response = await http.get("/queue")
        assert response.status_code == 403 and "not in the staff list" in response.text
        token = await csrf_of(http, "/queue")  # the refusal page offers to sign out
        assert (await http.post("/logout", data={"csrf": token})).status_code == 303
        assert (await http.get("/queue")).headers["location"] == "/login"


# --- forms ---------------------------------------------------------------------------------
async def test_csrf_missing_or_wrong_is_refused_and_nothing_changes(desk: Any) -> None:
    report = await report_for(desk, PATIENT, "Pat", "my cheek is swollen")
    async with client(desk) as http:
        await sign_in(http, STAFF_USER, NOW)
        token = await csrf_of(http)
        for data in ({"patient_id": report.patient_id},
                     {"patient_id": report.patient_id, "csrf": token[:-2] + "xx"}):
            response = await http.post(f"/reports/{report.id}/take", data=data)
            assert response.status_code == 403 and "out of date" in response.text
        assert (await desk.desk.store.get(report.id)).status == "open"
        response = await http.post(f"/reports/{report.id}/take",
                                   data={"patient_id": report.patient_id, "csrf": token})
        assert response.status_code == 303
        assert (await desk.desk.store.get(report.id)).status == "taken"


@BOTH
async def test_a_form_naming_another_patient_is_refused(desk: Any) -> None:
    mine = await report_for(desk, PATIENT, "Pat", "swollen")
    other = await report_for(desk, PATIENT + 1, "Quinn", "bleeding")
    outbox = desk.outbox
    async with client(desk) as http:
        await sign_in(http, STAFF_USER, NOW)
        token = await csrf_of(http)
        response = await http.post(f"/reports/{mine.id}/reply", data={
            "csrf": token, "patient_id": other.patient_id, "text": "for Quinn?"})
        assert response.status_code == 400 and "another patient" in response.text
        assert await outbox.pending_count() == 0
        trail = await desk.desk.store.actions(mine.id)
        assert [a.action for a in trail] == [ReportAction.REFUSED.value]
        assert trail[0].actor_telegram_id == STAFF_USER
        session = await stores(desk).treatments.add(NOW.date(), "staff",
                                                              telegram_id=PATIENT + 1)
        response = await http.post(
            f"/patients/{mine.patient_id}/sessions/{session.id}/cancel",
            data={"csrf": token, "patient_id": mine.patient_id})
        assert response.status_code == 400
        assert (await stores(desk).treatments.get(session.id)).cancelled_at is None  # type: ignore[union-attr]


async def test_html_in_a_patients_words_is_shown_as_text(desk: Any) -> None:
    words = '<script>alert("x")</script><b>bold</b> & <img src=x onerror=alert(1)>'
    report = await report_for(desk, PATIENT, "<i>Pat</i>", words)
    async with client(desk) as http:
        await sign_in(http, STAFF_USER, NOW)
        for path in ("/queue", "/queue/rows", f"/patients/{report.patient_id}",
                     "/patients?q=Pat"):
            page = (await http.get(path)).text
            assert "<script>alert" not in page and "<img src=x" not in page, path
            assert "<i>Pat</i>" not in page, path
        page = (await http.get("/queue")).text
        assert ("&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt; &amp;"
                in page)


# --- actions go through the staff desk and its outbox --------------------------------------
@BOTH
async def test_take_reply_resolve_reopen_through_the_desk(desk: Any) -> None:
    report = await report_for(desk, PATIENT, "Pat", "it burns")
    outbox = desk.outbox
    async with client(desk) as http:
        await sign_in(http, STAFF_USER, NOW)
        token = await csrf_of(http)

        async def act(action: str, text: str = "") -> None:
            response = await http.post(f"/reports/{report.id}/{action}", data={
                "csrf": token, "patient_id": report.patient_id, "text": text})
            assert response.status_code == 303

        await act("take")
        await act("take")  # a second press changes nothing and is told so
        page = (await http.get("/queue")).text
        assert "already taken by Sam" in page and "taken by Sam" in page
        await act("reply", "Cool it with a clean damp cloth.")
        await act("resolve", "advised by phone")
        await act("reopen")
    assert (await desk.desk.store.get(report.id)).status == "taken"
    trail = [(a.action, a.actor_telegram_id) for a in await desk.desk.store.actions(report.id)]
    # "replied" is audited when the bot has delivered the answer (bot/telegram/desk_sender.py)
    assert trail == [("taken", STAFF_USER), ("resolved", STAFF_USER), ("reopened", STAFF_USER)]
    claimed = await outbox.claim(NOW)
    (relay,) = [r.relay for r in (from_payload(c.chat_id, c.payload) for c in claimed)
                if r.relay is not None]
    assert (relay.report_id, relay.actor, relay.note) == (
        report.id, STAFF_USER, "Cool it with a clean damp cloth.")
    to_patient = [from_payload(c.chat_id, c.payload).text for c in claimed
                  if c.chat_id == PATIENT]
    assert to_patient[0] == "Glow Clinic's team is now looking at your report and will reply here."
    assert to_patient[1] == "<b>Message from Glow Clinic:</b>\nCool it with a clean damp cloth."
    assert "marked your report as dealt with" in to_patient[2]
    assert len(to_patient) == 3
    # the reopened report's fresh card is owed in the alert outbox (after the first card)
    assert await owed_cards(desk, report.id) == 2
    assert {c.chat_id for c in claimed} == {PATIENT, STAFF_CHAT}


async def test_pages_render_for_staff(desk: Any) -> None:
    report = await report_for(desk, PATIENT, "Pat", "swelling")
    async with client(desk) as http:
        await sign_in(http, STAFF_USER, NOW)
        for path in ("/queue", "/patients", f"/patients/{report.patient_id}", "/gaps",
                     "/figures"):
            response = await http.get(path)
            assert response.status_code == 200, path
        assert "swelling" in (await http.get("/queue/rows")).text
        csv_text = (await http.get("/figures.csv")).text
        assert csv_text.splitlines()[0].startswith("week,sessions,checkins_sent")


# --- CSV -----------------------------------------------------------------------------------
def test_csv_cells_cannot_run_as_formulas() -> None:
    for dangerous in ("=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(dangerous) == "'" + dangerous
    assert safe_cell("12") == "12" and safe_cell("2026-03-09") == "2026-03-09"
    week = WeekFigures(dt.datetime(2026, 3, 9, tzinfo=dt.UTC), 3, 10, 7, {"urgent": 1},
                       [5.0, 15.0, 60.0], 20, 4)
    row = to_csv(lines([week])).splitlines()[1]
    assert row == "2026-03-09,3,10,7,70.0,0,1,0,15.0,60.0,20,4,20.0,,"


# --- knowledge gaps --------------------------------------------------------------------------
async def asked(desk: Any, telegram_id: int, text: str) -> None:
    """A consenting patient's question the bot could not answer, as the bot logs it."""
    repo = stores(desk)
    await repo.patients.ensure(telegram_id, telegram_id, now=NOW)
    await repo.patients.record_consent(telegram_id, "Pat", now=NOW)
    from storage.messages import LogEntry

    await repo.message_log.log_batch([LogEntry(telegram_id, "in", text, None, "abstained", NOW)])


@BOTH
async def test_gap_questions_become_example_questions_of_an_entry(desk: Any,
                                                                  tmp_path: Path) -> None:
    from bot.core.clinic_kb import ClinicKnowledge
    from knowledge.overrides import OVERRIDES_NAME

    await asked(desk, PATIENT, "is gua sha ok on my face")
    await asked(desk, PATIENT + 1, "is gua sha ok on my face?")
    await asked(desk, PATIENT + 2, "can i do gua sha on my face")
    assert desk.advisor.ask("is gua sha ok on my face").kind == "abstained"
    async with client(desk) as http:
        await sign_in(http, STAFF_USER, NOW)
        page = (await http.get("/gaps")).text
        assert "3 ×" in page and "gua sha" in page
        token = await csrf_of(http, "/gaps")
        response = await http.post("/gaps/questions", data={
            "csrf": token, "entry_id": "touching_face",
            "questions": ["is gua sha ok on my face", "can i do gua sha on my face"]})
        assert response.status_code == 303
        page = (await http.get("/gaps")).text
        assert "Saved: the bot answers with it now." in page
        assert "3 ×" not in page  # the group is answered now
        exported = (await http.get("/gaps/overrides.yaml")).text
    assert desk.conversation.advisor.ask("is gua sha ok on my face").topic == "touching_face"
    assert "extra_questions:" in exported and "touching_face:" in exported
    # a bot replica elsewhere picks the change up by the version
    other = ClinicKnowledge(desk.advisor, desk.storage.kb_overrides())
    assert await other.refresh()
    assert other.advisor.ask("can i do gua sha on my face").topic == "touching_face"
    assert not await other.refresh()  # nothing new
    # the export is a knowledge-base file `aftercare kb check` accepts beside the others
    import shutil

    from knowledge.loader import PACKAGED_KB, check_kb

    folder = tmp_path / "clinic_kb"
    shutil.copytree(PACKAGED_KB, folder)
    (folder / OVERRIDES_NAME).write_text(exported, encoding="utf-8")
    kb, problems = check_kb(folder)
    assert problems == []
    entry = kb.by_id("touching_face")
    assert entry is not None and "is gua sha ok on my face" in entry.questions


async def test_a_bad_addition_is_refused_with_kb_check_reasons(desk: Any) -> None:
    await asked(desk, PATIENT, "is gua sha ok on my face")
    async with client(desk) as http:
        await sign_in(http, STAFF_USER, NOW)
        token = await csrf_of(http, "/gaps")
        response = await http.post("/gaps/questions", data={
            "csrf": token, "entry_id": "no_such_entry", "questions": ["is gua sha ok"]})
        assert response.status_code == 400
        assert "clinic_overrides.yaml:" in response.text
        assert "there is no entry with that id" in response.text
        # a wording another entry already has: the matcher could not tell them apart
        response = await http.post("/gaps/questions", data={
            "csrf": token, "entry_id": "touching_face",
            "questions": ["can i wear makeup tomorrow"]})
        assert response.status_code == 400 and "cannot tell them apart" in response.text
        response = await http.post("/gaps/entry", data={
            "csrf": token, "id": "Gua Sha!", "title": "Gua sha", "answer": "x",
            "more": "is gua sha ok"})
        assert response.status_code == 400 and "must be lowercase letters" in response.text
        response = await http.post("/gaps/entry", data={
            "csrf": token, "id": "gua_sha", "title": "Gua sha and face tools",
            "answer": "Not on treated skin for the first week.", "more": "is gua sha ok"})
        assert response.status_code == 303
    assert desk.conversation.advisor.ask("is gua sha ok").topic == "gua_sha"


@BOTH
async def test_pause_checkins_from_the_web(desk: Any) -> None:
    report = await report_for(desk, PATIENT, "Pat", "it stings")
    outbox = desk.outbox
    async with client(desk) as http:
        await sign_in(http, STAFF_USER, NOW)
        token = await csrf_of(http)
        data = {"csrf": token, "patient_id": report.patient_id}
        assert (await http.post(f"/reports/{report.id}/pause", data=data)).status_code == 303
        assert (await http.post(f"/reports/{report.id}/pause", data=data)).status_code == 303
        page = (await http.get("/queue")).text
        assert "already paused" in page
    patient = await stores(desk).patients.get(PATIENT)
    assert patient is not None and patient.checkins_paused
    trail = [a.action for a in await desk.desk.store.actions(report.id)]
    assert trail == ["paused"]  # the second press changed nothing
    claimed = await outbox.claim(NOW)
    assert [from_payload(c.chat_id, c.payload).text for c in claimed if c.chat_id == PATIENT] \
        == ["Glow Clinic has paused your check-in messages for now. You can still write here "
            "any time."]


async def test_pages_carry_security_headers(desk: Any) -> None:
    async with client(desk) as http:
        response = await http.get("/login")
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy
    assert response.headers["x-frame-options"] == "DENY"


@BOTH
async def test_patients_in_recovery_page_by_a_hundred(desk: Any) -> None:
    repo = stores(desk)
    for n in range(105):
        await repo.patients.ensure(7000 + n, 7000 + n, now=NOW)
        await repo.patients.record_consent(7000 + n, f"Person {n:03d}", now=NOW)
        await repo.treatments.add((NOW - dt.timedelta(days=n % 20)).date(), "staff",
                                  telegram_id=7000 + n)
    async with client(desk) as http:
        await sign_in(http, STAFF_USER, NOW)
        first = (await http.get("/patients")).text
        second = (await http.get("/patients?from=100")).text
        bad = await http.get("/patients?from=abc")
    assert first.count('href="/patients/') == 100 and "Next page" in first
    assert second.count('href="/patients/') == 5 and "Previous page" in second
    assert "Next page" not in second and bad.status_code == 200


@BOTH
async def test_session_fixed_and_cancelled_on_the_web_is_audited(desk: Any) -> None:
    repo = stores(desk)
    await repo.patients.ensure(PATIENT, PATIENT, now=NOW)
    await repo.patients.record_consent(PATIENT, "Pat", now=NOW)
    session = await repo.treatments.add((NOW - dt.timedelta(days=3)).date(), "staff",
                                        telegram_id=PATIENT)
    path = f"/patients/{session.patient_id}/sessions/{session.id}"
    moved_to = (NOW - dt.timedelta(days=2)).date()
    async with client(desk) as http:
        await sign_in(http, STAFF_USER, NOW)
        token = await csrf_of(http)
        form = {"csrf": token, "patient_id": session.patient_id}
        assert (await http.post(f"{path}/move", data={**form, "date": moved_to.isoformat()})
                ).status_code == 303
        assert (await http.post(f"{path}/cancel", data=form)).status_code == 303
        assert (await http.post(f"{path}/cancel", data=form)).status_code == 303  # no-op
        page = (await http.get(f"/patients/{session.patient_id}")).text
    after = await repo.treatments.get(session.id)
    assert after is not None and after.session_date == moved_to and after.cancelled_at
    rows = await audit(desk)
    assert [tuple(r[:4]) for r in rows] == [
        ("session_moved", STAFF_USER, session.patient_id, None),
        ("session_cancel", STAFF_USER, session.patient_id, None)]  # the second did nothing
    old = (NOW - dt.timedelta(days=3)).date().isoformat()
    moved, cancelled = (r.note or "" for r in rows)
    assert f"session {session.id} moved from {old} to {moved_to.isoformat()}" in moved
    assert f"session {session.id} of {moved_to.isoformat()} cancelled" in cancelled
    # the patient's page shows both entries in its audit table, by whom
    assert "session moved" in page and "session cancel" in page
    assert page.count(f"Sam ({STAFF_USER})") >= 2


@BOTH
async def test_a_session_form_naming_another_patient_is_refused_and_audited(desk: Any) -> None:
    repo = stores(desk)
    for telegram_id in (PATIENT, PATIENT + 1):
        await repo.patients.ensure(telegram_id, telegram_id, now=NOW)
        await repo.patients.record_consent(telegram_id, "Pat", now=NOW)
    mine = await repo.treatments.add(NOW.date(), "staff", telegram_id=PATIENT)
    theirs = await repo.treatments.add(NOW.date(), "staff", telegram_id=PATIENT + 1)
    async with client(desk) as http:
        await sign_in(http, STAFF_USER, NOW)
        token = await csrf_of(http)
        response = await http.post(  # the URL names my patient, the session is theirs
            f"/patients/{mine.patient_id}/sessions/{theirs.id}/move",
            data={"csrf": token, "patient_id": mine.patient_id, "date": NOW.date().isoformat()})
        assert response.status_code == 400 and "another patient" in response.text
    rows = await audit(desk)
    assert [tuple(r[:3]) for r in rows] == [("refused", STAFF_USER, theirs.patient_id)]


@BOTH
async def test_figures_follow_a_web_action_at_once_and_others_within_ten_minutes(
        desk: Any) -> None:
    """Finished weeks are cached on the desk's clock: a report taken on the web desk updates
    its week at once; one taken in Telegram (another process) shows within 10 minutes."""
    last_week = NOW - dt.timedelta(days=7)
    repo = stores(desk)
    reports = []
    for n, name in enumerate(("Pat", "Quinn")):
        await repo.patients.ensure(PATIENT + n, PATIENT + n, now=last_week)
        await repo.patients.record_consent(PATIENT + n, name, now=last_week)
        reports.append(await repo.reports.create(PATIENT + n, "triage", "swollen",
                                                urgency="urgent", day=2, now=last_week))

    def first_action(csv_text: str) -> str:
        (row,) = [line for line in csv_text.splitlines() if line.startswith("2026-03-02,")]
        return row.split(",")[9]  # first_action_p90_min

    async with client(desk) as http:
        await sign_in(http, STAFF_USER, NOW)
        assert first_action((await http.get("/figures.csv")).text) == ""  # nobody acted yet
        token = await csrf_of(http)
        response = await http.post(f"/reports/{reports[0].id}/take", data={
            "csrf": token, "patient_id": reports[0].patient_id})
        assert response.status_code == 303
        assert first_action((await http.get("/figures.csv")).text) == "10080.0"  # a week
        desk.clock.advance(minutes=5)  # Quinn's report taken in Telegram, 5 minutes later
        await desk.desk.store.take(reports[1].id, STAFF_USER, now=desk.clock())
        assert first_action((await http.get("/figures.csv")).text) == "10080.0"  # cached
        desk.clock.advance(minutes=5)  # the week was computed 10 minutes ago
        assert first_action((await http.get("/figures.csv")).text) == "10085.0"
