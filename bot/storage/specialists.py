"""Specialists: registered by an admin, looked up by Telegram user id."""

from __future__ import annotations

from datetime import date, datetime, time

import aiosqlite

from bot.domain.models import Specialist
from bot.domain.texts import DEFAULT_LANGUAGE
from bot.storage.db import Database, from_db, to_db
from bot.storage.staff_languages import language_column

SPECIALIST_COLUMNS = (
    "id, telegram_user_id, chat_id, display_name, active, created_at, away, away_until,"
    " away_note, digest_at, digest_sent_on, blocked"
)
# The columns and the language they read in (bot.storage.staff_languages), FROM specialists.
SELECT_SPECIALIST = f"SELECT {SPECIALIST_COLUMNS}, {language_column('specialists')}"


def _maybe_date(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


def _maybe_time(text: str | None) -> time | None:
    return None if text is None else time.fromisoformat(text)


def specialist_from_row(row: aiosqlite.Row, prefix: str = "") -> Specialist:
    """A specialist from SPECIALIST_COLUMNS, each name optionally prefixed (in a join)."""
    return Specialist(
        id=row[f"{prefix}id"],
        telegram_user_id=row[f"{prefix}telegram_user_id"],
        chat_id=row[f"{prefix}chat_id"],
        display_name=row[f"{prefix}display_name"],
        active=bool(row[f"{prefix}active"]),
        created_at=from_db(row[f"{prefix}created_at"]),
        away=bool(row[f"{prefix}away"]),
        away_until=_maybe_date(row[f"{prefix}away_until"]),
        away_note=row[f"{prefix}away_note"],
        digest_at=_maybe_time(row[f"{prefix}digest_at"]),
        digest_sent_on=_maybe_date(row[f"{prefix}digest_sent_on"]),
        blocked=bool(row[f"{prefix}blocked"]),
        language=row[f"{prefix}language"] or DEFAULT_LANGUAGE,
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
            f"{SELECT_SPECIALIST} FROM specialists WHERE telegram_user_id = ?",
            (telegram_user_id,),
        )
        return None if row is None else specialist_from_row(row)

    async def by_id(self, specialist_id: int) -> Specialist | None:
        """The specialist with this row id."""
        row = await self._db.fetch_one(
            f"{SELECT_SPECIALIST} FROM specialists WHERE id = ?", (specialist_id,)
        )
        return None if row is None else specialist_from_row(row)

    async def all(self) -> list[Specialist]:
        """Every specialist, oldest first."""
        rows = await self._db.fetch_all(f"{SELECT_SPECIALIST} FROM specialists ORDER BY id")
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

    async def deactivate(self, specialist_id: int) -> None:
        """A removed specialist: kept for the records, no longer able to act (nor on call,
        should they be registered again)."""
        await self._db.write(
            "UPDATE specialists SET active = 0, away = 0, away_until = NULL, away_note = NULL,"
            " digest_at = NULL, on_call = 0 WHERE id = ?",
            (specialist_id,),
        )

    async def set_away(self, specialist_id: int, until: date | None, note: str | None) -> None:
        """Away from now on: until /back (until None) or through a local date."""
        await self._db.write(
            "UPDATE specialists SET away = 1, away_until = ?, away_note = ? WHERE id = ?",
            (None if until is None else until.isoformat(), note, specialist_id),
        )

    async def set_back(self, specialist_id: int) -> bool:
        """Away mode off; False if the specialist was not away."""
        changed = await self._db.write(
            "UPDATE specialists SET away = 0, away_until = NULL, away_note = NULL"
            " WHERE id = ? AND away = 1",
            (specialist_id,),
        )
        return changed == 1

    async def away_ended(self, today: date) -> list[Specialist]:
        """Specialists whose until-date has passed and who are still marked away."""
        rows = await self._db.fetch_all(
            f"{SELECT_SPECIALIST} FROM specialists WHERE away = 1 AND away_until < ?",
            (today.isoformat(),),
        )
        return [specialist_from_row(row) for row in rows]

    async def set_digest(self, specialist_id: int, at: time | None, sent_on: date | None) -> None:
        """The daily summary's local time (None: off), and the day counted as done."""
        await self._db.write(
            "UPDATE specialists SET digest_at = ?, digest_sent_on = ? WHERE id = ?",
            (
                None if at is None else f"{at:%H:%M}",
                None if sent_on is None else sent_on.isoformat(),
                specialist_id,
            ),
        )

    async def with_digest(self) -> list[Specialist]:
        """Active specialists who asked for a daily summary."""
        rows = await self._db.fetch_all(
            f"{SELECT_SPECIALIST} FROM specialists WHERE active = 1 AND digest_at IS NOT NULL"
        )
        return [specialist_from_row(row) for row in rows]

    async def claim_digest(self, specialist_id: int, today: date) -> bool:
        """Note today's summary as sent; False if it went already."""
        changed = await self._db.write(
            "UPDATE specialists SET digest_sent_on = ? WHERE id = ?"
            " AND (digest_sent_on IS NULL OR digest_sent_on < ?)",
            (today.isoformat(), specialist_id, today.isoformat()),
        )
        return changed == 1
