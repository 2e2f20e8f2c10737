"""Rhythm: parsing what clients type, and when their next check-in falls (DST, quiet hours)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, tzinfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.rhythm import (
    Cadence,
    NextDescription,
    QuietHours,
    Rhythm,
    ScheduleSyntaxError,
    Window,
    describe_next,
    is_stale,
    next_due,
    parse_pause,
    parse_quiet,
    parse_schedule,
    parse_zone,
    slot_date,
    step_down,
    zone,
)

NY, BERLIN = "America/New_York", "Europe/Berlin"


def moment(iso: str) -> datetime:
    """An aware datetime from ISO text with an offset, e.g. "2026-03-08T03:30-04:00"."""
    parsed = datetime.fromisoformat(iso)
    assert parsed.tzinfo is not None
    return parsed


def quiet(text: str | None) -> QuietHours | None:
    return None if text is None else parse_quiet(text)


class Draw(random.Random):
    """Always draws the same index: Draw(0) gives a window's first free minute."""

    def __init__(self, index: int) -> None:
        super().__init__(0)
        self.index = index

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        assert stop is None and self.index < start
        return self.index


class LastMinute(random.Random):
    """Draws the latest free minute of a window."""

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        assert stop is None
        return start - 1


RNGS: dict[str, Callable[[], random.Random]] = {
    "first": lambda: Draw(0),
    "60th": lambda: Draw(60),
    "last": LastMinute,
    "seeded": lambda: random.Random(7),
}


# --- next_due: concrete tables ---

