"""The report's pure arithmetic: ISO weeks in the programme's zone, and privacy-safe cells.

The small-cell rule: a count of 1 to 4, and any rate or time worked out from 1 to 4
cases, is shown as "<5" everywhere (tables, CSV, chart labels), so nobody can be picked
out of a small number. Zero stays zero: it names nobody.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

SMALL = "<5"
SMALL_BELOW = 5
EMPTY = ""  # nothing to work a rate or a time out from
DEFAULT_WEEKS = 12


@dataclass(frozen=True)
class Week:
    """One ISO week: its label and its bounds in UTC (a DST week is 167 or 169 hours)."""

    label: str
    start: datetime
    end: datetime


def monday_of(day: date) -> date:
    """The Monday of the ISO week holding this day."""
    return day - timedelta(days=day.weekday())


def weeks_between(first: date, last: date, tz: tzinfo) -> list[Week]:
    """Every ISO week from the one holding `first` to the one holding `last`."""
    weeks = []
    monday = monday_of(first)
    while monday <= last:
        following = monday + timedelta(days=7)
        year, number, _ = monday.isocalendar()
        weeks.append(
            Week(
                label=f"{year}-W{number:02d}",
                start=datetime.combine(monday, time(0), tz).astimezone(UTC),
                end=datetime.combine(following, time(0), tz).astimezone(UTC),
            )
        )
        monday = following
    return weeks


def default_period(today: date, weeks: int = DEFAULT_WEEKS) -> tuple[date, date]:
    """The last `weeks` ISO weeks, this one included."""
    return monday_of(today) - timedelta(weeks=weeks - 1), today


def parse_weeks(text: str) -> int | None:
    """'4w' (or '4') from /report 4w: a number of weeks from 1 to 104, or None."""
    digits = text.strip().casefold().removesuffix("w")
    if not digits.isdigit() or not 1 <= int(digits) <= 104:
        return None
    return int(digits)


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_weekly(text: str) -> tuple[int, time]:
    """REPORT_WEEKLY 'mon 09:00': the weekday (0 is Monday) and local time; ValueError."""
    day, _, clock = text.strip().casefold().partition(" ")
    if day[:3] not in DAYS or len(day) < 3:
        raise ValueError(f"{text!r} is not a day and a time like 'mon 09:00'")
    try:
        moment = time.fromisoformat(clock.strip().zfill(5))
    except ValueError:
        raise ValueError(f"{text!r} is not a day and a time like 'mon 09:00'") from None
    return DAYS.index(day[:3]), moment


@dataclass(frozen=True)
class Cell:
    """One figure as shown (text) and as charted (None when hidden or empty)."""

    text: str
    number: float | None = None

    @property
    def hidden(self) -> bool:
        """True when the small-cell rule hides the figure."""
        return self.text == SMALL


def count(n: int) -> Cell:
    """A count under the small-cell rule."""
    if 0 < n < SMALL_BELOW:
        return Cell(SMALL)
    return Cell(str(n), float(n))


def rate(part: int, whole: int) -> Cell:
    """A percentage, hidden when either side is 1 to 4, empty when there is no whole."""
    if whole == 0:
        return Cell(EMPTY)
    if 0 < part < SMALL_BELOW or whole < SMALL_BELOW:
        return Cell(SMALL)
    share = 100.0 * part / whole
    return Cell(f"{share:.0f}%", share)


def hours(seconds: Sequence[float], which: str) -> Cell:
    """The median, 90th percentile ('p90') or 'worst' of waits, in hours, one decimal."""
    if not seconds:
        return Cell(EMPTY)
    if len(seconds) < SMALL_BELOW:
        return Cell(SMALL)
    ordered = sorted(seconds)
    if which == "median":
        value = statistics.median(ordered)
    elif which == "p90":
        value = ordered[math.ceil(0.9 * len(ordered)) - 1]  # nearest rank
    else:
        value = ordered[-1]
    shown = value / 3600.0
    return Cell(f"{shown:.1f}", shown)


@dataclass
class Table:
    """One table of the report (and one CSV file): a row per week, or per specialist."""

    name: str
    title: str
    columns: list[str]
    rows: list[tuple[str, list[Cell]]] = field(default_factory=list)

    def column(self, title: str) -> list[Cell]:
        """The cells of one column, in row order."""
        index = self.columns.index(title) - 1
        return [cells[index] for _, cells in self.rows]
