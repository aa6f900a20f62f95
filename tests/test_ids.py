"""Typed and callback ids: "²", other non-ASCII digits and out-of-range numbers are refused
(and audited as refusals), never raised on (issue 14, point 6)."""

from __future__ import annotations

import pytest

from bot.core.desk import parse_callback
from storage.ids import row_id, telegram_id


@pytest.mark.parametrize("text", ["²", "١٢", "99999999999", "2147483648", "0", "-3", "", "#",
                                  "1e3", " 12a"])
def test_row_ids_out_of_shape_or_range_are_none(text: str) -> None:
    assert row_id(text) is None


def test_row_ids_in_range_are_read() -> None:
    assert [row_id(t) for t in ("12", "#12", " 7 ", "2147483647")] == [12, 12, 7, 2147483647]


def test_telegram_ids() -> None:
    assert telegram_id("-1001234567890") == -1001234567890
    assert telegram_id("²") is None and telegram_id("99999999999999999999") is None


@pytest.mark.parametrize("data", ["st:take:²", "st:take:99999999999", "st:take:-1"])
def test_callback_data_with_odd_digits_is_malformed(data: str) -> None:
    assert parse_callback(data) is None
