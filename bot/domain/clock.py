"""Where the current time comes from, so tests can move it."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current time as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """Return the current time in UTC."""
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to (tests, the demo, benchmarks)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        """Return the time the clock was set to."""
        return self._now

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward."""
        self._now += delta

    def set(self, moment: datetime) -> None:
        """Jump to a moment."""
        self._now = moment.astimezone(UTC)


class StepBack:
    """How far a clock went back between two looks (NTP stepping the machine's clock, a
    hardware clock read as local time), measured against a clock that never goes back.

    A wait written as a moment (a retry's, an escalation's deadline) would otherwise last
    that much longer: an hour for an hour.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        least: timedelta = timedelta(seconds=2),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._least = least
        self._monotonic = monotonic
        self._last: tuple[datetime, float] | None = None

    def look(self) -> tuple[datetime, timedelta | None]:
        """The clock's now, and how far it went back since the last look (None: not at all,
        or less than `least`)."""
        now, ticking = self._clock.now(), self._monotonic()
        last, self._last = self._last, (now, ticking)
        if last is None:
            return now, None
        step = last[0] + timedelta(seconds=ticking - last[1]) - now
        return now, step if step >= self._least else None
