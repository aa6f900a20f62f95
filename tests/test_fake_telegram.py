"""Tests of the fake Telegram Bot API server, driven by a real python-telegram-bot ``Bot``.

They check that the fake answers like Telegram (so bot tests built on it are meaningful):
requests real Telegram would refuse are refused and recorded, scripted errors surface as
PTB's exceptions, injected updates parse into PTB ``Update`` objects, and the standalone
subprocess mode with its control API works.
"""
# These tests read Optional fields of Bot API objects the fake just produced
# (update.message.text); a missing field fails the test anyway, so no narrowing asserts:
# mypy: disable-error-code="union-attr"

from __future__ import annotations

import asyncio
import json
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import telegram
from aiohttp import web
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Conflict, Forbidden, NetworkError, RetryAfter
from telegram.request import HTTPXRequest

from bot.telegram.bot_api import tls_context
from bot.telegram.sender import retry_after_seconds
from tests.fake_telegram import FakeTelegram
from tests.fake_telegram.spec import SPEC_PATH, load_spec

TOKEN = "123456:TEST-token-for-fake"
TLS: dict[str, Any] = {"httpx_kwargs": {"verify": tls_context()}}
REPO_ROOT = Path(__file__).resolve().parents[1]


def plain_bot(base_url: str, **keywords: Any) -> telegram.Bot:
    """A PTB Bot with its default HTTP clients, on the one TLS setup the product's clients
    share (bot/telegram/bot_api.py `tls_context`: each default client would read the whole CA
    bundle again, about 20 ms of CPU, for a fake that speaks plain HTTP)."""
    return telegram.Bot(TOKEN, base_url=base_url, request=HTTPXRequest(**TLS),
                        get_updates_request=HTTPXRequest(**TLS), **keywords)


@pytest.fixture
async def bot(fake_telegram: FakeTelegram) -> AsyncIterator[telegram.Bot]:
    """An initialised PTB Bot talking to the fake."""
    async with plain_bot(fake_telegram.base_url,
                         base_file_url=fake_telegram.base_file_url) as ptb_bot:
        yield ptb_bot


async def raw_post(fake: FakeTelegram, method: str, data: dict[str, Any]) -> tuple[int, Any]:
    """POST form data the way a hand-written client would; return (status, JSON body)."""
    async with (aiohttp.ClientSession() as session,
                session.post(f"{fake.base_url}{TOKEN}/{method}", data=data) as resp):
        return resp.status, await resp.json()


# --- spec & basic answers ---------------------------------------------------------------------
def test_spec_is_the_repo_copy() -> None:
    assert SPEC_PATH == REPO_ROOT / "tests" / "fake_telegram" / "api.json"
    spec = load_spec()
    assert spec["version"] == "Bot API 10.1"
    assert "sendMessage" in spec["methods"]


async def test_initialize_calls_get_me(bot: telegram.Bot, fake_telegram: FakeTelegram) -> None:
    assert bot.username == "aftercare_test_bot"
    assert bot.bot.is_bot is True
    assert [r.method for r in fake_telegram.requests] == ["getMe"]


async def test_send_message_is_answered_and_recorded(
        bot: telegram.Bot, fake_telegram: FakeTelegram) -> None:
    first = await bot.send_message(42, "Day 1: keep your skin clean.")
    second = await bot.send_message(42, "Day 2")
    other = await bot.send_message(43, "Hello")

    assert first.text == "Day 1: keep your skin clean."
    assert first.chat.id == 42 and first.chat.type == "private"
    assert first.from_user.username == "aftercare_test_bot"
    assert second.message_id == first.message_id + 1
    assert other.message_id == 1  # ids are per chat
    sent = fake_telegram.sent_messages(42)
    assert [(m["text"], m["message_id"]) for m in sent] == [
        ("Day 1: keep your skin clean.", first.message_id), ("Day 2", second.message_id)]
    assert sent[0]["chat_id"] == 42  # decoded to int


async def test_inline_keyboard_is_decoded_and_echoed(
        bot: telegram.Bot, fake_telegram: FakeTelegram) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="triage:yes"),
                                    InlineKeyboardButton("Clinic", url="https://example.com")]])
    message = await bot.send_message(42, "Any redness?", reply_markup=markup)

    assert message.reply_markup == markup
    params = fake_telegram.calls("sendMessage")[0].params
    assert params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "triage:yes"


