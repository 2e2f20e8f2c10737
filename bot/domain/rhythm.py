"""Check-in rhythm: what a client chose, and when their next check-in falls.

Pure logic, standard library only, no clock: every "now" is passed in as an aware datetime.

A rhythm is a cadence (how often), a moment (a time window or an exact time), read in the
client's time zone, with optional quiet hours. The scheduler keeps one ``next_due_at`` (UTC)
per client. When a check-in slot is used (sent, or skipped as stale) it calls
:func:`next_due` with ``last_slot=slot_date(due_at, tz)`` of that slot, so the pace holds
however late the tick ran and a rhythm change never brings a second check-in on the same day.

Wall-clock arithmetic happens on naive local times; :func:`_resolve` is the one place where a
local time becomes an instant, and so the one place where the DST policy lives.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from enum import StrEnum
from functools import cache, lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, available_timezones


class Cadence(StrEnum):
    """How often scheduled check-ins come."""

    DAILY = "daily"
    EVERY_2_DAYS = "every_2_days"
    EVERY_3_DAYS = "every_3_days"
    WEEKLY = "weekly"
    WEEKDAYS = "weekdays"
    WHEN_I_WRITE = "when_i_write"


_DAYS_APART = {Cadence.EVERY_2_DAYS: 2, Cadence.EVERY_3_DAYS: 3}


class Window(StrEnum):
    """A part of the day; the check-in comes at a different random moment inside it."""

    MORNING = "morning"
    AFTERNOON = "afternoon"
    EVENING = "evening"

    @property
    def start(self) -> time:
        """First moment of the window (inclusive)."""
        return _WINDOW_BOUNDS[self][0]

    @property
    def end(self) -> time:
        """End of the window (exclusive)."""
        return _WINDOW_BOUNDS[self][1]

    def contains(self, t: time) -> bool:
        """Whether a local wall time lies inside the window."""
        return self.start <= t < self.end


_WINDOW_BOUNDS = {
    Window.MORNING: (time(9), time(12)),
    Window.AFTERNOON: (time(13), time(17)),
    Window.EVENING: (time(18), time(21)),
}

_ALL_WEEKDAYS = frozenset(range(7))


@dataclass(frozen=True)
class Rhythm:
    """A client's chosen cadence and moment; weekdays are 0 (Monday) to 6 (Sunday)."""

    cadence: Cadence
    weekdays: frozenset[int] = frozenset()
    window: Window | None = None
    at: time | None = None

    def __post_init__(self) -> None:
        _check_weekdays(self.cadence, self.weekdays)
        _check_moment(self)

    @property
    def is_scheduled(self) -> bool:
        """Whether the bot sends check-ins on its own (not "only when I write")."""
        return self.cadence != Cadence.WHEN_I_WRITE

    def to_storage(self) -> dict[str, str | None]:
        """Plain strings for the cadence, weekdays ("0,2,4"), window and at ("HH:MM") columns."""
        return {
            "cadence": self.cadence.value,
            "weekdays": ",".join(str(day) for day in sorted(self.weekdays)) or None,
            "window": None if self.window is None else self.window.value,
            "at": None if self.at is None else _format_clock(self.at),
        }

    @classmethod
    def from_storage(cls, row: Mapping[str, str | None]) -> Rhythm:
        """The rhythm stored by :meth:`to_storage`; ValueError if the columns don't make one."""
        weekdays = row.get("weekdays") or ""
        window = row.get("window")
        at = row.get("at")
        return cls(
            cadence=Cadence(row.get("cadence") or ""),
            weekdays=frozenset(int(day) for day in weekdays.split(",") if day),
            window=Window(window) if window else None,
            at=_parse_clock(at) if at else None,
        )


def _check_weekdays(cadence: Cadence, weekdays: frozenset[int]) -> None:
    if not weekdays <= _ALL_WEEKDAYS:
        raise ValueError(f"weekdays must be 0..6, got {sorted(weekdays)}")
    if cadence == Cadence.WEEKLY and len(weekdays) != 1:
        raise ValueError("a weekly rhythm has exactly one weekday")
    if cadence == Cadence.WEEKDAYS and not weekdays:
        raise ValueError("a weekdays rhythm needs at least one weekday")
    if cadence not in (Cadence.WEEKLY, Cadence.WEEKDAYS) and weekdays:
        raise ValueError(f"a {cadence} rhythm has no weekdays")


