"""The heartbeat row: written by the running bot once per tick, read by `health`."""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.storage.db import Database, from_db, to_db


@dataclass(frozen=True)
class Beat:
    """When the bot last ticked, and when the Bot API last answered it (None: not yet)."""

    tick_at: datetime
    api_ok_at: datetime | None


async def beat(db: Database, tick_at: datetime, api_ok_at: datetime | None) -> None:
    """Record a tick: one single-statement write."""
    async with db.autocommit(background=True):
        await db.write(
            "INSERT INTO heartbeat (id, tick_at, api_ok_at) VALUES (1, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET tick_at = excluded.tick_at,"
            " api_ok_at = excluded.api_ok_at",
            (to_db(tick_at), None if api_ok_at is None else to_db(api_ok_at)),
        )


def read_beat(database: Path) -> Beat | None:
    """The last heartbeat, read-only from another process; None when there is none.

    sqlite3.Error when the database cannot be read.
    """
    uri = f"{database.resolve().as_uri()}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=5)) as connection:
        try:
            row = connection.execute("SELECT tick_at, api_ok_at FROM heartbeat").fetchone()
        except sqlite3.OperationalError as error:
            if "no such table" in str(error):
                return None  # a database the bot has not run on since this version
            raise
    if row is None:
        return None
    return Beat(from_db(row[0]), None if row[1] is None else from_db(row[1]))