# --- validation -----------------------------------------------------------------------------
async def test_well_formed_html_is_accepted(bot: telegram.Bot) -> None:
    message = await bot.send_message(
        42, "<b>Avoid</b> sun &amp; <i>make-up</i> for <a href=\"https://x.org\">24 h</a>",
        parse_mode="HTML")

    assert message.text == "Avoid sun & make-up for 24 h"
    assert [e.type for e in message.entities] == ["bold", "italic", "text_link"]


@pytest.mark.parametrize("text", ["<b>unclosed", "<b>x</i>", "1 < 2", "<div>x</div>",
                                  "a </b>", "A & B"])
async def test_broken_html_is_rejected_like_telegram(
        bot: telegram.Bot, fake_telegram: FakeTelegram, text: str) -> None:
    with pytest.raises(BadRequest, match="(?i)can't parse entities"):
        await bot.send_message(42, text, parse_mode="HTML")

    assert len(fake_telegram.violations) == 1
    assert fake_telegram.sent_messages() == []
    fake_telegram.violations.clear()


async def test_too_long_and_empty_text_are_rejected(
        bot: telegram.Bot, fake_telegram: FakeTelegram) -> None:
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(42, "x" * 4097)
    with pytest.raises(BadRequest, match="(?i)message text is empty"):
        await bot.send_message(42, "<b></b>", parse_mode="HTML")
    assert (await bot.send_message(42, "x" * 4096)).text == "x" * 4096
    assert len(fake_telegram.violations) == 2
    fake_telegram.violations.clear()


async def test_unknown_parameter_is_flagged(fake_telegram: FakeTelegram) -> None:
    status, body = await raw_post(fake_telegram, "sendMessage",
                                  {"chat_id": "42", "text": "hi", "colour": "red"})

    assert status == 400
    assert body == {"ok": False, "error_code": 400,
                    "description": "Bad Request: unknown parameter colour"}
    assert [v.description for v in fake_telegram.violations] == [body["description"]]
    fake_telegram.violations.clear()


async def test_missing_required_parameter_is_400(fake_telegram: FakeTelegram) -> None:
    status, body = await raw_post(fake_telegram, "sendMessage", {"chat_id": "42"})

    assert status == 400
    assert body["description"] == "Bad Request: message text is empty"
    assert len(fake_telegram.violations) == 1
    fake_telegram.violations.clear()


async def test_wrong_types_are_400(fake_telegram: FakeTelegram) -> None:
    bad_int = await raw_post(fake_telegram, "sendMessage",
                             {"chat_id": "42", "text": "hi", "message_thread_id": "abc"})
    bad_bool = await raw_post(fake_telegram, "sendMessage",
                              {"chat_id": "42", "text": "hi", "protect_content": "yes"})
    bad_json = await raw_post(fake_telegram, "sendMessage",
                              {"chat_id": "42", "text": "hi", "reply_markup": "{not json"})

    assert [s for s, _ in (bad_int, bad_bool, bad_json)] == [400, 400, 400]
    assert "message_thread_id" in bad_int[1]["description"]
    assert "reply_markup" in bad_json[1]["description"]
    assert len(fake_telegram.violations) == 3
    fake_telegram.violations.clear()


async def test_unknown_method_is_404(fake_telegram: FakeTelegram) -> None:
    status, body = await raw_post(fake_telegram, "sendTelepathy", {"chat_id": "1"})

    assert status == 404
    assert body == {"ok": False, "error_code": 404, "description": "Not Found"}
    assert len(fake_telegram.violations) == 1
    fake_telegram.violations.clear()


