"""The repeating jobs when the bot stops under them: one line, never APScheduler's traceback."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from types import SimpleNamespace
from typing import Any

import pytest

from bot.scheduling import job_checkin_drain, job_retention


class Stuck:
    """A purge step cancelled where it waits (the JobQueue stopping cancels running jobs)."""

    async def tidy(self, retention: Any) -> None:
        raise asyncio.CancelledError


def context(running: bool) -> Any:
    found = SimpleNamespace(relay=Stuck(), retention=None)
    return SimpleNamespace(
        application=SimpleNamespace(running=running),
        bot_data=SimpleNamespace(services=found),
        job=None,
    )


async def test_a_job_cancelled_while_the_bot_stops_ends_quietly() -> None:
    # Raising would reach APScheduler, which logs a cancelled job as an error with a traceback.
    await job_retention(context(running=False))


async def test_a_job_cancelled_while_the_bot_runs_is_still_cancelled() -> None:
    with pytest.raises(asyncio.CancelledError):
        await job_retention(context(running=True))


class LockedThenFree:
    """Check-ins whose database is locked once (another process held it past the timeout)."""

    def __init__(self) -> None:
        self.slices = 0

    async def tick(self, seconds: float | None = None) -> Any:
        self.slices += 1
        if self.slices == 1:
            raise sqlite3.OperationalError("database is locked")
        return SimpleNamespace(checkins=1, offers=0, more=False)


def draining(checkins: LockedThenFree) -> Any:
    found = SimpleNamespace(checkins=checkins)
    return SimpleNamespace(
        application=SimpleNamespace(running=True),
        bot_data=SimpleNamespace(services=found, draining=True),
        job=None,
    )


async def test_a_drain_on_a_locked_database_ends_in_one_line_and_the_next_starts_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    checkins = LockedThenFree()
    context = draining(checkins)
    with caplog.at_level(logging.INFO, logger="bot.scheduling"):
        await job_checkin_drain(context)
        # The next tick sees no drain under way, so it takes the check-ins (and, with
        # more due, a drain) again.
        assert context.bot_data.draining is False
        await job_checkin_drain(context)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert lines[0] == 'event=drain.failed error="database is locked"'
    assert lines[1].startswith("event=checkins.drained sent=1 ")
    assert context.bot_data.draining is False