# fmt: off
NEXT_DUE_CASES = [
    # id, zone, /schedule args, quiet hours, now, last slot, rng, expected
    ("daily-later-today", NY, "daily 09:30", None,
     "2026-06-10T08:00-04:00", None, "seeded", "2026-06-10T09:30-04:00"),
    ("daily-strictly-after-now", NY, "daily 09:30", None,
     "2026-06-10T09:30-04:00", None, "seeded", "2026-06-11T09:30-04:00"),
    ("daily-today-already-used", NY, "daily 09:30", None,
     "2026-06-10T08:00-04:00", "2026-06-10", "seeded", "2026-06-11T09:30-04:00"),
    ("daily-after-downtime-no-backlog", NY, "daily 09:30", None,
     "2026-06-13T12:00-04:00", "2026-06-10", "seeded", "2026-06-14T09:30-04:00"),
    ("every-2-days", NY, "every 2 days 09:30", None,
     "2026-06-10T09:30:15-04:00", "2026-06-10", "seeded", "2026-06-12T09:30-04:00"),
    ("every-2-days-first-is-today", NY, "every 2 days 09:30", None,
     "2026-06-10T08:00-04:00", None, "seeded", "2026-06-10T09:30-04:00"),
    ("every-3-days", NY, "every 3 days 09:30", None,
     "2026-06-10T09:30:15-04:00", "2026-06-10", "seeded", "2026-06-13T09:30-04:00"),
    ("every-3-days-missed-slot-next-day", NY, "every 3 days 09:30", None,
     "2026-06-13T10:00-04:00", "2026-06-10", "seeded", "2026-06-14T09:30-04:00"),
    ("weekly-thursday", NY, "weekly thu 18:15", None,
     "2026-06-10T12:00-04:00", None, "seeded", "2026-06-11T18:15-04:00"),
    ("weekly-after-sending", NY, "weekly thu 18:15", None,
     "2026-06-11T18:15:20-04:00", "2026-06-11", "seeded", "2026-06-18T18:15-04:00"),
    ("weekly-later-today", NY, "weekly wed 18:15", None,
     "2026-06-10T12:00-04:00", None, "seeded", "2026-06-10T18:15-04:00"),
    ("weekdays-next-chosen", NY, "weekdays mon,wed,fri 18:15", None,
     "2026-06-10T18:15:10-04:00", "2026-06-10", "seeded", "2026-06-12T18:15-04:00"),
    ("weekdays-wrap-to-monday", NY, "weekdays mon,wed,fri 18:15", None,
     "2026-06-12T18:15:10-04:00", "2026-06-12", "seeded", "2026-06-15T18:15-04:00"),
    # windows: Draw(n) and LastMinute pin the random draw inside the free minutes
    ("window-first-minute", NY, "daily morning", None,
     "2026-06-10T07:00-04:00", None, "first", "2026-06-10T09:00-04:00"),
    ("window-last-minute", NY, "daily morning", None,
     "2026-06-10T07:00-04:00", None, "last", "2026-06-10T11:59-04:00"),
    ("window-partly-over-first", NY, "daily morning", None,
     "2026-06-10T10:30-04:00", None, "first", "2026-06-10T10:31-04:00"),
    ("window-partly-over-last", NY, "daily morning", None,
     "2026-06-10T10:30-04:00", None, "last", "2026-06-10T11:59-04:00"),
    ("window-ten-minutes-left", NY, "daily morning", None,
     "2026-06-10T11:49:59-04:00", None, "first", "2026-06-10T11:50-04:00"),
    ("window-nine-minutes-left", NY, "daily morning", None,
     "2026-06-10T11:50-04:00", None, "first", "2026-06-11T09:00-04:00"),
    ("window-over-today", NY, "daily evening", None,
     "2026-06-10T21:00-04:00", None, "first", "2026-06-11T18:00-04:00"),
    ("window-today-used", NY, "daily afternoon", None,
     "2026-06-10T14:00-04:00", "2026-06-10", "first", "2026-06-11T13:00-04:00"),
    ("window-every-3-days", NY, "every 3 days evening", None,
     "2026-06-10T20:00-04:00", "2026-06-10", "last", "2026-06-13T20:59-04:00"),
    ("window-weekly", BERLIN, "weekly sun afternoon", None,
     "2026-06-10T12:00+02:00", None, "last", "2026-06-14T16:59+02:00"),
    # DST: wall times hold, the gap moves forward, the repeated hour is used once
    ("ny-spring-09:00-stays-09:00", NY, "daily 09:00", None,
     "2026-03-07T09:00:05-05:00", "2026-03-07", "seeded", "2026-03-08T09:00-04:00"),
    ("ny-spring-day-after", NY, "daily 09:00", None,
     "2026-03-08T09:00:05-04:00", "2026-03-08", "seeded", "2026-03-09T09:00-04:00"),
    ("ny-fall-09:00-stays-09:00", NY, "daily 09:00", None,
     "2026-10-31T09:00:05-04:00", "2026-10-31", "seeded", "2026-11-01T09:00-05:00"),
    ("berlin-spring-09:00-stays-09:00", BERLIN, "daily 09:00", None,
     "2026-03-28T09:00:05+01:00", "2026-03-28", "seeded", "2026-03-29T09:00+02:00"),
    ("berlin-fall-09:00-stays-09:00", BERLIN, "daily 09:00", None,
     "2026-10-24T09:00:05+02:00", "2026-10-24", "seeded", "2026-10-25T09:00+01:00"),
    ("berlin-fall-day-after", BERLIN, "daily 09:00", None,
     "2026-10-25T09:00:05+01:00", "2026-10-25", "seeded", "2026-10-26T09:00+01:00"),
    ("ny-gap-02:30-moves-to-03:30", NY, "daily 02:30", None,
     "2026-03-07T02:30:05-05:00", "2026-03-07", "seeded", "2026-03-08T03:30-04:00"),
    ("ny-gap-then-02:30-again", NY, "daily 02:30", None,
     "2026-03-08T03:30:05-04:00", "2026-03-08", "seeded", "2026-03-09T02:30-04:00"),
    ("berlin-gap-02:30-moves-to-03:30", BERLIN, "daily 02:30", None,
     "2026-03-28T02:30:05+01:00", "2026-03-28", "seeded", "2026-03-29T03:30+02:00"),
    ("ny-repeated-hour-first-occurrence", NY, "daily 01:30", None,
     "2026-10-31T01:30:05-04:00", "2026-10-31", "seeded", "2026-11-01T01:30-04:00"),
    ("ny-repeated-hour-not-twice", NY, "daily 01:30", None,
     "2026-11-01T01:30:05-04:00", "2026-11-01", "seeded", "2026-11-02T01:30-05:00"),
    ("ny-between-occurrences-no-repeat", NY, "daily 01:30", None,
     "2026-11-01T01:45-04:00", None, "seeded", "2026-11-02T01:30-05:00"),
    ("berlin-repeated-hour-first-occurrence", BERLIN, "daily 02:30", None,
     "2026-10-24T02:30:05+02:00", "2026-10-24", "seeded", "2026-10-25T02:30+02:00"),
    ("berlin-repeated-hour-not-twice", BERLIN, "daily 02:30", None,
     "2026-10-25T02:30:05+02:00", "2026-10-25", "seeded", "2026-10-26T02:30+01:00"),
    ("ny-window-on-spring-day", NY, "daily morning", None,
     "2026-03-08T01:00-05:00", None, "first", "2026-03-08T09:00-04:00"),
    ("berlin-window-on-fall-day", BERLIN, "daily evening", None,
     "2026-10-25T00:30+02:00", None, "last", "2026-10-25T20:59+01:00"),
    ("ny-weekly-across-fall", NY, "weekly sun 09:00", None,
     "2026-10-25T09:00:05-04:00", "2026-10-25", "seeded", "2026-11-01T09:00-05:00"),
    # quiet hours: moved to their end, the daily pace kept, windows sampled outside them
    ("quiet-moves-to-end-next-day", BERLIN, "daily 23:30", "22:00-08:00",
     "2026-06-10T12:00+02:00", "2026-06-10", "seeded", "2026-06-11T08:00+02:00"),
    ("quiet-moved-keeps-daily-pace", BERLIN, "daily 23:30", "22:00-08:00",
     "2026-06-11T08:00:10+02:00", "2026-06-11", "seeded", "2026-06-12T08:00+02:00"),
    ("quiet-after-midnight-same-day", BERLIN, "daily 06:30", "22:00-08:00",
     "2026-06-10T00:00+02:00", None, "seeded", "2026-06-10T08:00+02:00"),
    ("quiet-yesterdays-moment-lands-today", BERLIN, "daily 23:30", "22:00-08:00",
     "2026-06-10T03:00+02:00", None, "seeded", "2026-06-10T08:00+02:00"),
    ("quiet-start-inclusive", BERLIN, "daily 22:00", "22:00-08:00",
     "2026-06-10T12:00+02:00", None, "seeded", "2026-06-11T08:00+02:00"),
    ("quiet-end-exclusive", BERLIN, "daily 08:00", "22:00-08:00",
     "2026-06-10T07:00+02:00", None, "seeded", "2026-06-10T08:00+02:00"),
    ("quiet-window-free-part-first", BERLIN, "daily morning", "22:00-10:00",
     "2026-06-10T07:00+02:00", None, "first", "2026-06-10T10:00+02:00"),
    ("quiet-window-free-part-last", BERLIN, "daily morning", "22:00-10:00",
     "2026-06-10T07:00+02:00", None, "last", "2026-06-10T11:59+02:00"),
    ("quiet-window-draws-only-free-minutes", BERLIN, "daily morning", "22:00-10:00",
     "2026-06-10T07:00+02:00", None, "60th", "2026-06-10T11:00+02:00"),
    ("quiet-rest-of-window-quiet", BERLIN, "daily morning", "11:00-13:00",
     "2026-06-10T11:05+02:00", None, "first", "2026-06-11T09:00+02:00"),
    ("quiet-under-ten-free-minutes-left", BERLIN, "daily morning", "11:00-13:00",
     "2026-06-10T10:55+02:00", None, "first", "2026-06-11T09:00+02:00"),
    ("quiet-ten-free-minutes-left", BERLIN, "daily morning", "11:00-13:00",
     "2026-06-10T10:49:30+02:00", None, "last", "2026-06-10T10:59+02:00"),
    ("quiet-inside-window", BERLIN, "daily afternoon", "14:00-16:00",
     "2026-06-10T07:00+02:00", None, "last", "2026-06-10T16:59+02:00"),
    ("quiet-covers-window", BERLIN, "daily evening", "17:00-08:00",
     "2026-06-10T12:00+02:00", None, "last", "2026-06-11T08:00+02:00"),
    ("quiet-covers-window-after-it-ended", BERLIN, "daily evening", "17:00-08:00",
     "2026-06-10T22:00+02:00", None, "first", "2026-06-11T08:00+02:00"),
    ("quiet-same-day-span", BERLIN, "daily 13:30", "13:00-14:00",
     "2026-06-10T07:00+02:00", None, "seeded", "2026-06-10T14:00+02:00"),
    ("quiet-end-in-dst-gap", NY, "daily 01:45", "01:00-02:30",
     "2026-03-07T12:00-05:00", "2026-03-07", "seeded", "2026-03-08T03:30-04:00"),
    ("quiet-weekly-keeps-chosen-day", BERLIN, "weekly thu 23:30", "23:00-07:00",
     "2026-06-11T12:00+02:00", None, "seeded", "2026-06-12T07:00+02:00"),
    # fixed UTC offsets
    ("utc+05:30", "UTC+05:30", "daily 09:00", None,
     "2026-06-10T02:00+00:00", None, "seeded", "2026-06-10T09:00+05:30"),
    ("utc+14:00-across-date-line", "UTC+14:00", "daily 09:00", None,
     "2026-06-10T12:00+00:00", None, "seeded", "2026-06-11T09:00+14:00"),
    ("utc-03:00-ignores-dst-dates", "UTC-03:00", "daily 09:00", None,
     "2026-03-07T09:00:05-03:00", "2026-03-07", "seeded", "2026-03-08T09:00-03:00"),
    ("utc-12:00-weekly-window", "UTC-12:00", "weekly mon evening", "20:00-07:00",
     "2026-06-10T12:00+00:00", None, "first", "2026-06-15T18:00-12:00"),
]
# fmt: on