async def test_callback_data_over_64_bytes_is_rejected(
        bot: telegram.Bot, fake_telegram: FakeTelegram) -> None:
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="é" * 33)]])
    no_action = '{"inline_keyboard": [[{"text": "x"}]]}'

    with pytest.raises(BadRequest, match="(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(42, "pick", reply_markup=too_long)
    status, body = await raw_post(fake_telegram, "sendMessage",
                                  {"chat_id": "42", "text": "t", "reply_markup": no_action})
    assert status == 400 and "exactly one" in body["description"]
    fake_telegram.violations.clear()


async def test_invalid_bot_command_is_rejected(
        bot: telegram.Bot, fake_telegram: FakeTelegram) -> None:
    assert await bot.set_my_commands([("start", "Start aftercare")]) is True
    with pytest.raises(BadRequest, match="(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([("Start", "Start aftercare")])
    assert [c.command for c in await bot.get_my_commands()] == ["start"]
    fake_telegram.violations.clear()


# --- scripted errors ------------------------------------------------------------------------
async def test_429_raises_retry_after(bot: telegram.Bot, fake_telegram: FakeTelegram) -> None:
    fake_telegram.fail_next("sendMessage", 429, retry_after=3)

    with pytest.raises(RetryAfter) as info:
        await bot.send_message(42, "hi")
    assert retry_after_seconds(info.value) == 3
    assert (await bot.send_message(42, "again")).text == "again"  # only the next call fails


async def test_429_body_has_telegram_shape(fake_telegram: FakeTelegram) -> None:
    fake_telegram.fail_next("sendMessage", 429, retry_after=3)

    status, body = await raw_post(fake_telegram, "sendMessage", {"chat_id": "1", "text": "x"})
    assert status == 429
    assert body == {"ok": False, "error_code": 429,
                    "description": "Too Many Requests: retry after 3",
                    "parameters": {"retry_after": 3}}


async def test_403_and_400_and_500_map_to_ptb_errors(
        bot: telegram.Bot, fake_telegram: FakeTelegram) -> None:
    fake_telegram.fail_next("sendMessage", 403)
    fake_telegram.fail_next("sendMessage", 400, chat_id=7)
    fake_telegram.fail_next("sendMessage", 500)

    with pytest.raises(Forbidden, match="(?i)bot was blocked by the user"):
        await bot.send_message(42, "a")
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.send_message(7, "b")
    with pytest.raises(NetworkError, match="(?i)Internal Server Error"):
        await bot.send_message(42, "c")
    assert [r.status for r in fake_telegram.calls("sendMessage")] == [403, 400, 500]
    assert fake_telegram.sent_messages() == []


async def test_fail_next_applies_only_to_its_chat_and_times(
        bot: telegram.Bot, fake_telegram: FakeTelegram) -> None:
    fake_telegram.fail_next("sendMessage", 400, chat_id=7, times=2)

    await bot.send_message(8, "other chat is fine")
    for _ in range(2):
        with pytest.raises(BadRequest):
            await bot.send_message(7, "x")
    await bot.send_message(7, "third try works")
    assert [m["chat_id"] for m in fake_telegram.sent_messages()] == [8, 7]


async def test_delay_option_slows_the_answer(
        bot: telegram.Bot, fake_telegram: FakeTelegram) -> None:
    fake_telegram.fail_next("sendMessage", delay=0.3)

    started = time.monotonic()
    await bot.send_message(42, "slow")
    assert time.monotonic() - started >= 0.3


async def test_blocked_chat_gets_403_until_unblocked(
        bot: telegram.Bot, fake_telegram: FakeTelegram) -> None:
    fake_telegram.block_chat(42)
    with pytest.raises(Forbidden):
        await bot.send_message(42, "reminder")
    with pytest.raises(Forbidden):
        await bot.send_chat_action(42, "typing")
    await bot.send_message(43, "someone else")
    fake_telegram.unblock_chat(42)
    await bot.send_message(42, "reminder")
    assert [m["chat_id"] for m in fake_telegram.sent_messages()] == [43, 42]


async def test_known_chats_strictness(bot: telegram.Bot, fake_telegram: FakeTelegram) -> None:
    fake_telegram.known_chats = {42}
    await bot.send_message(42, "ok")
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.send_message(99, "nobody")
    fake_telegram.user_message(99, "hi")  # writing to the bot makes the chat known
    await bot.send_message(99, "now ok")


async def test_edit_with_same_content_is_not_modified(
        bot: telegram.Bot, fake_telegram: FakeTelegram) -> None:
    sent = await bot.send_message(42, "Day 1")
    edited = await bot.edit_message_text("Day 1 (done)", 42, sent.message_id)
    assert edited.text == "Day 1 (done)"

    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_text("Day 1 (done)", 42, sent.message_id)
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await bot.edit_message_text("x", 42, 999)


# --- rate limits -----------------------------------------------------------------------------
async def test_per_chat_rate_limit(bot: telegram.Bot, fake_telegram: FakeTelegram) -> None:
    fake_telegram.rate_limit(global_per_sec=30, per_chat_per_sec=1)

    await bot.send_message(42, "first")
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(42, "second within a second")
    await bot.send_message(43, "another chat is fine")

    assert retry_after_seconds(info.value) == 1
    assert fake_telegram.rate_limited_count == 1
    assert len(fake_telegram.sent_messages()) == 2


async def test_global_rate_limit(bot: telegram.Bot, fake_telegram: FakeTelegram) -> None:
    fake_telegram.rate_limit(global_per_sec=2, per_chat_per_sec=None)

    await bot.send_message(1, "a")
    await bot.send_message(2, "b")
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(3, "c")
    assert retry_after_seconds(info.value) >= 1
    assert fake_telegram.rate_limited_count == 1


# --- updates ------------------------------------------------------------------------------
async def test_get_updates_parses_into_ptb_updates(
        bot: telegram.Bot, fake_telegram: FakeTelegram) -> None:
    menu = await bot.send_message(
        42, "How do you feel?",
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("OK", callback_data="ok")]]))
    fake_telegram.user_message(42, "/start clinic7", first_name="Ana")
    fake_telegram.callback_query(42, "ok", menu.message_id)

    updates = await bot.get_updates(timeout=5)

    assert len(updates) == 2
    command, tap = updates
    assert command.message.text == "/start clinic7"
    assert command.message.entities[0].type == "bot_command"
    assert command.message.entities[0].length == len("/start")
    assert command.effective_user.first_name == "Ana"
    assert command.effective_chat.id == 42
    assert tap.callback_query.data == "ok"
    assert tap.callback_query.message.message_id == menu.message_id
    assert tap.callback_query.message.text == "How do you feel?"
    assert tap.effective_user.id == 42
    assert tap.update_id > command.update_id


