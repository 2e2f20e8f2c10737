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
"""

from __future__ import annotations

from bot.logs import EventLog
from bot.storage.db import Database

log = EventLog(__name__)


async def checkpoint(db: Database) -> bool:
    """Copy the write-ahead log into the database file and empty it; False if another
    process's reader or writer held it back (nothing waits: try again later)."""
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
