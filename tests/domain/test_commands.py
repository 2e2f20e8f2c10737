"""Reading the staff's commands: names at the start, away dates, digest times."""

from __future__ import annotations

import re
from datetime import date, time

import pytest

from bot.domain.commands import (
    AwayRequest,
    close_matches,
    leading_names,
    parse_away,
    parse_digest,
    telegram_id,
    whole_number,
)

MONDAY = date(2026, 11, 30)


def test_leading_names_longest_first_keeping_the_rest_as_typed() -> None:
    assert leading_names("Mary Ann  see you\nsoon") == [
        ("Mary Ann see you soon", ""),
        ("Mary Ann see you", "soon"),
        ("Mary Ann see", "you\nsoon"),
        ("Mary Ann", "see you\nsoon"),
        ("Mary", "Ann  see you\nsoon"),
    ]
    assert leading_names("") == []
    assert len(leading_names("a b c d e f g h")) == 6


@pytest.mark.parametrize(
    ("typed", "number", "user_id"),
    [
        ("42", 42, 42),
        ("0", 0, None),
        ("007", 7, 7),
        (str(2**52 - 1), 2**52 - 1, 2**52 - 1),
        (str(2**52), 2**52, None),
        ("9" * 30, int("9" * 30), None),
        ("-5", None, None),
        ("4 2", None, None),
        ("", None, None),
        ("²", None, None),  # Python calls these digits; int() refuses the first
        ("٣", None, None),
    ],
)
def test_numbers_and_telegram_ids_as_typed(
    typed: str, number: int | None, user_id: int | None
) -> None:
    assert whole_number(typed) == number
    assert telegram_id(typed) == user_id


def test_close_matches_find_typos_and_missing_words() -> None:
    aliases = ["Alex", "Alexis", "Bo", "Mary Ann"]
    assert close_matches("Alx hello", aliases)[:1] == ["Alex"]
    assert close_matches("mary hello", aliases) == ["Mary Ann"]
    assert close_matches("Zed hello", aliases) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", AwayRequest(None, None)),
        ("Back soon", AwayRequest(None, "Back soon")),
        ("until friday", AwayRequest(date(2026, 12, 4), None)),
        ("until Fri Back on Friday", AwayRequest(date(2026, 12, 4), "Back on Friday")),
        ("until monday", AwayRequest(date(2026, 12, 7), None)),  # the next Monday, not today
        ("until 2026-11-30", AwayRequest(MONDAY, None)),  # today: away through today
        ("UNTIL 2027-01-15 New year", AwayRequest(date(2027, 1, 15), "New year")),
    ],
)
def test_away_requests(text: str, expected: AwayRequest) -> None:
    assert parse_away(text, MONDAY) == expected


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("until", "away.usage"),
        ("until someday", "away.usage"),
        ("until 2026-02-30", "away.usage"),
        ("until 30.11.2026", "away.usage"),
        ("until 2026-11-29", "away.date_past"),
        ("until 2027-12-31", "away.date_far"),
        ("x" * 301, "away.note_too_long"),
    ],
)
def test_away_refusals(text: str, key: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(key)}$"):
        parse_away(text, MONDAY)


def test_digest_times() -> None:
    assert parse_digest(" 18:00 ") == time(18, 0)
    assert parse_digest("7:05") == time(7, 5)
    assert parse_digest("OFF") is None
    for wrong in ("", "24:00", "18", "18:60", "6pm"):
        with pytest.raises(ValueError, match=r"^digest\.usage$"):
            parse_digest(wrong)