def _check_moment(rhythm: Rhythm) -> None:
    has_window, has_at = rhythm.window is not None, rhythm.at is not None
    if not rhythm.is_scheduled and (has_window or has_at):
        raise ValueError("an unscheduled rhythm has neither window nor time")
    if rhythm.is_scheduled and has_window == has_at:
        raise ValueError("a scheduled rhythm has exactly one of window and time")
    if rhythm.at is not None:
        _check_clock(rhythm.at)


def _check_clock(t: time) -> None:
    if t.tzinfo is not None or t.second or t.microsecond:
        raise ValueError(f"expected a naive HH:MM time, got {t!r}")


@dataclass(frozen=True)
class QuietHours:
    """No check-in between start (inclusive) and end (exclusive); may cross midnight."""

    start: time
    end: time

    def __post_init__(self) -> None:
        _check_clock(self.start)
        _check_clock(self.end)
        if self.start == self.end:
            raise ValueError("quiet hours need different start and end times")

    @property
    def crosses_midnight(self) -> bool:
        """Whether the quiet hours run past midnight (22:00-08:00)."""
        return self.start > self.end

    def contains(self, t: time) -> bool:
        """Whether a local wall time lies inside the quiet hours."""
        if self.crosses_midnight:
            return t >= self.start or t < self.end
        return self.start <= t < self.end

    def to_storage(self) -> str:
        """ "HH:MM-HH:MM", which :func:`parse_quiet` reads back."""
        return f"{_format_clock(self.start)}-{_format_clock(self.end)}"


# --- time zones ------------------------------------------------------------------------------

_OFFSET_TEXT = re.compile(
    r"(?:utc|gmt)?\s*(?P<sign>[+-])\s*(?P<hours>\d{1,2})(?::(?P<minutes>\d\d))?"
)
_CANONICAL_OFFSET = re.compile(r"UTC(?P<sign>[+-])(?P<hours>\d\d):(?P<minutes>\d\d)")
_MIN_OFFSET, _MAX_OFFSET = -12 * 60, 14 * 60


def parse_zone(text: str) -> str:
    """Canonical zone name from user text: an IANA name, or "UTC+HH:MM" for an offset.

    Offsets are read as people write them ("UTC+2", "+02:00", "GMT-3" means three hours behind
    UTC, unlike the inverted POSIX "Etc/GMT-3"), in whole quarter hours from -12:00 to +14:00.
    """
    cleaned = text.strip().lower()
    if match := _OFFSET_TEXT.fullmatch(cleaned):
        return _format_offset(_offset_minutes(match))
    if name := _iana_names().get(cleaned):
        return name
    if name := _city_names().get(_folded_city(cleaned)):
        return name
    raise ValueError(f"unknown time zone {text!r}")


# Regions whose zones are named after a city ("Europe/Madrid"): a client may write the city.
_CITY_REGIONS = frozenset(
    {"Africa", "America", "Antarctica", "Asia", "Atlantic", "Australia", "Europe", "Indian"}
    | {"Pacific"}
)


def _folded_city(text: str) -> str:
    """'Bogotá', 'bogota' and 'New York' as zone names write them: 'bogota', 'new_york'."""
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return "_".join(plain.split())


@cache
def _city_names() -> dict[str, str]:
    """The zone of each city a zone is named after ("madrid": "Europe/Madrid"); where two
    share a city (Europe/Istanbul, Asia/Istanbul: one zone), the shorter name."""
    cities: dict[str, str] = {}
    for name in sorted(available_timezones(), key=lambda zone_name: (len(zone_name), zone_name)):
        region, _, city = name.partition("/")
        if region in _CITY_REGIONS and city:
            cities.setdefault(city.rsplit("/", 1)[-1].lower(), name)
    return cities


@cache
def zone(name: str) -> tzinfo:
    """The tzinfo for a canonical name from :func:`parse_zone` (cached: the tick asks often)."""
    if match := _CANONICAL_OFFSET.fullmatch(name):
        return timezone(timedelta(minutes=_offset_minutes(match)), name)
    if name not in _iana_names().values():
        raise ValueError(f"unknown time zone {name!r}")
    return ZoneInfo(name)


@cache
def _iana_names() -> dict[str, str]:
    # "localtime" is the host's zone and "Factory" means "unset": neither is a client's zone.
    return {
        name.lower(): name
        for name in available_timezones()
        if name not in {"localtime", "Factory"}
    }


