"""Deleted text leaves the database's files, not only its tables.

SQLite keeps what a statement deleted or overwrote in two places a copy of the files would
show: the free space of the database file, and older frames of the write-ahead log, which
stay until a checkpoint has copied the log into the database and the log is emptied.
`secure_delete` (set at open) zeroes freed space as it is freed; `checkpoint` empties the
log. Sent messages' payloads are cleared all day long, so the tick checkpoints (what was
cleared is unreadable on disk within CHECKIN_TICK_SECONDS); an erasure checkpoints at once.

The checkpoint never waits: another process reading (a backup, the command line) makes it
return busy at once, and the next tick tries again. Waiting for them (the busy timeout)
would hold every relay behind the connection meanwhile.

Copying the log into the file (fsync included) is most of a checkpoint's cost. SQLite
does it by itself inside whichever commit takes the log past 1,000 pages, and that
commit holds the bot's connection meanwhile: at 100,000 clients with a year of history,
purge batches and relays took up to a second then. The running bot therefore turns that
off and copies the log on a connection (and thread) of its own, outside the lock
(`LogCopier`, every second and before each tick's checkpoint); what is left for the
tick's checkpoint, under the lock, is the last moment's pages and emptying the log.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import aiosqlite

from bot.logs import EventLog
from bot.storage.db import Database

log = EventLog(__name__)


class LogCopier:
    """Copies the write-ahead log into the database file without the bot's connection.

    A PASSIVE checkpoint waits for nobody and nobody waits for it: writers go on adding
    to the log meanwhile. A database that fails is reported by the bot's own connection
    (bot.watch); here it only means nothing was copied this time.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._connection: aiosqlite.Connection | None = None
        self._one_at_a_time = asyncio.Lock()

    async def start(self, db: Database) -> None:
        """From now on, commits on `db` never copy the log themselves: this does (from the
        jobs, not here: a start never waits for a long log left by a crash)."""
        async with db.autocommit():
            await db.write("PRAGMA wal_autocheckpoint=0")

    async def copy(self) -> None:
        """Copy what the log holds into the file, as far as readers allow."""
        async with self._one_at_a_time:
            try:
                if self._connection is None:
                    if not self._path.exists():
                        return  # deleted under the bot: nothing to copy into (bot.watch)
                    # mode=rw: a database deleted under the bot is never made again here.
                    self._connection = await aiosqlite.connect(
                        f"{self._path.resolve().as_uri()}?mode=rw", uri=True, isolation_level=None
                    )
                    await self._connection.execute("PRAGMA busy_timeout=0")
                # Fetched to the end: a statement left open would hold a read on the log,
                # and the tick's TRUNCATE would then never empty it.
                await self._connection.execute_fetchall("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error:
                pass

    async def close(self) -> None:
        """Close its connection."""
        async with self._one_at_a_time:
            if self._connection is not None:
                await self._connection.close()
                self._connection = None


async def checkpoint(db: Database, copier: LogCopier | None = None) -> bool:
    """Copy the write-ahead log into the database file and empty it; False if another
    process's reader or writer held it back (nothing waits: try again later). With a
    copier, the copying is done first, outside the lock."""
    if copier is not None:
        await copier.copy()
    async with db.autocommit(background=True):
        await db.write("PRAGMA busy_timeout=0")
        try:
            row = await db.fetch_one("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            await db.write(f"PRAGMA busy_timeout={db.busy_timeout_ms}")
    done = row is not None and row[0] == 0
    if not done:
        log.info("storage.checkpoint_busy")
    return done
