"""Is the bot alive? The running bot's pulse, and `python -m bot health` that reads it.

The bot writes a heartbeat row once per tick (bot/storage/heartbeat.py): the tick's time
and the time the Bot API last answered it. `health` reads that row from another process
and passes when both are recent: a bot that still runs but no longer ticks, or that has
lost Telegram, fails the check as surely as one that has stopped.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from telegram.error import TelegramError

from bot import metrics
from bot.logs import EventLog
from bot.storage.heartbeat import beat, read_beat
from bot.storage.outbox import OutboxRepository

if TYPE_CHECKING:
    from telegram import Bot

    from bot.services.container import Services

log = EventLog(__name__)

# A tick may be late by a slow tick or two; a minute at the least.
TICKS_OF_GRACE = 3
MIN_TICK_GRACE = timedelta(seconds=60)
# Long polling asks Telegram every few seconds, and an idle webhook bot asks getMe once a
# minute (API_PROBE_AFTER): five minutes without an answer is an outage, not a pause.
API_GRACE = timedelta(minutes=5)
API_PROBE_AFTER = timedelta(seconds=60)


class Pulse:
    """When the Bot API last answered (any 200): the transports report, the tick reads."""

    def __init__(self) -> None:
        self._answered: float | None = None

    def answered(self) -> None:
        """A call succeeded (cheap: one float, on every request)."""
        self._answered = time.time()

    @property
    def api_ok_at(self) -> datetime | None:
        """The last successful call, or None."""
        return None if self._answered is None else datetime.fromtimestamp(self._answered, UTC)


@dataclass(frozen=True)
class Watch:
    """What the tick reports after each run: the heartbeat, and the outbox's gauges."""

    pulse: Pulse
    gauges: bool = False

    async def after_tick(self, found: Services, bot: Bot) -> None:
        """Write the heartbeat (asking getMe first when the Bot API has been quiet a
        while, as an idle webhook bot is), and with metrics on, measure the outbox."""
        # Wall time, not the services' clock (which tests move): `health` compares it with
        # the time of the machine it runs on.
        now = datetime.now(UTC)
        answered = self.pulse.api_ok_at
        if answered is None or now - answered > API_PROBE_AFTER:
            try:
                await bot.get_me()
            except TelegramError as error:
                log.warning("health.api_unreachable", error=type(error).__name__)
        await beat(found.db, now, self.pulse.api_ok_at)
        if self.gauges:
            async with found.db.autocommit(background=True):
                depths, oldest = await OutboxRepository(found.db).waiting()
            age = 0.0 if oldest is None else max(0.0, (now - oldest).total_seconds())
            metrics.outbox_waiting(depths, age)


@dataclass(frozen=True)
class Verdict:
    """Healthy or not, and one line saying why."""

    healthy: bool
    reason: str


def check_health(database: Path, tick_seconds: float, now: datetime) -> Verdict:
    """Whether the bot on this database ticked and reached Telegram recently."""
    if not database.is_file():
        return Verdict(False, f"no database at {database}: the bot has never run here")
    try:
        beat = read_beat(database)
    except sqlite3.Error as error:
        return Verdict(False, f"cannot read {database}: {error}")
    if beat is None:
        return Verdict(False, "no heartbeat yet: is the bot running?")
    tick_grace = max(MIN_TICK_GRACE, timedelta(seconds=tick_seconds * TICKS_OF_GRACE))
    since_tick = now - beat.tick_at
    if since_tick > tick_grace:
        return Verdict(False, f"no tick for {_ago(since_tick)}: the bot is stopped or stuck")
    if beat.api_ok_at is None:
        return Verdict(False, "the bot has not reached the Bot API since it started")
    since_api = now - beat.api_ok_at
    if since_api > API_GRACE:
        return Verdict(False, f"no answer from the Bot API for {_ago(since_api)}")
    return Verdict(
        True, f"ok: ticked {_ago(since_tick)} ago, Bot API answered {_ago(since_api)} ago"
    )


def _ago(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    return f"{seconds} s" if seconds < 120 else f"{seconds // 60} min"
