"""The patients aggregate on SQLite, PostgreSQL and its in-memory twin: the same tests, each
way (`PatientStore`, storage/patients.py; `MemoryPatientStore`, storage/patients_memory.py).

What callers rely on: a first message makes a bare row (ids only) and later ones find it,
consent and a name are recorded, a time zone needs a known zone and consent, the pause and
inactive flags, the list of patients check-ins go to, and erasure taking everything of the
patient (and nothing of anyone else).
"""

from __future__ import annotations

import datetime as dt

import pytest

from storage.chat_state import StateKind
from storage.messages import LogEntry
from storage.patients import ConsentRequired
from storage.states import SessionSource
from tests.twins import NOW, Backend

HOUR = dt.timedelta(hours=1)


async def test_unknown_ids_find_nothing(backend: Backend) -> None:
    assert await backend.patients.get(404) is None
    assert await backend.patients.get_by_id(404) is None
    assert await backend.patients.set_checkins_paused(404, True) is False
    assert await backend.patients.reactivate(404) is False
    assert await backend.patients.mark_inactive("blocked", telegram_id=404) == 0
    assert await backend.patients.erase(404) is False


async def test_a_first_message_makes_a_bare_row_found_again_by_either_id(backend: Backend) -> None:
    made = await backend.patients.ensure(11, 110)
    assert (made.telegram_id, made.chat_id, made.name, made.timezone) == (11, 110, None, None)
    assert made.consent_at is None and not made.has_consent
    assert made.active and not made.checkins_paused and made.inactive_reason is None
    assert made.created_at == NOW
    again = await backend.patients.ensure(11, 111)  # the chat id follows the latest update
    assert again.id == made.id and again.chat_id == 111
    assert await backend.patients.get(11) == again
    assert await backend.patients.get_by_id(made.id) == again
    other = await backend.patients.ensure(12, 120)
    assert other.id != made.id


async def test_consent_records_the_name_trimmed_and_makes_the_row_if_missing(
        backend: Backend) -> None:
    backend.clock.advance(minutes=5)
    consented = await backend.patients.record_consent(21, "  Ann " + "x" * 300)
    assert consented.has_consent and consented.consent_at == NOW + dt.timedelta(minutes=5)
    assert consented.name is not None and consented.name.startswith("Ann x")
    assert len(consented.name) == 200
    assert consented.chat_id is None  # made by consent alone: no chat known yet
    kept = await backend.patients.record_consent(21, None, now=NOW + HOUR)
    assert kept.name == consented.name and kept.consent_at == NOW + HOUR
    assert (await backend.patients.ensure(21, 210)).id == consented.id


async def test_a_time_zone_needs_a_known_zone_a_known_patient_and_consent(
        backend: Backend) -> None:
    with pytest.raises(ValueError, match="unknown timezone"):
        await backend.patients.set_timezone(31, "Mars/Olympus")
    with pytest.raises(LookupError):
        await backend.patients.set_timezone(31, "Europe/Paris")
    await backend.patients.ensure(31, 310)
    with pytest.raises(ConsentRequired):
        await backend.patients.set_timezone(31, "Europe/Paris")
    assert (await backend.patients.get(31)).timezone is None  # type: ignore[union-attr]
    await backend.patients.record_consent(31, "Bo")
    assert (await backend.patients.set_timezone(31, "Europe/Paris")).timezone == "Europe/Paris"
    assert (await backend.patients.get(31)).timezone == "Europe/Paris"  # type: ignore[union-attr]


async def test_naive_times_are_refused(backend: Backend) -> None:
    with pytest.raises(ValueError, match="naive"):
        await backend.patients.ensure(41, 410, now=dt.datetime(2025, 6, 2, 9, 0))
    assert await backend.patients.get(41) is None


async def test_pause_inactive_and_reactivate(backend: Backend) -> None:
    await backend.patients.ensure(51, 510)
    assert await backend.patients.set_checkins_paused(51, True) is True
    assert (await backend.patients.get(51)).checkins_paused  # type: ignore[union-attr]
    with pytest.raises(ValueError):
        await backend.patients.mark_inactive("blocked")
    with pytest.raises(ValueError):
        await backend.patients.mark_inactive("blocked", telegram_id=51, chat_id=510)
    with pytest.raises(ValueError):
        await backend.patients.mark_inactive("bored", telegram_id=51)
    assert await backend.patients.mark_inactive("chat not found", chat_id=510) == 1
    gone = await backend.patients.get(51)
    assert gone is not None and not gone.active and gone.inactive_reason == "chat not found"
    assert await backend.patients.reactivate(51) is True
    back = await backend.patients.get(51)
    assert back is not None and back.active and back.inactive_reason is None
    assert back.checkins_paused  # reactivating does not resume paused check-ins


async def test_check_ins_go_to_consenting_active_patients_with_a_chat_in_id_order(
        backend: Backend) -> None:
    for telegram_id in (63, 61, 62, 64):
        await backend.patients.ensure(telegram_id, telegram_id * 10)
    for telegram_id in (63, 61, 64):
        await backend.patients.record_consent(telegram_id, f"P{telegram_id}")
    await backend.patients.record_consent(65, "no chat")  # consent without a chat
    await backend.patients.mark_inactive("blocked", telegram_id=64)
    assert [p.telegram_id for p in await backend.patients.active()] == [63, 61]


async def test_erasure_takes_everything_of_the_patient_and_nothing_else(
        backend: Backend) -> None:
    mine = await backend.patients.record_consent(71, "Cy")
    await backend.patients.ensure(71, 710)
    other = await backend.patients.record_consent(72, "Di")
    await backend.patients.ensure(72, 720)
    for patient in (mine, other):
        await backend.treatments.add(NOW.date(), SessionSource.STAFF, patient_id=patient.id)
    await backend.messages.log_batch([LogEntry(71, "in", "hi", None, None, NOW),
                                      LogEntry(72, "in", "hello", None, None, NOW)])
    report = await backend.plant.report(mine.id)
    kept_report = await backend.plant.report(other.id)
    for telegram_id in (71, 72):
        await backend.chat_states.put(telegram_id, StateKind.PATIENT, {"a": 1}, HOUR)
    await backend.chat_states.put(900, StateKind.STAFF, {"report_id": report}, HOUR)
    await backend.chat_states.put(901, StateKind.STAFF, {"report_id": kept_report}, HOUR)

    assert await backend.patients.erase(71) is True
    assert await backend.patients.get(71) is None
    assert await backend.patients.get_by_id(mine.id) is None
    assert set((await backend.stats.count_rows(mine.id)).values()) == {0}
    assert await backend.chat_states.get(71, StateKind.PATIENT) is None
    assert await backend.chat_states.all_of_kind(StateKind.STAFF) == {
        901: {"report_id": kept_report}}  # the pending reply about the erased report went
    kept = await backend.stats.count_rows(other.id)
    assert kept == {"patients": 1, "treatment_sessions": 1, "invites": 0, "messages": 1,
                    "reports": 1}
    assert await backend.chat_states.get(72, StateKind.PATIENT) == {"a": 1}
    assert await backend.patients.erase(71) is False


async def test_erasure_clears_the_states_of_a_user_without_a_patient_row(
        backend: Backend) -> None:
    await backend.chat_states.put(81, StateKind.PATIENT, {"a": 1}, HOUR)
    assert await backend.patients.erase(81) is False
    assert await backend.chat_states.get(81, StateKind.PATIENT) is None
