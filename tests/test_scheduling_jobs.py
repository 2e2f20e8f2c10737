"""The repeating jobs when the bot stops under them: one line, never APScheduler's traceback."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from bot.scheduling import job_retention


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
