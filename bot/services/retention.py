"""Retention: once a day, whatever has been kept long enough goes, in small batches.

A job of its own asks every second (bot.scheduling); the purge starts at most once a day
(and once at start-up, which finds little when the bot was down a short while). Each
call deletes one small batch, a statement under the database lock on its own as
background work, so a person's message never waits behind more than one batch, and the
check-in tick never carries the purge. At 100,000 clients a day of history is about
130,000 rows, 5,200 batches: some ninety minutes of steps. Once nothing past the day's cutoffs is
left, the next purge is a day later.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime, timedelta

from bot.domain.clock import Clock
from bot.logs import EventLog
from bot.storage.db import Database
from bot.storage.retention import Kept, RetentionRepository

log = EventLog(__name__)

PURGE_EVERY = timedelta(days=1)
# A batch deletes this many rows: each row changes pages of indexes ordered by client
# (spread all over the file), so a batch's cost grows with its rows; see bench_aged for
# what one takes against the 10 ms any one statement may hold the database (100 rows
# took 3-16 ms at the median there, 25 rows well under that; more steps cost nothing
# that matters: a day's purge still ends well within the day).
BATCH_ROWS = 25


class Purge:
    """Deletes rows older than their table's age, a day at a time, a batch at a time."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        batch_rows: int = BATCH_ROWS,
    ) -> None:
        self._db = db
        self._repo = RetentionRepository(db)
        self._clock = clock
        self._batch_rows = batch_rows
        self._next_at: datetime | None = None  # None: at the next call
        self._cutoffs: dict[Kept, datetime] = {}  # what is left of the purge under way
        self._invites_expired_by: datetime | None = None  # None: none left to delete
        self._deleted = 0
        self._one_at_a_time = asyncio.Lock()  # the job, and a direct call (tests)
        self.statements = 0  # how many batches so far (benchmarks count them)

    @property
    def under_way(self) -> bool:
        """Whether a purge has started and not finished."""
        return bool(self._cutoffs) or self._invites_expired_by is not None

    async def run(self, ages: Mapping[Kept, timedelta]) -> int:
        """Go on with today's purge (starting it if one is due) until one batch comes back
        full, or the purge is done; how many rows went."""
        async with self._one_at_a_time:
            return await self._step(ages)

    async def _step(self, ages: Mapping[Kept, timedelta]) -> int:
        now = self._clock.now()
        if not self.under_way:
            if self._next_at is not None and now < self._next_at:
                return 0
            self._cutoffs = {table: now - ages[table] for table in Kept if table in ages}
            self._invites_expired_by = now
            self._next_at = now + PURGE_EVERY
            self._deleted = 0
        deleted = 0
        for table in list(self._cutoffs):
            async with self._db.autocommit(background=True):
                gone = await self._repo.delete_before(
                    table, self._cutoffs[table], self._batch_rows
                )
            deleted += gone
            self.statements += 1
            if gone == self._batch_rows:
                break  # more where this came from: the next step goes on
            del self._cutoffs[table]
        if not self._cutoffs and self._invites_expired_by is not None:
            # Last, a batch at a time like the rest: the first purge after an upgrade finds
            # every invite ever left unused.
            async with self._db.autocommit(background=True):
                gone = await self._repo.delete_expired_invites(
                    self._invites_expired_by, self._batch_rows
                )
            deleted += gone
            self.statements += 1
            if gone < self._batch_rows:
                self._invites_expired_by = None
        self._deleted += deleted
        if not self.under_way:
            log.info("retention.purged", rows=self._deleted)
        return deleted