@pytest.mark.parametrize(
    ("zone_name", "schedule", "quiet_text", "now", "last_slot", "rng", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in NEXT_DUE_CASES],
)
def test_next_due(zone_name, schedule, quiet_text, now, last_slot, rng, expected):
    due = next_due(
        parse_schedule(schedule),
        zone(zone_name),
        quiet(quiet_text),
        moment(now),
        last_slot=None if last_slot is None else date.fromisoformat(last_slot),
        rng=RNGS[rng](),
    )
    assert due == moment(expected)
    assert due is not None
    assert due.tzinfo is UTC


def test_next_due_only_when_i_write_is_none():
    r = parse_schedule("off")
    now = moment("2026-06-10T12:00+00:00")
    assert next_due(r, zone("UTC"), None, now, last_slot=None, rng=random.Random(1)) is None


def test_next_due_rejects_naive_now():
    with pytest.raises(ValueError, match="aware"):
        next_due(
            parse_schedule("daily 09:00"),
            zone("UTC"),
            None,
            datetime(2026, 6, 10, 12),  # noqa: DTZ001 - the naive datetime is the point
            last_slot=None,
            rng=random.Random(1),
        )


def test_window_moment_varies_from_day_to_day():
    r, tz, rng = parse_schedule("daily evening"), zone(BERLIN), random.Random(3)
    now, last_slot, minutes = moment("2026-06-10T00:00+02:00"), None, set()
    for _ in range(14):
        due = next_due(r, tz, None, now, last_slot=last_slot, rng=rng)
        assert due is not None
        local = due.astimezone(tz)
        minutes.add((local.hour, local.minute))
        now, last_slot = due, slot_date(due, tz)
    assert len(minutes) >= 10


