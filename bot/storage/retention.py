"""Retention: what is past its time goes, a small batch per statement, found by index.

Each statement deletes at most `limit` rows of one table, chosen through an index on
the column that dates them (m015), so no statement holds the database for long, however
much history the file holds: a relay waits behind one batch at most, never the purge.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from bot.storage.db import Database, to_db


class Kept(StrEnum):
    """The tables whose rows are deleted once old enough; in the order they are purged."""

    # Sent messages first: they point at relay links, which would otherwise be updated
    # (ON DELETE SET NULL) only to be deleted a moment later.
    OUTBOX = "outbox"
    RELAY_LINKS = "relay_links"
    CHECKINS = "checkins"
    PROCESSED_UPDATES = "processed_updates"
    EVENTS = "events"
    # Settled ones only (one still due waits for the tick); their copies' routing went with
    # relay_links, and the copies with them.
    ESCALATIONS = "escalations"


# The rows past a moment, through the index named beside each (m004, m015).
_OLD: dict[Kept, str] = {
    # outbox_finished; a message still waiting to go is never purged.
    Kept.OUTBOX: "status IN ('sent', 'dead') AND created_at < ?",
    Kept.RELAY_LINKS: "created_at < ?",  # relay_links_created
    Kept.CHECKINS: "sent_at < ?",  # checkins_sent
    Kept.PROCESSED_UPDATES: "processed_at < ?",  # processed_updates_at
    Kept.EVENTS: "at < ?",  # events_at (m016)
    Kept.ESCALATIONS: "flagged_at < ? AND due_at IS NULL",  # escalations_settled
}
_KEY = {Kept.PROCESSED_UPDATES: "update_id"}


class RetentionRepository:
    """Deletes old rows, one bounded batch at a time."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def delete_expired_invites(self, now: datetime, limit: int) -> int:
        """Delete up to `limit` invites that expired unused: the alias (often a person's
        name) serves nothing once the link cannot be used (a used one went when it was
        used: m007). Without an index: only invites not yet used are there, a few per
        specialist, but the first purge after an upgrade finds every one ever left unused
        (30,000 in one statement held the database 162 ms), hence the batch."""
        return await self._db.write(
            "DELETE FROM invites WHERE id IN"
            " (SELECT id FROM invites WHERE expires_at < ? LIMIT ?)",
            (to_db(now), limit),
        )

    async def delete_before(self, table: Kept, moment: datetime, limit: int) -> int:
        """Delete up to `limit` rows of `table` older than the moment; how many went."""
        return await self._db.write(delete_statement(table), (to_db(moment), limit))


def delete_statement(table: Kept) -> str:
    """DELETE of at most `?2` rows of the table older than `?1`."""
    key = _KEY.get(table, "id")
    return (
        f"DELETE FROM {table} WHERE {key} IN"
        f" (SELECT {key} FROM {table} WHERE {_OLD[table]} LIMIT ?)"
    )
