"""The team inbox's topics: one forum topic per client, its thread id once Telegram made it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.storage.db import Database, to_db

# The idempotency keys of team group items about one client start "<prefix>:<client id>:"
# (bot.services.team): a copy of their message, its line in General, the away note.
_KEYED = ("team", "team-urgent", "team-away", "team-escalated")
# Of those, the lines in the General topic that name the client (bot.services.team).
_GENERAL = ("team-urgent", "team-escalated")


@dataclass(frozen=True)
class Topic:
    """A client's topic in the team group (thread_id None: asked for, not made yet)."""

    client_id: int
    thread_id: int | None
    title: str
    closed: bool
    # The group it is in (None only for a row from before m021 not yet given one).
    chat_id: int | None = None


def _topic(row: aiosqlite.Row) -> Topic:
    return Topic(
        row["client_id"], row["thread_id"], row["title"], bool(row["closed"]), row["chat_id"]
    )


class TopicRepository:
    """Reads and writes team_topics (and the team chat's queued items about one client)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def claim(self, client_id: int, title: str, chat_id: int, now: datetime) -> bool:
        """Reserve the client's topic; False if it was reserved already (never two)."""
        changed = await self._db.write(
            "INSERT OR IGNORE INTO team_topics (client_id, title, chat_id, created_at)"
            " VALUES (?, ?, ?, ?)",
            (client_id, title, chat_id, to_db(now)),
        )
        return changed == 1

    async def in_group(self, chat_id: int) -> int:
        """Rows from before m021 are in the group in use now; how many were given it."""
        return await self._db.write(
            "UPDATE team_topics SET chat_id = ? WHERE chat_id IS NULL", (chat_id,)
        )

    async def being_made(self, client_id: int) -> bool:
        """The client's topic is reserved and its request waits to go (or is going)."""
        row = await self._db.fetch_one(
            "SELECT 1 FROM team_topics WHERE client_id = ? AND thread_id IS NULL AND EXISTS"
            " (SELECT 1 FROM outbox WHERE method = 'create_topic'"
            " AND status IN ('pending', 'sending', 'held')"
            " AND json_extract(payload, '$.topic') = team_topics.client_id)",
            (client_id,),
        )
        return row is not None

    async def lost(self, client_id: int, thread_id: int | None) -> bool:
        """Telegram says the topic is gone (or was never made): forget it, so the client's
        next message asks for a new one; False if the row is another (newer) topic's."""
        if thread_id is None:
            changed = await self._db.write(
                "DELETE FROM team_topics WHERE client_id = ? AND thread_id IS NULL", (client_id,)
            )
        else:
            changed = await self._db.write(
                "DELETE FROM team_topics WHERE client_id = ? AND thread_id = ?",
                (client_id, thread_id),
            )
        return changed == 1

    async def get(self, client_id: int) -> Topic | None:
        row = await self._db.fetch_one(
            "SELECT * FROM team_topics WHERE client_id = ?", (client_id,)
        )
        return None if row is None else _topic(row)

    async def by_thread(self, thread_id: int) -> Topic | None:
        row = await self._db.fetch_one(
            "SELECT * FROM team_topics WHERE thread_id = ?", (thread_id,)
        )
        return None if row is None else _topic(row)

    async def made(self, client_id: int, thread_id: int) -> bool:
        """Telegram made the topic; False if the client has none reserved (or one already)."""
        changed = await self._db.write(
            "UPDATE team_topics SET thread_id = ? WHERE client_id = ? AND thread_id IS NULL",
            (thread_id, client_id),
        )
        return changed == 1

    async def set_title(self, client_id: int, title: str) -> bool:
        """A new title; False if it is the same, or the client has no topic."""
        changed = await self._db.write(
            "UPDATE team_topics SET title = ? WHERE client_id = ? AND title != ?",
            (title, client_id, title),
        )
        return changed == 1

    async def set_closed(self, client_id: int, closed: bool) -> bool:
        """Closed or open; False if it was already so, or the client has no topic."""
        changed = await self._db.write(
            "UPDATE team_topics SET closed = ? WHERE client_id = ? AND closed != ?",
            (int(closed), client_id, int(closed)),
        )
        return changed == 1

    async def forget(
        self, client_id: int
    ) -> tuple[Topic | None, list[int], list[tuple[int, int]]]:
        """Remove the client's topic row and what still waits to go into it or to link to
        it (in whichever group), in flight too; return it, the ids of the outbox items
        deleted (the sender may hold some of them already), and the (chat, message) of
        each line about the client sent to the General topic.

        An item being sent that then fails would otherwise be tried again later, into
        the topic of whoever has the client's id by then (SQLite gives a deleted row's
        id to the next client when it was the last): erased, it is not tried again."""
        topic = await self.get(client_id)
        gone = await self._db.fetch_all(
            # (Group chats have negative ids: people's private chats are not read.)
            "DELETE FROM outbox WHERE chat_id < 0 AND status IN ('pending', 'held', 'sending')"
            " AND (json_extract(payload, '$.topic') = ?"
            " OR json_extract(payload, '$.link_topic') = ?) RETURNING id",
            (client_id, client_id),
        )
        # Sent ones keep their idempotency keys, which name the client's message by its chat
        # (their Telegram id) and id (bot.services.team: "team:<client>:<chat>:<message>"):
        # they go too. Each prefix is a range of the keys' unique index.
        lines: list[tuple[int, int]] = []
        for prefix in _KEYED:
            start = f"{prefix}:{client_id}:"
            rows = await self._db.fetch_all(
                "DELETE FROM outbox WHERE idempotency_key >= ? AND idempotency_key < ?"
                " AND chat_id < 0 RETURNING chat_id, sent_message_id",
                (start, start[:-1] + ";"),  # ";" sorts right after ":"
            )
            if prefix in _GENERAL:
                lines += [(row[0], row[1]) for row in rows if row[1] is not None]
        await self._db.write("DELETE FROM team_topics WHERE client_id = ?", (client_id,))
        await self._db.write("DELETE FROM team_notices WHERE client_id = ?", (client_id,))
        return topic, [row[0] for row in gone], lines

    async def first_notice(self, client_id: int, user_id: int) -> bool:
        """True the first time this member is told, in this topic, that they do not reach
        the client."""
        changed = await self._db.write(
            "INSERT OR IGNORE INTO team_notices (client_id, user_id) VALUES (?, ?)",
            (client_id, user_id),
        )
        return changed == 1

    async def all(self) -> list[Topic]:
        rows = await self._db.fetch_all("SELECT * FROM team_topics ORDER BY client_id")
        return [_topic(row) for row in rows]

    async def clients_without(self, min_version: int, after: int, limit: int) -> list[int]:
        """Clients after this id who accepted the team's terms (this version or a later
        one, with the team inbox) and have no topic."""
        rows = await self._db.fetch_all(
            "SELECT id FROM clients WHERE id > ? AND consent_version >= ? AND consent_team = 1"
            " AND id NOT IN (SELECT client_id FROM team_topics) ORDER BY id LIMIT ?",
            (after, min_version, limit),
        )
        return [row[0] for row in rows]
