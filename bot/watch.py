"""The storage watch: a database that stays broken, or vanishes, stops the bot loudly.

A live process that does nothing is the worst outcome for a support service: nobody
restarts it, and nobody knows. Every WATCH_SECONDS the watch asks the database two things.
Has it failed with no write going through since (`Database.failing`: the inbox, the
tick and the sender all write through it) for STORAGE_FAILURE_EXIT_MINUTES, or has one call
to it not come back for as long (a hang fails nothing)? Is the file at
DATABASE_PATH still the one open here (`Database.moved`: into a deleted file every write
would vanish)? Either way the bot stops with exit code 1 and one line saying why, so
systemd or Docker restarts it, or a person looks.

The watch runs in its own task, so it sees the database failing whatever else waits on it.
It logs `storage.failing` when a run of failures starts, `storage.recovered` when a write
goes through again, and `storage.stopping` before it stops the bot.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bot.logs import EventLog
from bot.storage.db import Database

log = EventLog(__name__)

WATCH_SECONDS = 1.0


class StorageWatch:
    """Looks at the database every WATCH_SECONDS; calls `stop` with the reason to stop."""

    def __init__(
        self, db: Database, exit_after_seconds: float, stop: Callable[[str], None]
    ) -> None:
        self._db = db
        self._exit_after = exit_after_seconds
        self._stop = stop
        self._failing = False

    def look(self) -> str | None:
        """One look: why the bot must stop (a sentence to end "the database ..."), or None."""
        moved = self._db.moved()
        if moved is not None:
            return f"is gone from under the running bot: {moved}"
        held = self._db.held_for()
        if held is not None and held >= self._exit_after:
            return f"has not answered for {self._exit_after / 60:g} minutes (a call to it hangs)"
        failing = self._db.failing()
        if failing is None:
            if self._failing:
                log.warning("storage.recovered")
            self._failing = False
            return None
        seconds, fault = failing
        if not self._failing:
            log.error("storage.failing", error=fault)
            self._failing = True
        if seconds >= self._exit_after:
            minutes = f"{self._exit_after / 60:g}"
            return f"has failed for {minutes} minutes ({fault})"
        return None

    async def run(self) -> None:
        """Look until stopped; once there is a reason, ask to stop every time (the bot may
        still be starting the first time)."""
        said: str | None = None
        while True:
            try:
                reason = said or self.look()
            except Exception:
                # A fault of ours in one look must not leave the bot unwatched for good.
                log.exception("storage.watch_error")
                reason = None
            if reason is not None:
                if said is None:
                    log.error("storage.stopping", reason=reason)
                said = reason
                self._stop(reason)
            await asyncio.sleep(WATCH_SECONDS)