def _offset_minutes(match: re.Match[str]) -> int:
    hours, minutes = int(match["hours"]), int(match["minutes"] or 0)
    if minutes % 15 or minutes >= 60:
        raise ValueError("UTC offsets come in whole quarter hours")
    total = (hours * 60 + minutes) * (-1 if match["sign"] == "-" else 1)
    if not _MIN_OFFSET <= total <= _MAX_OFFSET:
        raise ValueError("UTC offsets run from -12:00 to +14:00")
    return total


def _format_offset(total_minutes: int) -> str:
    sign = "-" if total_minutes < 0 else "+"
    hours, minutes = divmod(abs(total_minutes), 60)
    return f"UTC{sign}{hours:02d}:{minutes:02d}"


# --- typed commands ---------------------------------------------------------------------------


class ScheduleSyntaxError(ValueError):
    """The /schedule arguments match none of the accepted forms."""


_WEEKDAY_NAMES = {
    name: number
    for number, day in enumerate(
        ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    )
    for name in (day, day[:3])
}
_WINDOW_NAMES = frozenset(window.value for window in Window)
_CLOCK = re.compile(r"(?P<hour>[01]?\d|2[0-3]):(?P<minute>[0-5]\d)")
_QUIET_TEXT = re.compile(r"(?P<start>\S+?)\s*[-\u2013\u2014]\s*(?P<end>\S+)")
_PAUSE_TEXT = re.compile(r"(?P<count>\d{1,2}) ?(?P<unit>d|days?|w|weeks?)")
_PAUSE_LIMITS = {"d": (1, 30), "w": (1, 8)}
_OPEN_ENDED_PAUSE = frozenset({"until i say", "indefinitely"})


def parse_schedule(args: str | Sequence[str]) -> Rhythm:
    """The rhythm from /schedule arguments: "daily 09:30", "every 3 days morning", "off", ..."""
    try:
        return _schedule_from_words(_words(args))
    except ValueError as error:
        raise ScheduleSyntaxError(str(error)) from error


def _schedule_from_words(words: list[str]) -> Rhythm:
    match words:
        case ["off"]:
            return Rhythm(Cadence.WHEN_I_WRITE)
        case ["daily", moment] | ["every", "day", moment]:
            return Rhythm(Cadence.DAILY, frozenset(), *_parse_moment(moment))
        case ["every", "2", "days", moment]:
            return Rhythm(Cadence.EVERY_2_DAYS, frozenset(), *_parse_moment(moment))
        case ["every", "3", "days", moment]:
            return Rhythm(Cadence.EVERY_3_DAYS, frozenset(), *_parse_moment(moment))
        case ["weekly", day, moment]:
            return Rhythm(Cadence.WEEKLY, frozenset({_parse_weekday(day)}), *_parse_moment(moment))
        case ["weekdays", *days, moment] if days:
            names = [name for name in ",".join(days).split(",") if name]
            if not names:
                raise ValueError("no weekdays given")
            weekdays = frozenset(_parse_weekday(name) for name in names)
            return Rhythm(Cadence.WEEKDAYS, weekdays, *_parse_moment(moment))
    raise ValueError(f"unrecognised schedule {' '.join(words)!r}")


def _parse_moment(word: str) -> tuple[Window | None, time | None]:
    if word in _WINDOW_NAMES:
        return Window(word), None
    return None, _parse_clock(word)


def _parse_weekday(word: str) -> int:
    if word not in _WEEKDAY_NAMES:
        raise ValueError(f"unknown weekday {word!r}")
    return _WEEKDAY_NAMES[word]


def parse_quiet(args: str | Sequence[str]) -> QuietHours | None:
    """Quiet hours from /quiet arguments: "22:00-08:00" (spaces around - allowed), or "off"."""
    text = " ".join(_words(args))
    if text == "off":
        return None
    match = _QUIET_TEXT.fullmatch(text)
    if match is None:
        raise ValueError(f"unrecognised quiet hours {text!r}")
    return QuietHours(_parse_clock(match["start"]), _parse_clock(match["end"]))