async def test_offset_confirms_updates(bot: telegram.Bot, fake_telegram: FakeTelegram) -> None:
    first = fake_telegram.user_message(5, "one")
    fake_telegram.user_message(5, "two")

    updates = await bot.get_updates(offset=first["update_id"] + 1)
    assert [u.message.text for u in updates] == ["two"]
    assert await bot.get_updates(offset=updates[-1].update_id + 1) == ()


async def test_long_poll_waits_for_an_update(
        bot: telegram.Bot, fake_telegram: FakeTelegram) -> None:
    """A getUpdates with nothing to deliver is held until an update comes, then answers with
    it; one asking to be held 30 s is held at most the fake's 1 s (the poll's hold is read
    from the fake, not timed)."""
    polling = asyncio.create_task(bot.get_updates(timeout=30))
    await fake_telegram.wait_for(lambda: len(fake_telegram.handlers.poll_waits) == 1)
    fake_telegram.user_voice(5)  # after the poll reached the fake with nothing to deliver
    updates = await polling
    assert updates[0].message.voice.mime_type == "audio/ogg"  # (an empty answer: not held)

    assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=30) == ()
    assert fake_telegram.handlers.poll_waits == [1.0, 1.0]  # long-poll is capped at 1 s


async def test_other_update_kinds_parse(bot: telegram.Bot, fake_telegram: FakeTelegram) -> None:
    fake_telegram.user_sticker(5)
    fake_telegram.user_document(5, caption="my results")
    fake_telegram.user_location(5)
    fake_telegram.group_message(5, "hello group")
    original = fake_telegram.user_message(5, "typo")
    fake_telegram.edited_message(5, original["message"]["message_id"], "fixed")
    fake_telegram.my_chat_member(5, new_status="kicked")

    updates = await bot.get_updates()

    assert updates[0].message.sticker.emoji == "👍"
    assert updates[1].message.document.file_name == "report.pdf"
    assert updates[1].message.caption == "my results"
    assert updates[2].message.location.latitude == pytest.approx(45.815)
    assert updates[3].effective_chat.type == "supergroup" and updates[3].effective_chat.id < 0
    assert updates[5].edited_message.text == "fixed"
    assert updates[6].my_chat_member.new_chat_member.status == "kicked"


