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
# A figure of 5 or more hidden as well, so that a "<5" beside it cannot be worked out
# by subtracting the figures shown from a total (complementary suppression).
SUPPRESSED = "*"
SMALL_BELOW = 5
EMPTY = ""  # nothing to work a rate or a time out from
DEFAULT_WEEKS = 12
MOST_WEEKS = 104  # two years: longer is a report per year


class PeriodError(ValueError):
    """A period the report cannot cover (one line saying why)."""


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


def period(first: date | None, last: date | None, today: date, weeks: int) -> tuple[date, date]:
    """The days to report: `weeks` weeks up to `last` (or today) unless `first` is given.

    Nothing has happened after today, so a later `last` is today. PeriodError when
    `first` comes after that, or the period is longer than MOST_WEEKS.
    """
    end = min(last, today) if last is not None else today
    start = first if first is not None else default_period(end, weeks)[0]
    if start > end:
        raise PeriodError(f"--from {start} comes after {end}: there is nothing to report")
    span = (monday_of(end) - monday_of(start)).days // 7 + 1
    if span > MOST_WEEKS:
        raise PeriodError(
            f"{start} to {end} is {span} weeks; the report covers at most {MOST_WEEKS}"
            " weeks: choose a later --from"
        )
    return start, end


def parse_weeks(text: str) -> int | None:
    """'4w' (or '4') from /report 4w: a number of weeks from 1 to 104, or None."""
    digits = text.strip().casefold().removesuffix("w")
    if not digits.isdigit() or not 1 <= int(digits) <= MOST_WEEKS:
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
    raw: int | None = None  # the count itself (never shown when hidden)

    @property
    def hidden(self) -> bool:
        """True when the small-cell rule hides the figure."""
        return self.text in (SMALL, SUPPRESSED)


def count(n: int) -> Cell:
    """A count under the small-cell rule."""
    if 0 < n < SMALL_BELOW:
        return Cell(SMALL, raw=n)
    return Cell(str(n), float(n), n)


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


Slot = tuple[list[Cell], int]  # a cell in a table's row, to hide it in place
# A sum the reader can check: these parts (plus an unseen remainder) make that total.
Sum = tuple[list[Slot], Slot, int]


def _bounds(cell: Cell) -> tuple[float, float]:
    """What a reader knows of a cell: its value, or the range its mark stands for."""
    if cell.text == SMALL:
        return 1.0, float(SMALL_BELOW - 1)
    if cell.text == SUPPRESSED:
        return float(SMALL_BELOW), math.inf
    return float(cell.raw or 0), float(cell.raw or 0)


class _Sum:
    """A sum of bounds that may hold infinities, able to leave one term out."""

    def __init__(self, terms: list[float]) -> None:
        self.finite = sum(term for term in terms if not math.isinf(term))
        infinite = [term for term in terms if math.isinf(term)]  # all of one sign
        self.infinities = len(infinite)
        self.infinity = infinite[0] if infinite else 0.0

    def without(self, term: float) -> float:
        """The sum of every term but this one (one of them, if repeated)."""
        if math.isinf(term):
            return self.infinity if self.infinities > 1 else self.finite
        return self.infinity if self.infinities else self.finite - term


def reveals(parts: list[Cell], total: Cell, remainder: int = 0) -> bool:
    """True when the sum pins down a hidden cell (parts - total + remainder = 0)."""
    if remainder:
        return False  # an unseen part of unknown size: nothing is pinned down
    signed = [(1.0, cell) for cell in parts] + [(-1.0, total)]
    hidden = [(sign, cell) for sign, cell in signed if cell.hidden]
    if not hidden:
        return False
    known = sum(sign * _bounds(cell)[0] for sign, cell in signed if not cell.hidden)
    ranges = []
    for sign, cell in hidden:
        low, high = _bounds(cell)
        ranges.append((min(sign * low, sign * high), max(sign * low, sign * high)))
    all_low = _Sum([low for low, _ in ranges])
    all_high = _Sum([high for _, high in ranges])
    for (sign, cell), (own_low, own_high) in zip(hidden, ranges, strict=True):
        # sign * x = -known - (the other hidden terms): the range that leaves for x.
        low_rest, high_rest = all_low.without(own_low), all_high.without(own_high)
        ends = ((-known - high_rest) / sign, (-known - low_rest) / sign)
        low, high = _bounds(cell)
        if max(low, min(ends)) == min(high, max(ends)):
            return True
    return False


def protect(sums: list[Sum]) -> None:
    """Hide more figures until no sum a reader can do reveals a hidden one.

    Each time a sum pins a hidden cell down, the smallest figure shown among its parts is
    hidden as well (or, with none, its total), and every sum is checked again.
    """
    changed = True
    while changed:
        changed = False
        for parts, total, remainder in sums:
            cells = [row[index] for row, index in parts]
            whole = total[0][total[1]]
            if not reveals(cells, whole, remainder):
                continue
            shown = [
                (cell.raw, slot)
                for cell, slot in zip(cells, parts, strict=True)
                if not cell.hidden and cell.raw
            ]
            if shown:
                row, index = min(shown, key=lambda pair: pair[0] or 0)[1]
            elif not whole.hidden and whole.raw:
                row, index = total
            else:
                continue
            row[index] = Cell(SUPPRESSED, raw=row[index].raw)
            changed = True
