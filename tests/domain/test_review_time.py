"""A second reading of quiet hours against time (review of the hostile-time branch): when
they next begin, on the nights the clocks change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.domain.rhythm import parse_quiet, quiet_begins, zone

BERLIN = zone("Europe/Berlin")


def test_quiet_hours_beginning_in_the_repeated_hour_begin_again_at_its_second_reading() -> None:
    """Quiet from 02:30 in Berlin; on 25 October 02:30 comes twice, and between its two
    readings (02:00-02:30 the second time round) it is not quiet. A check-in queued at 02:15
    then, held up by Telegram, must not go once 02:30 has come again: that is quiet hours."""
    quiet = parse_quiet("02:30-06:00")
    queued = datetime(2026, 10, 25, 1, 15, tzinfo=UTC)  # 02:15, the second time round
    assert not quiet.contains(queued.astimezone(BERLIN).time())
    second_reading = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 02:30 again
    assert quiet.contains(second_reading.astimezone(BERLIN).time())
    assert quiet_begins(queued, BERLIN, quiet) == second_reading


def test_quiet_hours_begin_no_later_than_the_first_quiet_minute_around_every_change() -> None:
    """Minute by minute through both nights the clocks change in Berlin, for quiet hours that
    begin before, inside and after the hour that is skipped or repeated: the moment a queued
    check-in expires is never after the first minute that is quiet."""
    for night in (datetime(2026, 3, 28, 22, tzinfo=UTC), datetime(2026, 10, 24, 22, tzinfo=UTC)):
        for start in ("01:45", "02:00", "02:15", "02:30", "02:59", "03:00", "03:15"):
            quiet = parse_quiet(f"{start}-06:00")
            for minute in range(0, 6 * 60, 5):
                moment = night + timedelta(minutes=minute)
                first_quiet = moment
                while not quiet.contains(first_quiet.astimezone(BERLIN).time()):
                    first_quiet += timedelta(minutes=1)
                begins = quiet_begins(moment, BERLIN, quiet)
                assert begins is not None
                # A start inside the skipped hour is read an hour on (as the tick reads
                # it), at most the gap after the clock reached it.
                slack = timedelta(hours=1) if night.month == 3 else timedelta(0)
                assert begins <= first_quiet + slack, (start, moment)
