"""The invites aggregate on SQLite, PostgreSQL and its in-memory twin: the same tests, each
way (`InviteStore`, storage/invites.py; `MemoryInviteStore`, storage/invites_memory.py).

What callers rely on: staff make a patient record (with its treatment date) and a code; the
code links the Telegram user who opens it first, is refused when unknown, expired or used by
someone else, and merges the invited record into the one a user already had.
"""

from __future__ import annotations

import datetime as dt

from storage.invites import RedeemStatus
from storage.states import SessionSource
from tests.twins import NOW, Backend

TTL = dt.timedelta(days=7)
TODAY = NOW.date()


async def test_an_invite_makes_a_named_record_with_its_treatment_date(backend: Backend) -> None:
    invite = await backend.invites.create("  Eve  ", TODAY, TTL)
    assert len(invite.code) == 22 and invite.created_at == NOW
    assert invite.expires_at == NOW + TTL and invite.used_at is None
    assert await backend.invites.get(invite.code) == invite
    assert await backend.invites.get("nope") is None
    patient = await backend.patients.get_by_id(invite.patient_id)
    assert patient is not None
    assert (patient.name, patient.telegram_id, patient.has_consent) == ("Eve", None, False)
    [session] = await backend.treatments.of_patient(invite.patient_id)
    assert (session.session_date, session.source) == (TODAY, "invite")
    undated = await backend.invites.create("Fay", None, TTL)
    assert undated.code != invite.code
    assert await backend.treatments.of_patient(undated.patient_id) == []


async def test_unknown_and_empty_codes_are_refused(backend: Backend) -> None:
    for code in ("", "   ", "not-a-code"):
        result = await backend.invites.redeem(code, 1, 10)
        assert result.status is RedeemStatus.UNKNOWN and not result.ok
    assert await backend.patients.get(1) is None


async def test_the_first_user_is_linked_again_and_again_others_are_refused(
        backend: Backend) -> None:
    invite = await backend.invites.create("Gus", TODAY, TTL)
    backend.clock.advance(hours=1)
    first = await backend.invites.redeem(f" {invite.code} ", 2, 20)
    assert first.status is RedeemStatus.OK and first.ok
    assert first.patient is not None and first.patient.id == invite.patient_id
    assert (first.patient.telegram_id, first.patient.chat_id) == (2, 20)
    used = await backend.invites.get(invite.code)
    assert used is not None and used.used_by_telegram_id == 2
    assert used.used_at == NOW + dt.timedelta(hours=1)
    again = await backend.invites.redeem(invite.code, 2, 20)
    assert again.status is RedeemStatus.ALREADY_LINKED and again.patient == first.patient
    other = await backend.invites.redeem(invite.code, 3, 30)
    assert other.status is RedeemStatus.USED and other.patient is None
    assert await backend.patients.get(3) is None


async def test_an_expired_invite_links_nobody(backend: Backend) -> None:
    invite = await backend.invites.create("Hal", None, TTL)
    result = await backend.invites.redeem(invite.code, 4, 40, now=NOW + TTL)
    assert result.status is RedeemStatus.EXPIRED
    assert (await backend.invites.get(invite.code)).used_at is None  # type: ignore[union-attr]
    assert await backend.patients.get(4) is None


async def test_a_user_with_a_record_keeps_it_and_the_invited_record_merges_into_it(
        backend: Backend) -> None:
    mine = await backend.patients.ensure(5, 50)
    await backend.patients.record_consent(5, None)
    own = await backend.treatments.add(TODAY - dt.timedelta(days=30), SessionSource.STAFF,
                                       patient_id=mine.id)
    invite = await backend.invites.create("Ida", TODAY, TTL)
    await backend.plant.report(invite.patient_id)
    result = await backend.invites.redeem(invite.code, 5, 51)
    assert result.status is RedeemStatus.ALREADY_LINKED and result.ok
    assert result.patient is not None and result.patient.id == mine.id
    assert (result.patient.name, result.patient.chat_id) == ("Ida", 51)  # name filled in
    assert result.patient.has_consent  # the record kept holds the consent
    assert await backend.patients.get_by_id(invite.patient_id) is None  # merged away
    dates = [s.session_date for s in await backend.treatments.of_patient(mine.id)]
    assert dates == [own.session_date, TODAY]
    assert (await backend.invites.get(invite.code)).patient_id == mine.id  # type: ignore[union-attr]
    assert await backend.stats.count_patients() == 1
    assert (await backend.stats.count_rows(mine.id))["reports"] == 1  # moved over too
    again = await backend.invites.redeem(invite.code, 5, 51)
    assert again.status is RedeemStatus.ALREADY_LINKED


async def test_a_merge_keeps_the_users_own_name(backend: Backend) -> None:
    await backend.patients.record_consent(6, "Jo")
    invite = await backend.invites.create("Joanna", None, TTL)
    result = await backend.invites.redeem(invite.code, 6, 60)
    assert result.patient is not None and result.patient.name == "Jo"