def parse_pause(arg: str) -> timedelta | None:
    """A pause length: "Nd" (1..30 days) or "Nw" (1..8 weeks), also "2 weeks", "1 day".

    "until I say" and "indefinitely" return None: an open-ended pause that only the client
    ends. Anything else (zero, months, longer pauses) is a ValueError, so that a typo never
    silences the bot for longer than the client meant.
    """
    text = " ".join(arg.lower().split())
    if text in _OPEN_ENDED_PAUSE:
        return None
    match = _PAUSE_TEXT.fullmatch(text)
    if match is None:
        raise ValueError(f"unrecognised pause {arg!r}")
    count, unit = int(match["count"]), match["unit"][0]
    low, high = _PAUSE_LIMITS[unit]
    if not low <= count <= high:
        raise ValueError(f"a pause of {count}{unit} is out of range")
    return timedelta(days=count) if unit == "d" else timedelta(weeks=count)


def _words(args: str | Sequence[str]) -> list[str]:
    text = args if isinstance(args, str) else " ".join(args)
    return text.lower().split()


def _parse_clock(text: str) -> time:
    match = _CLOCK.fullmatch(text)
    if match is None:
        raise ValueError(f"expected a 24-hour HH:MM time, got {text!r}")
    return time(int(match["hour"]), int(match["minute"]))


def _format_clock(t: time) -> str:
    return f"{t.hour:02d}:{t.minute:02d}"


# --- fewer check-ins --------------------------------------------------------------------------


def step_down(r: Rhythm, today_weekday: int) -> Rhythm | None:
    """The rhythm one notch less often, keeping the moment; None if there is no gentler one."""
    fewer = _fewer(r, today_weekday)
    if fewer is None:
        return None
    cadence, weekdays = fewer
    return replace(r, cadence=cadence, weekdays=weekdays)


def _fewer(r: Rhythm, today_weekday: int) -> tuple[Cadence, frozenset[int]] | None:
    if r.cadence == Cadence.DAILY:
        return Cadence.EVERY_2_DAYS, frozenset()
    if r.cadence == Cadence.EVERY_2_DAYS:
        return Cadence.EVERY_3_DAYS, frozenset()
    if r.cadence == Cadence.EVERY_3_DAYS:
        return Cadence.WEEKLY, frozenset({today_weekday})
    if r.cadence == Cadence.WEEKDAYS:
        chosen = len(r.weekdays)
        if chosen >= 4:
            return Cadence.EVERY_2_DAYS, frozenset()
        if chosen == 3:
            return Cadence.EVERY_3_DAYS, frozenset()
        if chosen == 2:
            return Cadence.WEEKLY, frozenset({min(r.weekdays)})
    return None  # weekly, a single weekday, or only when I write


# --- the next check-in ------------------------------------------------------------------------

_MIN_REMAINING_MINUTES = 10
_MINUTES_PER_DAY = 24 * 60
_SCAN_DAYS = 16  # yesterday plus two weeks: every rhythm has a slot in any 8 consecutive days


def next_due(
    r: Rhythm,
    tz: tzinfo,
    quiet: QuietHours | None,
    now: datetime,
    *,
    last_slot: date | None,
    rng: random.Random,
) -> datetime | None:
    """The next check-in (UTC), strictly after now; None for "only when I write".

    Slots are counted in local dates of the check-in as sent (see :func:`slot_date`): daily,
    weekly and weekdays need a date after ``last_slot``, every N days a date at least N days
    after it, and a missed day simply moves on to the next eligible one. Weekly and weekdays
    rhythms pick the chosen weekday before quiet hours move anything.

    A window gets a uniformly random minute inside it, drawn with one ``rng.randrange`` per
    candidate day from the minutes outside quiet hours, so a partly quiet window never bunches
    its check-ins at the end of the quiet hours; only a window wholly inside quiet hours moves.
    On the current day only the part still ahead counts, and only if at least 10 free minutes
    of it remain.

    An exact time is that wall time, so 09:00 stays 09:00 across DST. A wall time that does not
    exist (the spring-forward gap) moves forward by the gap (02:30 -> 03:30); one that occurs
    twice (fall back) takes its first occurrence, and the repeat is never a second check-in.
    A moment inside quiet hours moves to their end, which may be the next day.
    """
    _require_aware(now)
    if not r.is_scheduled:
        return None
    if r.at is not None:
        # No draw for an exact time: the answer depends on these alone, and in a busy minute
        # thousands of clients share them (a tick's `now`, a rhythm, a zone).
        return _next_exact(r, tz, quiet, now, last_slot)
    return _next_due(r, tz, quiet, now, last_slot, rng)