def test_slot_date_is_local():
    assert slot_date(moment("2026-06-11T02:00+00:00"), zone(NY)) == date(2026, 6, 10)
    assert slot_date(moment("2026-06-10T23:00+00:00"), zone("UTC+05:30")) == date(2026, 6, 11)


# --- next_due: properties ---

PROPERTY_ZONES = [
    BERLIN,
    NY,
    "Australia/Lord_Howe",  # half-hour DST
    "America/Santiago",  # transitions at midnight
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "UTC",
    "UTC+05:30",
    "UTC-12:00",
    "UTC+14:00",
]
BASE = datetime(2026, 1, 1, tzinfo=UTC)
TRANSITIONS = [
    moment(text)
    for text in (
        "2026-03-08T07:00+00:00",
        "2026-11-01T06:00+00:00",
        "2026-03-29T01:00+00:00",
        "2026-10-25T01:00+00:00",
        "2026-04-04T15:00+00:00",
        "2026-10-03T15:30+00:00",
        "2026-04-05T03:00+00:00",
        "2026-09-06T04:00+00:00",
    )
]

clock_times = st.builds(time, st.integers(0, 23), st.integers(0, 59))
moments_of_day = st.one_of(
    st.sampled_from(list(Window)).map(lambda window: {"window": window}),
    clock_times.map(lambda at: {"at": at}),
)
rhythms = st.one_of(
    st.builds(
        lambda cadence, kw: Rhythm(cadence, **kw),
        st.sampled_from([Cadence.DAILY, Cadence.EVERY_2_DAYS, Cadence.EVERY_3_DAYS]),
        moments_of_day,
    ),
    st.builds(
        lambda day, kw: Rhythm(Cadence.WEEKLY, frozenset({day}), **kw),
        st.integers(0, 6),
        moments_of_day,
    ),
    st.builds(
        lambda days, kw: Rhythm(Cadence.WEEKDAYS, days, **kw),
        st.frozensets(st.integers(0, 6), min_size=1),
        moments_of_day,
    ),
)
quiet_hours = st.one_of(
    st.none(),
    st.sampled_from(["22:00-08:00", "23:00-07:00", "13:00-14:00", "17:00-08:00"]).map(quiet),
    st.tuples(clock_times, clock_times)
    .filter(lambda p: p[0] != p[1])
    .map(lambda p: QuietHours(*p)),
)
instants = st.one_of(
    st.integers(0, 2 * 365 * 86400).map(lambda s: BASE + timedelta(seconds=s)),
    st.builds(
        lambda at, s: at + timedelta(seconds=s),
        st.sampled_from(TRANSITIONS),
        st.integers(-2 * 86400, 2 * 86400),
    ),
)


@st.composite
def scenarios(draw):
    r, tz, q, now = (
        draw(rhythms),
        zone(draw(st.sampled_from(PROPERTY_ZONES))),
        draw(quiet_hours),
        draw(instants),
    )
    offset = draw(st.none() | st.integers(-6, 2))
    last_slot = None if offset is None else now.astimezone(tz).date() + timedelta(days=offset)
    return r, tz, q, now, last_slot, draw(st.integers(0, 2**32))


def local_instant(day: date, wall: time, tz: tzinfo) -> datetime:
    """A local wall time as an instant by PEP 495 (fold=0), independent of the module."""
    return datetime.combine(day, wall).replace(tzinfo=tz).astimezone(UTC)


def moved_by_quiet(due: datetime, tz: tzinfo, q: QuietHours | None) -> bool:
    return q is not None and due == local_instant(due.astimezone(tz).date(), q.end, tz)


