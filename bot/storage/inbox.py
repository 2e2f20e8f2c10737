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
    # Someone else's words the client forwarded: relayed after a crash under that header.
    forwarded: bool = False
    # Written in a client's topic in the team group (chat_id is the group's).
    thread_id: int | None = None
    # An edit (in memory only, never stored): kept only when it is a client's and the
    # screen flags it, the one kind of edit that is relayed (bot.handlers.client).
    edited: bool = False


class InboxRepository:
    """Reads and writes the inbox table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def keep(self, received: Received, now: datetime) -> None:
        """Remember a message until it is handled."""
        await self._db.write(
            "INSERT OR IGNORE INTO inbox (update_id, user_id, chat_id, message_id,"
            " reply_to_message_id, safety_category, unscreened, forwarded, thread_id,"
            " received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                received.update_id,
                received.user_id,
                received.chat_id,
                received.message_id,
                received.reply_to_message_id,
                received.safety_category,
                received.unscreened,
                int(received.forwarded),
                received.thread_id,
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
            " safety_category, unscreened, forwarded, thread_id FROM inbox"
            " ORDER BY update_id"
        )
        return [
            Received(
                update_id=row[0],
                user_id=row[1],
                chat_id=row[2],
                message_id=row[3],
                reply_to_message_id=row[4],
                safety_category=row[5],
                unscreened=row[6],
                forwarded=bool(row[7]),
                thread_id=row[8],
            )
            for row in rows
        ]
