"""Everything stored about one client, as plain rows: what /mydata hands them.

Stored columns go out as they are (times in UTC ISO), so the export cannot drift from
what is really kept. Nothing here holds message content: relay rows are times and
directions, outbox rows the kind of message waiting, never its payload.
"""

from __future__ import annotations

from typing import Any

from bot.domain.models import Client
from bot.storage.db import Database
from bot.storage.schedules import CLIENTS_WITH_TICKS, TICK_COLUMNS

Rows = list[dict[str, Any]]


class ExportRepository:
    """Reads every row about one client."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def client_row(self, client: Client) -> dict[str, Any]:
        """The client's own row, every column."""
        ticks = ", ".join(f"t.{name}" for name in sorted(TICK_COLUMNS))
        row = await self._db.fetch_one(
            f"SELECT c.*, {ticks} FROM {CLIENTS_WITH_TICKS} WHERE c.id = ?", (client.id,)
        )
        return {} if row is None else dict(row)

    async def checkins(self, client: Client) -> Rows:
        """Check-ins sent, and how (not what) they were answered."""
        return await self._rows(
            "SELECT kind, due_at, sent_at, prompt_key, answered_at, answer FROM checkins"
            " WHERE client_id = ? ORDER BY id",
            client.id,
        )

    async def relayed(self, client: Client) -> Rows:
        """When messages went between the client and their specialist (never their words)."""
        return await self._rows(
            "SELECT created_at, direction, source_message_id IS NULL AS header FROM relay_links"
            " WHERE client_id = ? ORDER BY id",
            client.id,
        )

    async def waiting(self, client: Client) -> Rows:
        """Messages to the client not yet delivered: their kind and when they were queued."""
        return await self._rows(
            "SELECT method, status, created_at FROM outbox"
            " WHERE chat_id = ? AND status IN ('pending', 'sending') ORDER BY id",
            client.chat_id,
        )

    async def unhandled(self, client: Client) -> Rows:
        """Messages of theirs received but not yet passed on (ids only)."""
        return await self._rows(
            "SELECT update_id, message_id, received_at FROM inbox WHERE user_id = ?",
            client.telegram_user_id,
        )

    async def _rows(self, sql: str, key: int) -> Rows:
        return [dict(row) for row in await self._db.fetch_all(sql, (key,))]
