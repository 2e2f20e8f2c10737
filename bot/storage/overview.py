"""What a specialist's overview and daily summary read: metadata about their clients.

Only times, counts, statuses and button names, from the clients, relay_links and
checkins tables: never what anyone wrote.
"""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from bot.domain.overview import ClientFacts
from bot.storage.clients import client_from_row
from bot.storage.db import Database, from_db, maybe_from_db, to_db
from bot.storage.schedules import (
    CLIENT_AND_SCHEDULE_COLUMNS,
    CLIENTS_WITH_TICKS,
    schedule_from_row,
)

# The last eight mood taps, newest first (check-in ids only grow): /clients' trend.
_TAPS = (
    "(SELECT group_concat(answer, ',') FROM (SELECT k.answer FROM checkins k"
    "   WHERE k.client_id = c.id AND k.answer IN ('ok', 'meh', 'not_today', 'talk')"
    "   ORDER BY k.id DESC LIMIT 8))"
)
_FACTS = (
    f"SELECT {CLIENT_AND_SCHEDULE_COLUMNS},"
    " coalesce(t.last_reply_at, c.consented_at) AS last_heard_at,"
    " c.last_flagged_at AS flagged_at, c.waiting_since, c.last_concern_at AS concern_at,"
    " (SELECT max(l.created_at) FROM relay_links l WHERE l.client_id = c.id"
    "   AND l.direction = 'to_specialist' AND l.source_message_id IS NOT NULL) AS last_wrote_at,"
    " (SELECT max(l.created_at) FROM relay_links l WHERE l.client_id = c.id"
    "   AND l.direction = 'to_client' AND l.specialist_id = c.specialist_id)"
    "   AS last_answered_at,"
    " (SELECT max(k.answered_at) FROM checkins k WHERE k.client_id = c.id"
    "   AND k.answer = 'talk') AS talk_at,"
    f" {_TAPS} AS taps"
    f" FROM {CLIENTS_WITH_TICKS}"
)


def _facts(row: aiosqlite.Row) -> ClientFacts:
    return ClientFacts(
        client=client_from_row(row),
        schedule=schedule_from_row(row),
        last_heard_at=from_db(row["last_heard_at"]),
        last_wrote_at=maybe_from_db(row["last_wrote_at"]),
        last_answered_at=maybe_from_db(row["last_answered_at"]),
        flagged_at=maybe_from_db(row["flagged_at"]),
        talk_at=maybe_from_db(row["talk_at"]),
        waiting_since=maybe_from_db(row["waiting_since"]),
        taps=tuple(reversed(row["taps"].split(","))) if row["taps"] else (),
        concern_at=maybe_from_db(row["concern_at"]),
    )


class OverviewRepository:
    """Reads the facts behind /clients, transfers and the daily summary."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def of_specialist(self, specialist_id: int) -> list[ClientFacts]:
        """The facts about every client of one specialist."""
        rows = await self._db.fetch_all(f"{_FACTS} WHERE c.specialist_id = ?", (specialist_id,))
        return [_facts(row) for row in rows]

    async def of_client(self, client_id: int) -> ClientFacts | None:
        """The facts about one client."""
        row = await self._db.fetch_one(f"{_FACTS} WHERE c.id = ?", (client_id,))
        return None if row is None else _facts(row)

    async def wrote_between(
        self, specialist_id: int, start: datetime, end: datetime
    ) -> list[tuple[str, int]]:
        """(alias, messages) of the specialist's clients who wrote to them in [start, end)."""
        rows = await self._db.fetch_all(
            "SELECT c.alias, count(*) FROM relay_links l JOIN clients c ON c.id = l.client_id"
            " WHERE c.specialist_id = ? AND l.specialist_id = ? AND l.direction = 'to_specialist'"
            " AND l.source_message_id IS NOT NULL AND l.created_at >= ? AND l.created_at < ?"
            " GROUP BY c.id ORDER BY casefold(c.alias)",
            (specialist_id, specialist_id, to_db(start), to_db(end)),
        )
        return [(row[0], row[1]) for row in rows]

    async def taps_between(
        self, specialist_id: int, start: datetime, end: datetime
    ) -> list[tuple[str, str]]:
        """(alias, button) of every check-in button the specialist's clients tapped in
        [start, end)."""
        rows = await self._db.fetch_all(
            "SELECT c.alias, k.answer FROM checkins k JOIN clients c ON c.id = k.client_id"
            " WHERE c.specialist_id = ? AND k.answered_at >= ? AND k.answered_at < ?"
            " AND k.answer IS NOT NULL AND k.answer != 'message' ORDER BY k.answered_at, k.id",
            (specialist_id, to_db(start), to_db(end)),
        )
        return [(row[0], row[1]) for row in rows]