async def test_user_photo_can_be_downloaded(
        bot: telegram.Bot, fake_telegram: FakeTelegram) -> None:
    fake_telegram.user_photo(5, content=b"JPEGDATA")
    (update,) = await bot.get_updates()

    tg_file = await update.message.photo[-1].get_file()
    assert bytes(await tg_file.download_as_bytearray()) == b"JPEGDATA"


async def test_send_photo_uploads_multipart(
        bot: telegram.Bot, fake_telegram: FakeTelegram) -> None:
    message = await bot.send_photo(42, b"\x89PNG fake", caption="<b>Day 3</b>",
                                   parse_mode="HTML")

    assert message.caption == "Day 3"
    params = fake_telegram.sent_messages(42)[0]
    assert params["method"] == "sendPhoto"
    assert params["photo"]["size"] == len(b"\x89PNG fake")


async def test_webhook_delivery_and_conflict(
        bot: telegram.Bot, fake_telegram: FakeTelegram) -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"),
                         await request.json()))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        status = await fake_telegram.post_update_to(url, {"update_id": 1}, secret_token="s3")
        assert status == 200
        await bot.set_webhook(url, secret_token="s3")
        with pytest.raises(Conflict):
            await bot.get_updates()
        pushed = fake_telegram.user_message(5, "via webhook")
        await fake_telegram.wait_for(lambda: len(received) == 2, timeout=3)
    finally:
        await runner.cleanup()
    assert received[0] == ("s3", {"update_id": 1})
    assert received[1] == ("s3", pushed)
    assert (await bot.get_webhook_info()).url == url


# --- standalone subprocess mode --------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _control(session: aiohttp.ClientSession, root: str, name: str,
                   body: dict[str, Any]) -> Any:
    async with session.post(f"{root}/_control/{name}", json=body) as resp:
        payload = await resp.json()
        assert resp.status == 200, payload
        return payload["result"]


async def test_standalone_mode_control_api() -> None:
    port = _free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.fake_telegram", "--port", str(port),
        cwd=REPO_ROOT, stdout=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    try:
        ready = (await asyncio.wait_for(proc.stdout.readline(), 15)).decode()
        assert ready.strip() == f"FAKE_TELEGRAM_READY http://127.0.0.1:{port}"
        root = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{root}/_control/update",
                                    json={"kind": "message", "user_id": 7, "text": "hello"}) as r:
                assert r.status == 200
            async with plain_bot(f"{root}/bot") as remote_bot:
                updates = await remote_bot.get_updates()
                await remote_bot.send_message(7, "hi Ana")
                await _control(session, root, "fail", {"method": "sendMessage",
                                                       "error_code": 429, "retry_after": 2})
                with pytest.raises(RetryAfter):
                    await remote_bot.send_message(7, "too fast")
                await _control(session, root, "block", {"chat_id": 8})
                with pytest.raises(Forbidden):
                    await remote_bot.send_message(8, "blocked")
            async with session.get(f"{root}/_control/requests") as r:
                recorded = (await r.json())["result"]
            async with session.get(f"{root}/_control/sent_messages?chat_id=7") as r:
                sent = (await r.json())["result"]
            await _control(session, root, "clear", {})
            async with session.get(f"{root}/_control/requests") as r:
                after_clear = (await r.json())["result"]
        assert [u.message.text for u in updates] == ["hello"]
        assert [(rec["method"], rec["status"]) for rec in recorded] == [
            ("getMe", 200), ("getUpdates", 200), ("sendMessage", 200), ("sendMessage", 429),
            ("sendMessage", 403)]
        assert after_clear == []
        assert [m["text"] for m in sent] == ["hi Ana"]
        json.dumps(recorded)  # the control API output is plain JSON
    finally:
        if proc.returncode is None:
            proc.terminate()
        await asyncio.wait_for(proc.wait(), 5)
    assert proc.returncode == 0


async def test_unmodelled_valid_methods_answer_generically(
        bot: telegram.Bot, fake_telegram: FakeTelegram) -> None:
    location = await bot.send_location(42, latitude=45.8, longitude=15.9)
    described = await bot.set_my_description("Aftercare for your skin")

    assert location.chat.id == 42 and location.message_id == 1
    assert described is True
    assert [r.method for r in fake_telegram.requests[1:]] == ["sendLocation", "setMyDescription"]
    assert fake_telegram.calls("setMyDescription")[0].params == {
        "description": "Aftercare for your skin"}