@lru_cache(maxsize=4096)
def _next_exact(
    r: Rhythm, tz: tzinfo, quiet: QuietHours | None, now: datetime, last_slot: date | None
) -> datetime | None:
    return _next_due(r, tz, quiet, now, last_slot, None)


def _next_due(
    r: Rhythm,
    tz: tzinfo,
    quiet: QuietHours | None,
    now: datetime,
    last_slot: date | None,
    rng: random.Random | None,
) -> datetime | None:
    today = now.astimezone(tz).date()
    earliest = (
        None if last_slot is None else last_slot + timedelta(days=_DAYS_APART.get(r.cadence, 1))
    )
    start = today if earliest is None else max(today, earliest)
    # Begin a day early: quiet hours may have moved yesterday's moment into today.
    for offset in range(-1, _SCAN_DAYS - 1):
        day = start + timedelta(days=offset)
        if not _on_chosen_weekday(r, day):
            continue
        moment = _moment_on(r, day, tz, quiet, now, rng)
        if moment is None:
            continue
        due = after_quiet(moment, tz, quiet)
        if due > now and (earliest is None or slot_date(due, tz) >= earliest):
            return due
    raise AssertionError("a scheduled rhythm always has a slot within two weeks")


def slot_date(due_at: datetime, tz: tzinfo) -> date:
    """The local date of a due moment: what to pass as ``last_slot`` once it is used."""
    return due_at.astimezone(tz).date()


def _on_chosen_weekday(r: Rhythm, day: date) -> bool:
    return not r.weekdays or day.weekday() in r.weekdays


def _moment_on(
    r: Rhythm,
    day: date,
    tz: tzinfo,
    quiet: QuietHours | None,
    now: datetime,
    rng: random.Random | None,
) -> datetime | None:
    if r.at is not None:
        return _resolve(datetime.combine(day, r.at), tz)
    if r.window is None or rng is None:
        raise ValueError("a scheduled rhythm has a window or a time; a window needs a draw")
    low, high = _minute_of_day(r.window.start), _minute_of_day(r.window.end)
    if not _without_quiet(low, high, quiet):
        # A window wholly inside quiet hours keeps its start, which quiet hours then move.
        return _at_minute(day, low, tz)
    local_now = now.astimezone(tz)
    after_now = _minute_of_day(local_now.time()) + 1
    started = day == local_now.date() and after_now > low
    free = _without_quiet(max(low, after_now) if started else low, high, quiet)
    if started and sum(b - a for a, b in free) < _MIN_REMAINING_MINUTES:
        return None
    return _at_minute(day, _pick_minute(free, rng), tz)


