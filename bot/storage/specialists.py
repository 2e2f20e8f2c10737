"""Specialists: registered by an admin, looked up by Telegram user id."""

from __future__ import annotations

from datetime import date, datetime, time

import aiosqlite

from bot.domain.models import Specialist
from bot.storage.changes import changed_one
from bot.storage.db import Database, from_db, to_db

_COLUMNS = (
    "id, telegram_user_id, chat_id, display_name, active, created_at, away, away_until,"
    " away_note, digest_at, digest_sent_on"
)


def _maybe_date(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


def _specialist(row: aiosqlite.Row) -> Specialist:
    return Specialist(
        id=row["id"],
        telegram_user_id=row["telegram_user_id"],
        chat_id=row["chat_id"],
        display_name=row["display_name"],
        active=bool(row["active"]),
        created_at=from_db(row["created_at"]),
        away=bool(row["away"]),
        away_until=_maybe_date(row["away_until"]),
        away_note=row["away_note"],
        digest_at=None if row["digest_at"] is None else time.fromisoformat(row["digest_at"]),
        digest_sent_on=_maybe_date(row["digest_sent_on"]),
    )


class SpecialistRepository:
    """Reads and writes the specialists table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, telegram_user_id: int, display_name: str, now: datetime) -> Specialist:
        """Register a specialist (or reactivate and rename one who was removed)."""
        # In Telegram a private chat's id is the user's id.
        await self._db.conn.execute(
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
        async with self._db.conn.execute(
            f"SELECT {_COLUMNS} FROM specialists WHERE telegram_user_id = ?", (telegram_user_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else _specialist(row)

    async def by_id(self, specialist_id: int) -> Specialist | None:
        """The specialist with this row id."""
        async with self._db.conn.execute(
            f"SELECT {_COLUMNS} FROM specialists WHERE id = ?", (specialist_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return None if row is None else _specialist(row)

    async def all(self) -> list[Specialist]:
        """Every specialist, oldest first."""
        async with self._db.conn.execute(
            f"SELECT {_COLUMNS} FROM specialists ORDER BY id"
        ) as cursor:
            return [_specialist(row) async for row in cursor]

    async def set_blocked(self, specialist_id: int, blocked: bool) -> bool:
        """Note that the specialist blocked (or unblocked) the bot; False if no change."""
        cursor = await self._db.conn.execute(
            "UPDATE specialists SET blocked = ? WHERE id = ? AND blocked != ?",
            (int(blocked), specialist_id, int(blocked)),
        )
        changed = cursor.rowcount == 1
        await cursor.close()
        return changed

    async def client_count(self, specialist_id: int) -> int:
        """How many clients the specialist has."""
        async with self._db.conn.execute(
            "SELECT count(*) FROM clients WHERE specialist_id = ?", (specialist_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def deactivate(self, specialist_id: int) -> None:
        """A removed specialist: kept for the records, no longer able to act."""
        await self._db.conn.execute(
            "UPDATE specialists SET active = 0, away = 0, away_until = NULL, away_note = NULL,"
            " digest_at = NULL WHERE id = ?",
            (specialist_id,),
        )

    async def set_away(self, specialist_id: int, until: date | None, note: str | None) -> None:
        """Away from now on: until /back (until None) or through a local date."""
        await self._db.conn.execute(
            "UPDATE specialists SET away = 1, away_until = ?, away_note = ? WHERE id = ?",
            (None if until is None else until.isoformat(), note, specialist_id),
        )

    async def set_back(self, specialist_id: int) -> bool:
        """Away mode off; False if the specialist was not away."""
        return await changed_one(
            self._db.conn,
            "UPDATE specialists SET away = 0, away_until = NULL, away_note = NULL"
            " WHERE id = ? AND away = 1",
            (specialist_id,),
        )

    async def away_ended(self, today: date) -> list[Specialist]:
        """Specialists whose until-date has passed and who are still marked away."""
        async with self._db.conn.execute(
            f"SELECT {_COLUMNS} FROM specialists WHERE away = 1 AND away_until < ?",
            (today.isoformat(),),
        ) as cursor:
            return [_specialist(row) async for row in cursor]

    async def set_digest(self, specialist_id: int, at: time | None, sent_on: date | None) -> None:
        """The daily summary's local time (None: off), and the day counted as done."""
        await self._db.conn.execute(
            "UPDATE specialists SET digest_at = ?, digest_sent_on = ? WHERE id = ?",
            (
                None if at is None else f"{at:%H:%M}",
                None if sent_on is None else sent_on.isoformat(),
                specialist_id,
            ),
        )

    async def with_digest(self) -> list[Specialist]:
        """Active specialists who asked for a daily summary."""
        async with self._db.conn.execute(
            f"SELECT {_COLUMNS} FROM specialists WHERE active = 1 AND digest_at IS NOT NULL"
        ) as cursor:
            return [_specialist(row) async for row in cursor]

    async def claim_digest(self, specialist_id: int, today: date) -> bool:
        """Note today's summary as sent; False if it went already."""
        return await changed_one(
            self._db.conn,
            "UPDATE specialists SET digest_sent_on = ? WHERE id = ?"
            " AND (digest_sent_on IS NULL OR digest_sent_on < ?)",
            (today.isoformat(), specialist_id, today.isoformat()),
        )
