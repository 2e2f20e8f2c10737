"""Relay routing: which copy belongs to which client, and who spoke last in a chat."""

from __future__ import annotations

import json
from datetime import datetime

import aiosqlite

from bot.domain.models import Direction, RelayLink
from bot.storage.db import Database, Step, from_db, to_db

_COLUMNS = (
    "id, client_id, specialist_id, direction, source_chat_id, source_message_id,"
    " dest_chat_id, dest_message_id"
)


def _link(row: aiosqlite.Row) -> RelayLink:
    return RelayLink(
        id=row["id"],
        client_id=row["client_id"],
        specialist_id=row["specialist_id"],
        direction=Direction(row["direction"]),
        source_chat_id=row["source_chat_id"],
        source_message_id=row["source_message_id"],
        dest_chat_id=row["dest_chat_id"],
        dest_message_id=row["dest_message_id"],
    )


class RelayRepository:
    """Reads and writes relay_links, relay_threads and processed_updates."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add_link(
        self,
        *,
        client_id: int,
        specialist_id: int,
        direction: Direction,
        source: tuple[int, int] | None,
        dest_chat_id: int,
        now: datetime,
    ) -> int:
        """Record a copy (or header) about to be sent; its message id comes later."""
        source_chat, source_message = source if source else (None, None)
        link_id = await self._db.insert(
            "INSERT INTO relay_links (client_id, specialist_id, direction, source_chat_id,"
            " source_message_id, dest_chat_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                client_id,
                specialist_id,
                direction.value,
                source_chat,
                source_message,
                dest_chat_id,
                to_db(now),
            ),
        )
        assert link_id is not None
        return link_id

    async def by_id(self, link_id: int) -> RelayLink | None:
        """One link by id."""
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM relay_links WHERE id = ?", (link_id,)
        )
        return None if row is None else _link(row)

    async def by_dest(self, chat_id: int, message_id: int) -> RelayLink | None:
        """The link whose copy is this message."""
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM relay_links WHERE dest_chat_id = ? AND dest_message_id = ?",
            (chat_id, message_id),
        )
        return None if row is None else _link(row)

    async def by_source(self, chat_id: int, message_id: int) -> RelayLink | None:
        """The newest link that copied this message."""
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM relay_links"
            " WHERE source_chat_id = ? AND source_message_id = ? ORDER BY id DESC LIMIT 1",
            (chat_id, message_id),
        )
        return None if row is None else _link(row)

    async def last_source(self, chat_id: int) -> tuple[str, datetime] | None:
        """Who was last relayed into this chat, and when, if nothing else came since."""
        row = await self._db.fetch_one(
            "SELECT source_key, last_at FROM relay_threads WHERE chat_id = ?", (chat_id,)
        )
        return None if row is None else (row["source_key"], from_db(row["last_at"]))

    async def set_last_source(self, chat_id: int, source_key: str, now: datetime) -> None:
        """Remember who was just relayed into this chat."""
        await self._db.write(
            "INSERT INTO relay_threads (chat_id, source_key, last_at) VALUES (?, ?, ?)"
            " ON CONFLICT (chat_id) DO UPDATE SET source_key = excluded.source_key,"
            " last_at = excluded.last_at",
            (chat_id, source_key, to_db(now)),
        )

    async def forget_last_source(self, chat_id: int) -> None:
        """Something other than a relay was sent to the chat: the next copy needs a header."""
        await self._db.write("DELETE FROM relay_threads WHERE chat_id = ?", (chat_id,))

    def forget_last_sources_step(self, chat_ids: list[int]) -> Step:
        """forget_last_source for many chats at once (run with other writes)."""
        return (
            "DELETE FROM relay_threads WHERE chat_id IN (SELECT value FROM json_each(?))",
            [(json.dumps(chat_ids),)],
        )

    async def first_time(self, update_id: int, now: datetime) -> bool:
        """Record an update as handled; False if it was handled before."""
        inserted = await self._db.write(
            "INSERT OR IGNORE INTO processed_updates (update_id, processed_at) VALUES (?, ?)",
            (update_id, to_db(now)),
        )
        return inserted == 1