def _at_minute(day: date, minute: int, tz: tzinfo) -> datetime:
    return _resolve(datetime.combine(day, time(minute // 60, minute % 60)), tz)


def _without_quiet(low: int, high: int, quiet: QuietHours | None) -> list[tuple[int, int]]:
    free = [(low, high)]
    if quiet is None:
        return free
    start, end = _minute_of_day(quiet.start), _minute_of_day(quiet.end)
    spans = [(start, end)] if start < end else [(start, _MINUTES_PER_DAY), (0, end)]
    for quiet_start, quiet_end in spans:
        free = [
            (a, b)
            for low_free, high_free in free
            for a, b in (
                (low_free, min(high_free, quiet_start)),
                (max(low_free, quiet_end), high_free),
            )
            if a < b
        ]
    return free


def _pick_minute(free: list[tuple[int, int]], rng: random.Random) -> int:
    index = rng.randrange(sum(b - a for a, b in free))
    for a, b in sorted(free):
        if index < b - a:
            return a + index
        index -= b - a
    raise AssertionError("index is within the free minutes")


def after_quiet(moment: datetime, tz: tzinfo, quiet: QuietHours | None) -> datetime:
    """The moment itself, or the end of the quiet hours it falls in (maybe the next day)."""
    if quiet is None:
        return moment
    # A second pass only when a DST gap pushes the quiet end forward, back into quiet hours.
    for _ in range(3):
        local = moment.astimezone(tz)
        if not quiet.contains(local.time()):
            return moment
        next_day = quiet.crosses_midnight and local.time() >= quiet.start
        end_day = local.date() + timedelta(days=1 if next_day else 0)
        moment = _resolve(datetime.combine(end_day, quiet.end), tz)
    return moment


@lru_cache(maxsize=1024)
def quiet_begins(moment: datetime, tz: tzinfo, quiet: QuietHours | None) -> datetime | None:
    """The first moment from `moment` on (UTC) inside quiet hours: `moment` itself if it is
    inside them, else when they next begin; None without quiet hours.

    A check-in queued at `moment` goes no later: one that waited in the outbox (Telegram
    down) must not wake the client at night. Cached: a tick's clients share a few of them.
    """
    if quiet is None:
        return None
    local = moment.astimezone(tz)
    if quiet.contains(local.time()):
        return moment
    day = local.date()
    for offset in range(3):  # today's start, or tomorrow's (a DST gap may move one)
        start = datetime.combine(day + timedelta(days=offset), quiet.start)
        # A start in the hour the clocks go back comes twice (fold 0, then 1), and quiet
        # hours begin again at the second; in a gap fold 1 reads earlier and never wins.
        for fold in (0, 1):
            begins = start.replace(tzinfo=tz, fold=fold).astimezone(UTC)
            if begins > moment:
                return begins
    raise AssertionError("quiet hours begin within two days")


def _resolve(local: datetime, tz: tzinfo) -> datetime:
    """The UTC instant of a naive local wall time, by PEP 495 with fold=0.

    fold=0 reads a time in a spring-forward gap with the offset from before the gap, which
    lands it forward by the gap (02:30 -> 03:30), and picks the first of two occurrences.
    """
    return local.replace(tzinfo=tz, fold=0).astimezone(UTC)


def _minute_of_day(t: time) -> int:
    return t.hour * 60 + t.minute


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("datetimes must be timezone-aware")


# --- make-up rule -----------------------------------------------------------------------------

ON_TIME_GRACE = timedelta(minutes=10)


def is_stale(
    r: Rhythm,
    tz: tzinfo,
    quiet: QuietHours | None,
    due_at: datetime,
    now: datetime,
    *,
    max_late: timedelta = timedelta(hours=3),
) -> bool:
    """Whether a due check-in should be skipped instead of sent, e.g. after downtime.

    A make-up check-in must still feel like the one the client chose, never like the bot
    catching up: skip it when it is more than ``max_late`` late, when now is inside quiet
    hours, or, for a window rhythm, when now is outside the window. Within ``ON_TIME_GRACE``
    the tick is simply on time, which keeps a moment that quiet hours moved out of its window,
    or one drawn at the window's last minute, from being skipped. An exact-time rhythm is
    anchored on the due moment itself, so ``max_late`` is its whole rule; anchoring on the
    chosen time instead would skip every check-in that quiet hours had moved. A client who has
    switched to "only when I write" gets no scheduled check-in at all.
    """
    _require_aware(due_at)
    _require_aware(now)
    late = now - due_at
    local_now = now.astimezone(tz).time()
    if not r.is_scheduled or late > max_late:
        return True
    if quiet is not None and quiet.contains(local_now):
        return True
    if late <= ON_TIME_GRACE or r.window is None:
        return False
    return not r.window.contains(local_now)


# --- what the client is told -------------------------------------------------------------------

DayKind = Literal["today", "tomorrow", "weekday", "date"]


@dataclass(frozen=True)
class NextDescription:
    """When the next check-in comes, in the client's terms, for the text layer to phrase.

    ``weekday`` (0 = Monday) is set only for day == "weekday". A window rhythm exposes its
    window ("tomorrow morning") unless quiet hours moved the moment out of it; otherwise ``at``
    is the local wall time the check-in will actually come ("Thursday at 18:15").
    """

    day: DayKind
    weekday: int | None
    date: date
    window: Window | None
    at: time | None


def describe_next(due_at: datetime, tz: tzinfo, now: datetime, r: Rhythm) -> NextDescription:
    """Describe a due moment relative to now, in the client's time zone."""
    _require_aware(due_at)
    _require_aware(now)
    local = due_at.astimezone(tz)
    day = _day_kind((local.date() - now.astimezone(tz).date()).days)
    in_window = r.window is not None and r.window.contains(local.time())
    return NextDescription(
        day=day,
        weekday=local.weekday() if day == "weekday" else None,
        date=local.date(),
        window=r.window if in_window else None,
        at=None if in_window else local.time().replace(second=0, microsecond=0),
    )


def _day_kind(days_ahead: int) -> DayKind:
    if days_ahead == 0:
        return "today"
    if days_ahead == 1:
        return "tomorrow"
    if 2 <= days_ahead <= 6:
        return "weekday"
    return "date"
