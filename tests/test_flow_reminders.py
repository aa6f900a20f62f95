"""Every flow that waits on buttons shows them again: when the patient types something that
is not for the flow (a question, answered as usual) or runs another command, the reminder
under the answer carries the prompt's own buttons (`FlowControl.button_makers`), not only
Cancel, so no patient is left with a prompt they cannot answer; /cancel ends each flow.
A bare "yes" or "no" typed instead of a tap gets the same buttons with a line asking for the
tap, and changes nothing (never the small-talk thumbs-up). Consent and the rule-out Yes / No
are no flow: their buttons stay on their message and keep working after other messages. On
the `Conversation`, services in memory (the e2e test through the fake Bot API is in
test_flows_e2e.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from bot.config import load_settings
from bot.core.conversation import Conversation
from bot.core.replies import Reply
from knowledge.advisor import Advisor, Clinic
from storage.clock import ManualClock
from tests.advisors import shipped
from tests.conversations import consented

pytestmark = pytest.mark.xdist_group("zones")  # the typed place shares the city index

NOW = dt.datetime(2026, 6, 15, 9, 0, tzinfo=dt.UTC)
QUESTION = "can I wear makeup?"

Conv = tuple[Conversation, ManualClock]


@pytest.fixture(scope="module")
def advisor() -> Advisor:
    return shipped(Clinic(name="Glow Clinic"))


@pytest.fixture
async def conv(compose: Any, advisor: Advisor) -> Conv:
    conversation, _, clock = await consented(compose, advisor, NOW)
    return conversation, clock


def data(reply: Reply) -> list[str]:
    return [d for row in reply.buttons for _, d in row]


def shown(replies: list[Reply]) -> list[str]:
    """The buttons of the last message that has any."""
    return next(data(r) for r in reversed(replies) if r.buttons)


async def session_menu(c: Conversation) -> list[Reply]:
    await c.callback(1, 1, "Ana", "session:today")
    return await c.command(1, 1, "Ana", "session")


async def session_overlap(c: Conversation) -> list[Reply]:
    await c.callback(1, 1, "Ana", "session:today")
    return await c.callback(1, 1, "Ana", "session:yesterday")  # within today's course


async def delete_confirm(c: Conversation) -> list[Reply]:
    return await c.command(1, 1, "Ana", "delete")


async def report_question(c: Conversation) -> list[Reply]:
    await c.command(1, 1, "Ana", "report")
    return await c.message(1, 1, "Ana", "can I wear makeup tomorrow?")


async def timezone_choices(c: Conversation) -> list[Reply]:
    await c.callback(1, 1, "Ana", "tz:other")
    return await c.message(1, 1, "Ana", "Springfield")


async def date_to_confirm(c: Conversation) -> list[Reply]:
    await c.callback(1, 1, "Ana", "session:other")
    return await c.message(1, 1, "Ana", "20/12")


STARTS: dict[str, tuple[Callable[[Conversation], Awaitable[list[Reply]]], set[str]]] = {
    "session menu": (session_menu, {"session:today", "session:yesterday", "session:other"}),
    "replace or keep both": (session_overlap, {"sx:replace", "sx:both"}),
    "delete confirm": (delete_confirm, {"delete:yes"}),
    "report question": (report_question, {"flow:send"}),
    "time zone choices": (timezone_choices, {"tz:set:America/Chicago",
                                             "tz:set:America/New_York"}),
    "date to confirm": (date_to_confirm, {"sd:0"}),
}


@pytest.mark.parametrize("name", sorted(STARTS))
async def test_a_question_meanwhile_keeps_the_prompts_buttons(name: str, conv: Conv) -> None:
    c, _ = conv
    begin, own = STARTS[name]
    prompt = shown(await begin(c))
    assert own <= set(prompt) and prompt[-1] == "flow:cancel", prompt
    replies = await c.message(1, 1, "Ana", QUESTION)
    assert "makeup" in replies[0].text.lower()
    assert shown(replies) == prompt  # the same choices, in the same order, and Cancel


@pytest.mark.parametrize("typed", ["yes", "Yes!", "ok", "nope"])
@pytest.mark.parametrize("name", sorted(STARTS))
async def test_a_bare_yes_or_no_typed_asks_for_a_tap_and_does_nothing(name: str, typed: str,
                                                                       conv: Conv) -> None:
    c, _ = conv
    begin, _ = STARTS[name]
    prompt = shown(await begin(c))
    (again,) = await c.message(1, 1, "Ana", typed)
    assert again.text.startswith("Please tap one of the buttons below")
    assert "👍" not in again.text
    assert data(again) == prompt  # the same choices, nothing done
    (still,) = await c.command(1, 1, "Ana", "cancel")  # the flow is still open
    assert "nothing to cancel" not in still.text


@pytest.mark.parametrize("name", sorted(STARTS))
async def test_another_command_meanwhile_keeps_the_prompts_buttons(name: str,
                                                                   conv: Conv) -> None:
    c, _ = conv
    begin, _ = STARTS[name]
    prompt = shown(await begin(c))
    replies = await c.command(1, 1, "Ana", "help")
    assert shown(replies) == prompt


@pytest.mark.parametrize("name", sorted(STARTS))
async def test_cancel_ends_every_waiting_flow(name: str, conv: Conv) -> None:
    c, _ = conv
    begin, _ = STARTS[name]
    await begin(c)
    await c.message(1, 1, "Ana", QUESTION)
    (closing,) = await c.command(1, 1, "Ana", "cancel")
    assert "nothing to cancel" not in closing.text
    (nothing,) = await c.command(1, 1, "Ana", "cancel")
    assert "nothing to cancel" in nothing.text


async def test_the_menu_shown_again_still_changes_the_session(conv: Conv) -> None:
    c, _ = conv
    await session_menu(c)
    replies = await c.message(1, 1, "Ana", QUESTION)
    (remove,) = [d for d in shown(replies) if d.startswith("sx:remove:")]
    (done,) = await c.callback(1, 1, "Ana", remove)
    assert "removed" in done.text.lower()


async def test_replace_or_keep_both_shown_again_still_answers(conv: Conv) -> None:
    c, _ = conv
    asked = await session_overlap(c)
    assert "Replace" in " ".join(label for row in asked[-1].buttons for label, _ in row)
    replies = await c.message(1, 1, "Ana", QUESTION)
    labels = [label for r in replies for row in r.buttons for label, _ in row]
    assert any(label.startswith("Replace") and "Jun 2026" in label for label in labels)
    (logged,) = await c.callback(1, 1, "Ana", "sx:both")
    assert not logged.notice and "2026-06-14" in logged.text


async def test_a_time_zone_choice_shown_again_sets_the_zone(conv: Conv) -> None:
    c, _ = conv
    await timezone_choices(c)
    await c.message(1, 1, "Ana", QUESTION)
    (done,) = await c.callback(1, 1, "Ana", "tz:set:America/Chicago")
    assert "America/Chicago" in done.text


async def test_an_unknown_place_after_an_ambiguous_one_drops_the_old_choices(
        conv: Conv) -> None:
    c, _ = conv
    await timezone_choices(c)
    replies = await c.message(1, 1, "Ana", "Qwzxv")
    assert shown(replies) == ["flow:cancel"]


async def test_the_rule_out_question_still_answers_after_another_message(
        compose: Any, advisor: Advisor) -> None:
    """Not a flow: its Yes / No stay on its message and count until another rule-out
    question is asked."""
    settings = load_settings(None, AFTERCARE_TIMEZONE="Europe/London")
    services = await compose(settings, ManualClock(NOW), url="memory", advisor=advisor)
    c: Conversation = services.patient.conversation
    await c.start(2, 2, "Noa")
    await c.callback(2, 2, "Noa", "consent:yes")
    await services.stores.treatments.add(NOW.date(), "staff", telegram_id=2, now=NOW)
    (unsure,) = await c.message(2, 2, "Noa", "i feel a bit sick and dizzy")
    assert data(unsure)[:2] == ["fu:airway:y", "fu:airway:n"]
    await c.message(2, 2, "Noa", QUESTION)
    (answer, *_) = await c.callback(2, 2, "Noa", "fu:airway:n")
    assert not answer.notice


async def test_consent_still_answers_after_other_messages(
        compose: Any, advisor: Advisor) -> None:
    settings = load_settings(None, AFTERCARE_TIMEZONE="Europe/London")
    services = await compose(settings, ManualClock(NOW), url="memory", advisor=advisor)
    c: Conversation = services.patient.conversation
    (welcome,) = await c.start(3, 3, "Kim")
    assert "consent:yes" in data(welcome)
    await c.message(3, 3, "Kim", QUESTION)
    (reply,) = await c.command(3, 3, "Kim", "session")
    assert "consent:yes" in data(reply)  # what needs consent offers it again
    (thanks,) = await c.callback(3, 3, "Kim", "consent:yes")
    assert not thanks.notice and "tz:keep" in data(thanks)


async def test_after_a_red_flag_an_ok_in_a_waiting_flow_gets_the_safety_line(conv: Conv) -> None:
    c, _ = conv
    await c.message(1, 1, "Ana", "my tongue is swelling up and i cant swallow")
    await delete_confirm(c)
    replies = await c.message(1, 1, "Ana", "ok")
    assert "still open" in replies[0].text  # the emergency's line, not a request for a tap
    assert not replies[0].text.startswith("Please tap")


@pytest.mark.parametrize("name", sorted(set(STARTS) - {"report question"}))
async def test_a_red_flag_typed_in_a_waiting_flow_is_answered_as_one_first(name: str,
                                                                           conv: Conv) -> None:
    # "lips swelling" while a city or a date is awaited was looked up as a place ("I couldn't
    # find a time zone for ...") and never reached the clinic
    c, _ = conv
    begin, _ = STARTS[name]
    prompt = shown(await begin(c))
    replies = await c.message(1, 1, "Ana", "lips swelling")
    assert replies[0].text.startswith("⚠️") and "999" in replies[0].text
    assert shown(replies) == prompt  # the flow is still there, shown again


async def test_a_city_awaited_red_flag_reaches_the_clinic_then_the_city_is_read(
        conv: Conv) -> None:
    c, _ = conv
    await c.callback(1, 1, "Ana", "tz:other")
    replies = await c.message(1, 1, "Ana", "cant breathe")
    assert replies[0].text.startswith("⚠️")
    assert "couldn't find a time zone" not in " ".join(r.text for r in replies)
    (done,) = await c.message(1, 1, "Ana", "Madrid")
    assert "Europe/Madrid" in done.text
