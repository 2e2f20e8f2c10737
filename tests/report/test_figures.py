"""The report's arithmetic: the small-cell rule, rates, waits, and the week settings."""

from __future__ import annotations

from datetime import time

import pytest

from bot.report.figures import count, hours, parse_weekly, parse_weeks, rate


@pytest.mark.parametrize(
    ("n", "shown"), [(0, "0"), (1, "<5"), (4, "<5"), (5, "5"), (1234, "1234")]
)
def test_counts_of_one_to_four_are_hidden(n: int, shown: str) -> None:
    assert count(n).text == shown
    assert count(n).number == (None if shown == "<5" else float(n))


@pytest.mark.parametrize(
    ("part", "whole", "shown"),
    [(0, 0, ""), (0, 10, "0%"), (3, 10, "<5"), (5, 6, "83%"), (4, 4, "<5"), (8, 10, "80%")],
)
def test_rates_from_small_numbers_are_hidden(part: int, whole: int, shown: str) -> None:
    assert rate(part, whole).text == shown


def test_waits_in_hours_median_p90_and_worst() -> None:
    waits = [hour * 3600.0 for hour in (1, 2, 3, 4, 5, 6, 7, 8, 9, 30)]
    assert hours(waits, "median").text == "5.5"
    assert hours(waits, "p90").text == "9.0"
    assert hours(waits, "worst").text == "30.0"
    assert hours(waits[:4], "median").text == "<5"
    assert hours([], "median").text == ""


@pytest.mark.parametrize(
    ("text", "parsed"), [("mon 09:00", (0, time(9))), ("Friday 17:30", (4, time(17, 30)))]
)
def test_weekly_setting(text: str, parsed: tuple[int, time]) -> None:
    assert parse_weekly(text) == parsed


@pytest.mark.parametrize("text", ["", "mon", "someday 09:00", "mon 25:00", "09:00 mon"])
def test_weekly_setting_refused(text: str) -> None:
    with pytest.raises(ValueError, match="like 'mon 09:00'"):
        parse_weekly(text)


@pytest.mark.parametrize(
    ("text", "weeks"), [("4w", 4), ("12", 12), ("104W", 104), ("0w", None), ("105w", None)]
)
def test_report_weeks(text: str, weeks: int | None) -> None:
    assert parse_weeks(text) == weeks
