"""The language each specialist and admin reads the bot in, by Telegram user id.

Keyed by Telegram user id rather than by specialist: admins are configured (ADMIN_IDS)
and may have no row anywhere else. `language` is what they chose with /language;
`app_language` the language of their Telegram app when the bot last heard from them (when
there is a message file for it), which is what they read until they choose: the tick,
which sends reminders and digests, has no update to read the app's language from.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from bot.domain.texts import DEFAULT_LANGUAGE
from bot.storage.db import Database, to_db


def language_column(table: str, name: str = "language") -> str:
    """A column for a SELECT over `table` (specialists, or an alias of it): the language
    that specialist reads, NULL if nothing is known (the caller's default applies)."""
    return (
        "(SELECT coalesce(l.language, l.app_language) FROM staff_languages AS l"
        f" WHERE l.telegram_user_id = {table}.telegram_user_id) AS {name}"
    )


@dataclass(frozen=True)
class StaffLanguage:
    """What is stored about one staff member's language."""

    chosen: str | None
    app: str | None

    @property
    def language(self) -> str:
        """Their choice; else their Telegram app's language; else the programme's default."""
        return self.chosen or self.app or DEFAULT_LANGUAGE


class StaffLanguageRepository:
    """Reads and writes staff_languages."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, telegram_user_id: int) -> StaffLanguage | None:
        """What is stored for this person (None: nothing yet)."""
        row = await self._db.fetch_one(
            "SELECT language, app_language FROM staff_languages WHERE telegram_user_id = ?",
            (telegram_user_id,),
        )
        return None if row is None else StaffLanguage(row["language"], row["app_language"])

    async def language_of(self, telegram_user_id: int) -> str:
        """The language to write to this staff member in."""
        found = await self.get(telegram_user_id)
        return DEFAULT_LANGUAGE if found is None else found.language

    async def languages_of(self, telegram_user_ids: Collection[int]) -> dict[int, str]:
        """language_of for many staff members, in one query."""
        rows = await self._db.fetch_all(
            "SELECT telegram_user_id, language, app_language FROM staff_languages"
            " WHERE telegram_user_id IN (SELECT value FROM json_each(?))",
            (json.dumps(sorted(telegram_user_ids)),),
        )
        found = {
            row["telegram_user_id"]: StaffLanguage(row["language"], row["app_language"]).language
            for row in rows
        }
        return {user: found.get(user, DEFAULT_LANGUAGE) for user in telegram_user_ids}

    async def every(self) -> dict[int, str]:
        """The language of everyone with a row, by Telegram user id (the start-up menus)."""
        rows = await self._db.fetch_all(
            "SELECT telegram_user_id, language, app_language FROM staff_languages"
        )
        return {
            row["telegram_user_id"]: StaffLanguage(row["language"], row["app_language"]).language
            for row in rows
        }

    async def choose(self, telegram_user_id: int, language: str, now: datetime) -> None:
        """Store their choice (/language)."""
        await self._db.write(
            "INSERT INTO staff_languages (telegram_user_id, language, updated_at)"
            " VALUES (?, ?, ?) ON CONFLICT (telegram_user_id) DO UPDATE SET"
            " language = excluded.language, updated_at = excluded.updated_at",
            (telegram_user_id, language, to_db(now)),
        )

    async def seen(self, telegram_user_id: int, app_language: str | None, now: datetime) -> None:
        """Note the language of their Telegram app (None: not one we have a file for)."""
        await self._db.write(
            "INSERT INTO staff_languages (telegram_user_id, app_language, updated_at)"
            " VALUES (?, ?, ?) ON CONFLICT (telegram_user_id) DO UPDATE SET"
            " app_language = excluded.app_language, updated_at = excluded.updated_at",
            (telegram_user_id, app_language, to_db(now)),
        )

    async def forget(self, telegram_user_id: int) -> None:
        """Nothing kept about someone who is no longer staff."""
        await self._db.write(
            "DELETE FROM staff_languages WHERE telegram_user_id = ?", (telegram_user_id,)
        )
