"""The inbox: ids of messages received and not yet handled (never their content)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.storage.db import Database, to_db


@dataclass(frozen=True)
class Received:
    """A message that arrived: enough to relay it by id after a crash."""

    update_id: int
    user_id: int
    chat_id: int
    message_id: int
    reply_to_message_id: int | None
    # What the safety screen found when the message arrived (a category, never words).
    safety_category: str | None = None
    # A voice note, video or audio the screen cannot read: its kind, never its content.
    unscreened: str | None = None


class InboxRepository:
    """Reads and writes the inbox table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def keep(self, received: Received, now: datetime) -> None:
        """Remember a message until it is handled."""
        await self._db.write(
            "INSERT OR IGNORE INTO inbox (update_id, user_id, chat_id, message_id,"
            " reply_to_message_id, safety_category, unscreened, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                received.update_id,
                received.user_id,
                received.chat_id,
                received.message_id,
                received.reply_to_message_id,
                received.safety_category,
                received.unscreened,
                to_db(now),
            ),
        )

    async def forget(self, update_id: int) -> None:
        """The message was handled."""
        await self._db.write("DELETE FROM inbox WHERE update_id = ?", (update_id,))

    async def unhandled(self) -> list[Received]:
        """Messages a crash left unhandled, oldest first."""
        rows = await self._db.fetch_all(
            "SELECT update_id, user_id, chat_id, message_id, reply_to_message_id,"
            " safety_category, unscreened FROM inbox"
            " ORDER BY update_id"
        )
        return [Received(*row) for row in rows]
