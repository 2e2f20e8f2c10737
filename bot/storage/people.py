"""Who a Telegram user is, in one query: the hot path of every update."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.models import Client, Specialist
from bot.storage.clients import CLIENT_COLUMNS, client_from_row
from bot.storage.db import Database
from bot.storage.specialists import SPECIALIST_COLUMNS, specialist_from_row
from bot.storage.staff_languages import StaffLanguage, language_column


def _prefixed(table: str, columns: str) -> str:
    return ", ".join(f"{table}.{name} AS {table}_{name}" for name in columns.split(", "))


_LOOKUP = (
    f"SELECT {_prefixed('s', SPECIALIST_COLUMNS)}, {_prefixed('c', CLIENT_COLUMNS)},"
    f" {_prefixed('t', SPECIALIST_COLUMNS)}, {language_column('t', 't_language')},"
    " coalesce(l.language, l.app_language) AS s_language,"
    " l.telegram_user_id AS l_user, l.language AS l_chosen, l.app_language AS l_app"
    " FROM (SELECT ? AS user_id) AS who"
    " LEFT JOIN specialists AS s ON s.telegram_user_id = who.user_id"
    " LEFT JOIN clients AS c ON c.telegram_user_id = who.user_id"
    " LEFT JOIN specialists AS t ON t.id = c.specialist_id"
    " LEFT JOIN staff_languages AS l ON l.telegram_user_id = who.user_id"
)


@dataclass(frozen=True)
class Found:
    """The rows about one Telegram user: as a specialist, as a client, and their specialist."""

    specialist: Specialist | None
    client: Client | None
    their_specialist: Specialist | None
    # What is stored about their language as staff (None: nothing).
    staff_language: StaffLanguage | None = None


class PeopleRepository:
    """Looks a Telegram user up in the specialists and clients tables at once."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def lookup(self, telegram_user_id: int) -> Found:
        """Every row about this Telegram user (inactive specialists included)."""
        row = await self._db.fetch_one(_LOOKUP, (telegram_user_id,))
        assert row is not None  # the FROM always has its one row
        return Found(
            specialist_from_row(row, "s_") if row["s_id"] is not None else None,
            client_from_row(row, "c_") if row["c_id"] is not None else None,
            specialist_from_row(row, "t_") if row["t_id"] is not None else None,
            None if row["l_user"] is None else StaffLanguage(row["l_chosen"], row["l_app"]),
        )
