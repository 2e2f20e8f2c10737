"""Quiet hours against time: when they next begin (the latest moment a queued check-in may
go), and a check-in a specialist asked for that meets them when it falls due."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from bot.domain.engine import Action, decide_manual
from bot.domain.models import ClientStatus, Schedule
from bot.domain.rhythm import parse_quiet, quiet_begins, zone

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
    asked = Schedule(
        client_id=1,
        rhythm=None,
        quiet=parse_quiet("22:00-08:00"),
        timezone="UTC",
        timezone_chosen=True,
        paused_until=None,
        next_due_at=None,
        manual_due_at=utc(2026, 11, 30, 8),
        last_slot=None,
        unanswered=0,
        last_prompt=None,
        last_sent_kind=None,
        welcome_back=False,
        awaiting=None,
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
