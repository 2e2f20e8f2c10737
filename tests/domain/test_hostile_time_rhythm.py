"""Quiet hours against time: when they next begin (the latest moment a queued check-in may
go), a check-in a specialist asked for that meets them when it falls due, and a clock that
is set back."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.clock import ManualClock, StepBack
from bot.domain.engine import Action, decide_manual
from bot.domain.models import ClientStatus
from bot.domain.rhythm import parse_quiet, quiet_begins, zone
from tests.domain.test_engine import schedule

BERLIN = "Europe/Berlin"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("quiet", "moment", "expected"),
    [
        # Before today's start (22:00 in Berlin, 21:00 UTC): today's start.
        ("22:00-07:00", utc(2026, 11, 30, 20, 30), utc(2026, 11, 30, 21, 0)),
        # Just after the night's quiet hours ended: tonight's start.
        ("22:00-07:00", utc(2026, 11, 30, 6, 0), utc(2026, 11, 30, 21, 0)),
        # Inside quiet hours already: the moment itself.
        ("22:00-07:00", utc(2026, 11, 30, 22, 30), utc(2026, 11, 30, 22, 30)),
        # Quiet hours within one day, the moment after them: tomorrow's.
        ("13:00-14:00", utc(2026, 11, 30, 14, 0), utc(2026, 12, 1, 12, 0)),
        # The start falls in the spring-forward gap (02:30 on 29 March): it moves by the gap.
        ("02:30-06:00", utc(2026, 3, 28, 23, 0), utc(2026, 3, 29, 1, 30)),
        # The start falls in the repeated hour (02:30 on 25 October): its first occurrence.
        ("02:30-06:00", utc(2026, 10, 24, 23, 0), utc(2026, 10, 25, 0, 30)),
    ],
)
def test_quiet_begins(quiet: str, moment: datetime, expected: datetime) -> None:
    assert quiet_begins(moment, zone(BERLIN), parse_quiet(quiet)) == expected


def test_no_quiet_hours_never_begin() -> None:
    assert quiet_begins(utc(2026, 11, 30), zone(BERLIN), None) is None


def test_a_checkin_asked_for_waits_out_quiet_hours_it_meets_when_due() -> None:
    """Due at 08:00 after quiet hours, found at 23:30 (the bot was down all day): it waits
    for 08:00 again, and goes then."""
    asked = schedule(
        rhythm=None,
        quiet=parse_quiet("22:00-08:00"),
        next_due_at=None,
        manual_due_at=utc(2026, 11, 30, 8),
    )
    rng = random.Random(1)
    late = decide_manual(
        ClientStatus.ACTIVE, asked, utc(2026, 11, 30, 23, 30), prompt_keys=["a"], rng=rng
    )
    assert late.action is Action.SKIP
    assert late.schedule.manual_due_at == utc(2026, 12, 1, 8)
    morning = decide_manual(
        ClientStatus.ACTIVE, late.schedule, utc(2026, 12, 1, 8), prompt_keys=["a"], rng=rng
    )
    assert morning.action is Action.CHECKIN
    assert morning.schedule.manual_due_at is None


def test_a_step_back_is_measured_against_a_clock_that_never_goes_back() -> None:
    clock = ManualClock(utc(2026, 11, 30, 9))
    ticking = [100.0]
    watch = StepBack(clock, monotonic=lambda: ticking[0])
    assert watch.look() == (utc(2026, 11, 30, 9), None)  # the first look only notes
    clock.advance(timedelta(seconds=30))
    ticking[0] += 30  # time passes: no step
    assert watch.look()[1] is None
    clock.advance(timedelta(minutes=10))  # the clock jumps forward: no step back
    assert watch.look()[1] is None
    ticking[0] += 5
    clock.advance(timedelta(seconds=5) - timedelta(hours=1))  # 5 s pass, the clock goes back
    assert watch.look()[1] == timedelta(hours=1)
    ticking[0] += 1
    clock.advance(timedelta(seconds=-0.5))  # less than two seconds: not a step
    assert watch.look()[1] is None
