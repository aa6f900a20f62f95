"""Typed and callback ids: "²", other non-ASCII digits and out-of-range numbers are refused
(and audited as refusals), never raised on (issue 14, point 6)."""

from __future__ import annotations

import pytest

from bot.core.desk import card_press
from storage.ids import parse_callback, row_id, telegram_id


@pytest.mark.parametrize("text", ["²", "١٢", "99999999999", "2147483648", "0", "-3", "", "#",
                                  "1e3", " 12a"])
def test_row_ids_out_of_shape_or_range_are_none(text: str) -> None:
    assert row_id(text) is None


def test_row_ids_in_range_are_read() -> None:
    assert [row_id(t) for t in ("12", "#12", " 7 ", "2147483647")] == [12, 12, 7, 2147483647]


def test_telegram_ids() -> None:
    assert telegram_id("-1001234567890") == -1001234567890
    assert telegram_id("²") is None and telegram_id("99999999999999999999") is None


@pytest.mark.parametrize("data", ["st:take:²", "st:take:99999999999", "st:take:-1", "st:take:0",
                                  "st:take", "st:eat:12", "st:take:12:7:1", "ci:take:12"])
def test_callback_data_with_odd_digits_is_malformed(data: str) -> None:
    assert card_press(data) is None


def test_card_presses_and_checkin_answers_share_one_reader() -> None:
    assert card_press("st:take:12:7") == ("take", 12, 7)
    assert card_press("st:resolve:12") == ("resolve", 12, None)
    assert parse_callback("ci:12:0", "ci", counts=(2,)).numbers == (12, 0)  # type: ignore[union-attr]
    for odd in ("ci:12", "ci:12:-1", "ci:12: 1", "ci:12:1_0", "ci:12:²", "st:12:0"):
        assert parse_callback(odd, "ci", counts=(2,)) is None