def has_free_minute(window: Window, q: QuietHours | None) -> bool:
    start, end = window.start.hour * 60, window.end.hour * 60
    return q is None or any(not q.contains(time(m // 60, m % 60)) for m in range(start, end))


@settings(max_examples=400, deadline=None)
@given(scenarios())
def test_next_due_properties(scenario):
    r, tz, q, now, last_slot, seed = scenario
    due = next_due(r, tz, q, now, last_slot=last_slot, rng=random.Random(seed))
    assert due is not None
    local = due.astimezone(tz)
    moved = moved_by_quiet(due, tz, q)

    assert due > now
    assert due.tzinfo is UTC
    assert q is None or not q.contains(local.time())
    if r.window is not None:
        assert r.window.contains(local.time()) or moved
        if has_free_minute(r.window, q):
            assert r.window.contains(local.time())
    if r.at is not None:
        assert due == local_instant(local.date(), r.at, tz) or moved
    if r.weekdays:
        previous_day = (local.date() - timedelta(days=1)).weekday()
        assert local.weekday() in r.weekdays or (moved and previous_day in r.weekdays)

    earliest = now.astimezone(tz).date()
    if last_slot is not None:
        gap = {Cadence.EVERY_2_DAYS: 2, Cadence.EVERY_3_DAYS: 3}.get(r.cadence, 1)
        assert local.date() >= last_slot + timedelta(days=gap)
        earliest = max(earliest, last_slot + timedelta(days=gap))
    assert local.date() <= earliest + timedelta(days=8)


@settings(max_examples=100, deadline=None)
@given(scenarios())
def test_next_due_is_deterministic_for_a_seed(scenario):
    r, tz, q, now, last_slot, seed = scenario
    first = next_due(r, tz, q, now, last_slot=last_slot, rng=random.Random(seed))
    again = next_due(r, tz, q, now, last_slot=last_slot, rng=random.Random(seed))
    assert first == again


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_a_prompt_tick_is_never_stale(scenario):
    r, tz, q, now, last_slot, seed = scenario
    due = next_due(r, tz, q, now, last_slot=last_slot, rng=random.Random(seed))
    assert due is not None
    assert not is_stale(r, tz, q, due, due + timedelta(seconds=15))


# --- is_stale ---

# fmt: off
STALE_CASES = [
    # id, /schedule args, quiet hours, due, now (Berlin, +02:00), stale
    ("window-on-time-tick", "daily morning", None,
     "2026-06-10T09:40+02:00", "2026-06-10T09:40:15+02:00", False),
    ("window-last-minute-tick-after-close", "daily morning", None,
     "2026-06-10T11:59+02:00", "2026-06-10T12:00:30+02:00", False),
    ("window-make-up-inside-window", "daily morning", None,
     "2026-06-10T09:10+02:00", "2026-06-10T11:00+02:00", False),
    ("window-make-up-after-close", "daily morning", None,
     "2026-06-10T11:30+02:00", "2026-06-10T12:30+02:00", True),
    ("exact-make-up-within-3h", "daily 09:00", None,
     "2026-06-10T09:00+02:00", "2026-06-10T11:59+02:00", False),
    ("exact-more-than-3h-late", "daily 09:00", None,
     "2026-06-10T09:00+02:00", "2026-06-10T12:00:01+02:00", True),
    ("exact-a-day-late", "daily 09:00", None,
     "2026-06-09T09:00+02:00", "2026-06-10T09:30+02:00", True),
    ("now-inside-quiet-hours", "daily 21:30", "22:00-07:00",
     "2026-06-10T21:30+02:00", "2026-06-10T22:10+02:00", True),
    ("moved-by-quiet-sent-promptly", "daily evening", "17:00-08:00",
     "2026-06-11T08:00+02:00", "2026-06-11T08:00:20+02:00", False),
    ("moved-by-quiet-make-up-outside-window", "daily evening", "17:00-08:00",
     "2026-06-11T08:00+02:00", "2026-06-11T08:40+02:00", True),
    ("moved-exact-sent-promptly", "daily 23:30", "23:00-07:00",
     "2026-06-11T07:00+02:00", "2026-06-11T07:00:30+02:00", False),
    ("moved-exact-make-up-within-3h", "daily 23:30", "23:00-07:00",
     "2026-06-11T07:00+02:00", "2026-06-11T07:40+02:00", False),
    ("switched-to-only-when-i-write", "off", None,
     "2026-06-10T09:00+02:00", "2026-06-10T09:00:10+02:00", True),
]
# fmt: on


@pytest.mark.parametrize(
    ("schedule", "quiet_text", "due", "now", "stale"),
    [pytest.param(*case[1:], id=case[0]) for case in STALE_CASES],
)
def test_is_stale(schedule, quiet_text, due, now, stale):
    r = parse_schedule(schedule)
    assert is_stale(r, zone(BERLIN), quiet(quiet_text), moment(due), moment(now)) is stale


def test_is_stale_max_late_is_adjustable():
    r, tz = parse_schedule("daily 09:00"), zone(BERLIN)
    due, now = moment("2026-06-10T09:00+02:00"), moment("2026-06-10T10:30+02:00")
    assert not is_stale(r, tz, None, due, now)
    assert is_stale(r, tz, None, due, now, max_late=timedelta(hours=1))


# --- describe_next ---

# fmt: off
DESCRIBE_CASES = [
    # id, zone, /schedule args, due, now, expected
    ("today-window", BERLIN, "daily evening",
     "2026-06-10T19:12+02:00", "2026-06-10T12:00+02:00",
     NextDescription("today", None, date(2026, 6, 10), Window.EVENING, None)),
    ("tomorrow-window", BERLIN, "daily morning",
     "2026-06-11T09:47+02:00", "2026-06-10T12:00+02:00",
     NextDescription("tomorrow", None, date(2026, 6, 11), Window.MORNING, None)),
    ("weekday-exact", BERLIN, "weekdays sat 18:15",
     "2026-06-13T18:15+02:00", "2026-06-10T12:00+02:00",
     NextDescription("weekday", 5, date(2026, 6, 13), None, time(18, 15))),
    ("six-days-is-weekday", BERLIN, "weekly tue 18:15",
     "2026-06-16T18:15+02:00", "2026-06-10T12:00+02:00",
     NextDescription("weekday", 1, date(2026, 6, 16), None, time(18, 15))),
    ("seven-days-is-date", BERLIN, "weekly wed 18:15",
     "2026-06-17T18:15+02:00", "2026-06-10T12:00+02:00",
     NextDescription("date", None, date(2026, 6, 17), None, time(18, 15))),
    ("moved-out-of-window-gives-time", BERLIN, "daily evening",
     "2026-06-11T08:00+02:00", "2026-06-10T12:00+02:00",
     NextDescription("tomorrow", None, date(2026, 6, 11), None, time(8, 0))),
    ("local-date-not-utc-date", NY, "daily 23:00",
     "2026-06-10T23:00-04:00", "2026-06-10T20:00-04:00",
     NextDescription("today", None, date(2026, 6, 10), None, time(23))),
    ("gap-time-shown-as-actual", NY, "daily 02:30",
     "2026-03-08T03:30-04:00", "2026-03-07T12:00-05:00",
     NextDescription("tomorrow", None, date(2026, 3, 8), None, time(3, 30))),
]
# fmt: on


@pytest.mark.parametrize(
    ("zone_name", "schedule", "due", "now", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in DESCRIBE_CASES],
)
def test_describe_next(zone_name, schedule, due, now, expected):
    r = parse_schedule(schedule)
    assert describe_next(moment(due), zone(zone_name), moment(now), r) == expected


# --- step_down ---

WEDNESDAY = 2
STEP_DOWN_CASES = [
    ("daily 09:30", "every 2 days 09:30"),
    ("every 2 days evening", "every 3 days evening"),
    ("every 3 days 09:30", "weekly wed 09:30"),
    ("weekly thu morning", None),
    ("weekdays mon,tue,wed,thu,fri 18:15", "every 2 days 18:15"),
    ("weekdays mon,tue,thu,sat 18:15", "every 2 days 18:15"),
    ("weekdays mon,wed,fri afternoon", "every 3 days afternoon"),
    ("weekdays fri,tue 18:15", "weekly tue 18:15"),
    ("weekdays fri 18:15", None),
    ("off", None),
]


@pytest.mark.parametrize(("before", "after"), STEP_DOWN_CASES)
def test_step_down(before, after):
    expected = None if after is None else parse_schedule(after)
    assert step_down(parse_schedule(before), WEDNESDAY) == expected


def test_step_down_ladder_ends_at_weekly():
    ladder: list[Cadence] = []
    r: Rhythm | None = parse_schedule("daily evening")
    while r is not None:
        ladder.append(r.cadence)
        r = step_down(r, 4)
    assert ladder == [Cadence.DAILY, Cadence.EVERY_2_DAYS, Cadence.EVERY_3_DAYS, Cadence.WEEKLY]


# --- parse_schedule ---

SCHEDULE_ACCEPTED = [
    ("daily 09:30", Rhythm(Cadence.DAILY, at=time(9, 30))),
    ("daily 9:30", Rhythm(Cadence.DAILY, at=time(9, 30))),
    ("DAILY Morning", Rhythm(Cadence.DAILY, window=Window.MORNING)),
    ("every day 00:00", Rhythm(Cadence.DAILY, at=time(0, 0))),
    ("every 2 days afternoon", Rhythm(Cadence.EVERY_2_DAYS, window=Window.AFTERNOON)),
    ("every 3 days morning", Rhythm(Cadence.EVERY_3_DAYS, window=Window.MORNING)),
    ("weekly thu evening", Rhythm(Cadence.WEEKLY, frozenset({3}), window=Window.EVENING)),
    ("weekly Sunday 23:59", Rhythm(Cadence.WEEKLY, frozenset({6}), at=time(23, 59))),
    (
        "weekdays mon,wed,fri 18:15",
        Rhythm(Cadence.WEEKDAYS, frozenset({0, 2, 4}), at=time(18, 15)),
    ),
    (
        "weekdays mon, wed, fri 18:15",
        Rhythm(Cadence.WEEKDAYS, frozenset({0, 2, 4}), at=time(18, 15)),
    ),
    (
        "weekdays Tuesday saturday evening",
        Rhythm(Cadence.WEEKDAYS, frozenset({1, 5}), window=Window.EVENING),
    ),
    ("weekdays sun 7:05", Rhythm(Cadence.WEEKDAYS, frozenset({6}), at=time(7, 5))),
    ("off", Rhythm(Cadence.WHEN_I_WRITE)),
    (" OFF ", Rhythm(Cadence.WHEN_I_WRITE)),
]


@pytest.mark.parametrize(("text", "expected"), SCHEDULE_ACCEPTED)
def test_parse_schedule_accepts(text, expected):
    assert parse_schedule(text.split()) == expected
    assert parse_schedule(text) == expected


SCHEDULE_REJECTED = [
    "",
    "daily",
    "daily 25:00",
    "daily 24:00",
    "daily 9.30",
    "daily 09:5",
    "daily 09:60",
    "daily noon",
    "daily 9am",
    "daily 09:30 extra",
    "daily morning 09:30",
    "every 4 days morning",
    "every 1 days morning",
    "every 3 morning",
    "every days morning",
    "weekly thu",
    "weekly mon,thu evening",
    "weekly funday evening",
    "weekdays 18:15",
    "weekdays , 18:15",
    "weekdays mon,funday 18:15",
    "off now",
    "hourly 09:00",
    "morning",
]


@pytest.mark.parametrize("text", SCHEDULE_REJECTED)
def test_parse_schedule_rejects(text):
    with pytest.raises(ScheduleSyntaxError):
        parse_schedule(text.split())


def test_schedule_syntax_error_is_a_value_error():
    assert issubclass(ScheduleSyntaxError, ValueError)


# --- parse_zone and zone ---

ZONE_ACCEPTED = [
    ("Europe/Berlin", "Europe/Berlin"),
    ("europe/berlin", "Europe/Berlin"),
    ("  America/New_York ", "America/New_York"),
    ("AMERICA/NEW_YORK", "America/New_York"),
    ("UTC", "UTC"),
    ("utc", "UTC"),
    ("UTC+2", "UTC+02:00"),
    ("utc+02:00", "UTC+02:00"),
    ("+02:00", "UTC+02:00"),
    ("+2", "UTC+02:00"),
    ("GMT-3", "UTC-03:00"),
    ("UTC -3", "UTC-03:00"),
    ("UTC+5:30", "UTC+05:30"),
    ("UTC+05:45", "UTC+05:45"),
    ("UTC-12", "UTC-12:00"),
    ("UTC+14:00", "UTC+14:00"),
    ("UTC-0", "UTC+00:00"),
    # A city a zone is named after, as a person writes it.
    ("Berlin", "Europe/Berlin"),
    ("madrid", "Europe/Madrid"),
    ("Bogotá", "America/Bogota"),
    ("new york", "America/New_York"),
    ("Mexico City", "America/Mexico_City"),
    ("Buenos Aires", "America/Buenos_Aires"),
    ("Istanbul", "Asia/Istanbul"),  # one zone, two names: the shorter
]


@pytest.mark.parametrize(("text", "expected"), ZONE_ACCEPTED)
def test_parse_zone_accepts(text, expected):
    assert parse_zone(text) == expected


ZONE_REJECTED = [
    "",
    "Mars/Olympus_Mons",
    "Olympus Mons",
    "Barcelona",  # no zone is named after it
    "Eastern",  # US/Eastern is not a city's zone
    "Europe",
    "../../etc/passwd",
    "localtime",
    "UTC+",
    "UTC+15",
    "UTC-13",
    "UTC+14:30",
    "UTC-12:15",
    "UTC+02:60",
    "UTC+02:10",
    "UTC+02:0",
    "UTC+2h",
    "CET+1",
]


@pytest.mark.parametrize("text", ZONE_REJECTED)
def test_parse_zone_rejects(text):
    with pytest.raises(ValueError):
        parse_zone(text)


@pytest.mark.parametrize(
    ("name", "when", "offset"),
    [
        ("Europe/Berlin", "2026-01-15T12:00+00:00", timedelta(hours=1)),
        ("Europe/Berlin", "2026-07-15T12:00+00:00", timedelta(hours=2)),
        ("UTC+05:30", "2026-07-15T12:00+00:00", timedelta(hours=5, minutes=30)),
        ("UTC-03:00", "2026-07-15T12:00+00:00", timedelta(hours=-3)),
        ("UTC+00:00", "2026-07-15T12:00+00:00", timedelta(0)),
    ],
)
def test_zone_offsets(name, when, offset):
    assert moment(when).astimezone(zone(name)).utcoffset() == offset


@pytest.mark.parametrize("name", ["europe/berlin", "UTC+2", "Nowhere/Special", "UTC+15:00"])
def test_zone_wants_a_canonical_name(name):
    with pytest.raises(ValueError):
        zone(name)


# --- parse_quiet ---

QUIET_ACCEPTED = [
    (["22:00-08:00"], QuietHours(time(22), time(8))),
    (["22:00", "-", "08:00"], QuietHours(time(22), time(8))),
    (["22:00 - 08:00"], QuietHours(time(22), time(8))),
    (["7:30-9:00"], QuietHours(time(7, 30), time(9))),
    (["22:00\u201308:00"], QuietHours(time(22), time(8))),
    (["off"], None),
    (["Off"], None),
]


@pytest.mark.parametrize(("args", "expected"), QUIET_ACCEPTED)
def test_parse_quiet_accepts(args, expected):
    assert parse_quiet(args) == expected


@pytest.mark.parametrize(
    "args",
    [[], ["22:00"], ["22:00-22:00"], ["24:00-08:00"], ["22-08"], ["on"], ["22:00-08:00-09:00"]],
)
def test_parse_quiet_rejects(args):
    with pytest.raises(ValueError):
        parse_quiet(args)


@pytest.mark.parametrize(
    ("span", "inside", "outside"),
    [
        ("22:00-08:00", ["22:00", "23:59", "00:00", "07:59"], ["08:00", "12:00", "21:59"]),
        ("13:00-14:00", ["13:00", "13:59"], ["12:59", "14:00", "00:00"]),
    ],
)
def test_quiet_hours_contains(span, inside, outside):
    q = parse_quiet(span)
    assert q is not None
    assert all(q.contains(time.fromisoformat(t)) for t in inside)
    assert not any(q.contains(time.fromisoformat(t)) for t in outside)


def test_quiet_hours_storage_round_trip():
    q = QuietHours(time(22), time(7, 30))
    assert q.to_storage() == "22:00-07:30"
    assert parse_quiet(q.to_storage()) == q


def test_quiet_hours_need_distinct_ends():
    with pytest.raises(ValueError):
        QuietHours(time(22), time(22))


# --- parse_pause ---

PAUSE_ACCEPTED = [
    ("1d", timedelta(days=1)),
    ("1w", timedelta(weeks=1)),
    ("2w", timedelta(weeks=2)),
    ("3d", timedelta(days=3)),
    ("30d", timedelta(days=30)),
    ("8w", timedelta(weeks=8)),
    ("1 day", timedelta(days=1)),
    ("2 weeks", timedelta(weeks=2)),
    (" 2W ", timedelta(weeks=2)),
    ("until I say", None),
    ("Until  i say", None),
    ("indefinitely", None),
]


@pytest.mark.parametrize(("text", "expected"), PAUSE_ACCEPTED)
def test_parse_pause_accepts(text, expected):
    assert parse_pause(text) == expected


@pytest.mark.parametrize(
    "text", ["", "0d", "31d", "0w", "9w", "1m", "1 month", "forever", "-1d", "1.5w", "d", "w2"]
)
def test_parse_pause_rejects(text):
    with pytest.raises(ValueError):
        parse_pause(text)


# --- Rhythm and storage ---

INVALID_RHYTHMS = [
    {"cadence": Cadence.DAILY},
    {"cadence": Cadence.DAILY, "window": Window.MORNING, "at": time(9)},
    {"cadence": Cadence.DAILY, "at": time(9), "weekdays": frozenset({1})},
    {"cadence": Cadence.WEEKLY, "at": time(9)},
    {"cadence": Cadence.WEEKLY, "at": time(9), "weekdays": frozenset({1, 2})},
    {"cadence": Cadence.WEEKDAYS, "at": time(9)},
    {"cadence": Cadence.WEEKDAYS, "at": time(9), "weekdays": frozenset({7})},
    {"cadence": Cadence.WHEN_I_WRITE, "at": time(9)},
    {"cadence": Cadence.DAILY, "at": time(9, 30, 15)},
    {"cadence": Cadence.DAILY, "at": time(9, tzinfo=UTC)},
]


@pytest.mark.parametrize("fields", INVALID_RHYTHMS)
def test_rhythm_rejects_inconsistent_fields(fields):
    with pytest.raises(ValueError):
        Rhythm(**fields)


def test_rhythm_storage_columns():
    r = parse_schedule("weekdays fri,mon,wed 18:15")
    assert r.to_storage() == {
        "cadence": "weekdays",
        "weekdays": "0,2,4",
        "window": None,
        "at": "18:15",
    }
    assert parse_schedule("every 3 days morning").to_storage() == {
        "cadence": "every_3_days",
        "weekdays": None,
        "window": "morning",
        "at": None,
    }


@settings(max_examples=100, deadline=None)
@given(st.one_of(rhythms, st.just(Rhythm(Cadence.WHEN_I_WRITE))))
def test_rhythm_storage_round_trip(r):
    assert Rhythm.from_storage(r.to_storage()) == r


@pytest.mark.parametrize(
    "row",
    [
        {"cadence": "hourly", "weekdays": None, "window": None, "at": "09:00"},
        {"cadence": None, "weekdays": None, "window": None, "at": "09:00"},
        {"cadence": "daily", "weekdays": None, "window": "night", "at": None},
        {"cadence": "daily", "weekdays": None, "window": None, "at": "9h"},
        {"cadence": "weekly", "weekdays": "x", "window": None, "at": "09:00"},
        {"cadence": "weekly", "weekdays": None, "window": None, "at": "09:00"},
    ],
)
def test_rhythm_from_storage_rejects(row):
    with pytest.raises(ValueError):
        Rhythm.from_storage(row)


def test_window_bounds():
    assert [(w.start, w.end) for w in Window] == [
        (time(9), time(12)),
        (time(13), time(17)),
        (time(18), time(21)),
    ]
