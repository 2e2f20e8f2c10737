"""Specialists: registered by an admin, looked up by Telegram user id."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from bot.domain.models import Specialist
from bot.storage.db import Database, from_db, to_db

SPECIALIST_COLUMNS = "id, telegram_user_id, chat_id, display_name, active, created_at"


def specialist_from_row(row: aiosqlite.Row, prefix: str = "") -> Specialist:
    """A specialist from SPECIALIST_COLUMNS, each name optionally prefixed (in a join)."""
    return Specialist(
        id=row[f"{prefix}id"],
        telegram_user_id=row[f"{prefix}telegram_user_id"],
        chat_id=row[f"{prefix}chat_id"],
        display_name=row[f"{prefix}display_name"],
        active=bool(row[f"{prefix}active"]),
        created_at=from_db(row[f"{prefix}created_at"]),
    )


class SpecialistRepository:
    """Reads and writes the specialists table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, telegram_user_id: int, display_name: str, now: datetime) -> Specialist:
        """Register a specialist (or reactivate and rename one who was removed)."""
        # In Telegram a private chat's id is the user's id.
        await self._db.write(
            "INSERT INTO specialists (telegram_user_id, chat_id, display_name, active, created_at)"
            " VALUES (?, ?, ?, 1, ?)"
            " ON CONFLICT (telegram_user_id) DO UPDATE SET"
            " display_name = excluded.display_name, active = 1",
            (telegram_user_id, telegram_user_id, display_name, to_db(now)),
        )
        found = await self.by_user(telegram_user_id)
        assert found is not None
        return found

    async def by_user(self, telegram_user_id: int) -> Specialist | None:
        """The specialist with this Telegram user id, active or not."""
        row = await self._db.fetch_one(
            f"SELECT {SPECIALIST_COLUMNS} FROM specialists WHERE telegram_user_id = ?",
            (telegram_user_id,),
        )
        return None if row is None else specialist_from_row(row)

    async def by_id(self, specialist_id: int) -> Specialist | None:
        """The specialist with this row id."""
        row = await self._db.fetch_one(
            f"SELECT {SPECIALIST_COLUMNS} FROM specialists WHERE id = ?", (specialist_id,)
        )
        return None if row is None else specialist_from_row(row)

    async def all(self) -> list[Specialist]:
        """Every specialist, oldest first."""
        rows = await self._db.fetch_all(
            f"SELECT {SPECIALIST_COLUMNS} FROM specialists ORDER BY id"
        )
        return [specialist_from_row(row) for row in rows]

    async def set_blocked(self, specialist_id: int, blocked: bool) -> bool:
        """Note that the specialist blocked (or unblocked) the bot; False if no change."""
        changed = (
            await self._db.write(
                "UPDATE specialists SET blocked = ? WHERE id = ? AND blocked != ?",
                (int(blocked), specialist_id, int(blocked)),
            )
            == 1
        )
        return changed

    async def client_count(self, specialist_id: int) -> int:
        """How many clients the specialist has."""
        row = await self._db.fetch_one(
            "SELECT count(*) FROM clients WHERE specialist_id = ?", (specialist_id,)
        )
        return int(row[0]) if row else 0
