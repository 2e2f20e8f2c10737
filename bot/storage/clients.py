"""Clients: created at consent, looked up by Telegram user id or alias."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

import aiosqlite

from bot.domain.models import Client, ClientStatus, Terms
from bot.domain.safety import Level
from bot.storage.db import Database, Step, from_db, to_db

CLIENT_COLUMNS = (
    "id, telegram_user_id, chat_id, alias, specialist_id, status, language, timezone,"
    " consent_version, consented_at, awaiting, consent_team"
)


# A row as the connection returns it, or as a dict where a hot path made one (a Row
# looks each name up by walking its columns).
RowLike = aiosqlite.Row | Mapping[str, Any]


def client_from_row(row: RowLike, prefix: str = "") -> Client:
    """A client from CLIENT_COLUMNS, each name optionally prefixed (in a join)."""
    return Client(
        id=row[f"{prefix}id"],
        telegram_user_id=row[f"{prefix}telegram_user_id"],
        chat_id=row[f"{prefix}chat_id"],
        alias=row[f"{prefix}alias"],
        specialist_id=row[f"{prefix}specialist_id"],
        status=ClientStatus(row[f"{prefix}status"]),
        language=row[f"{prefix}language"],
        timezone=row[f"{prefix}timezone"],
        consent_version=row[f"{prefix}consent_version"],
        consented_at=from_db(row[f"{prefix}consented_at"]),
        awaiting=row[f"{prefix}awaiting"],
        consent_team=bool(row[f"{prefix}consent_team"]),
    )


def _covers(prefix: str) -> str:
    """SQL: the terms in these columns cover the terms given as two parameters (version,
    team), as Terms.covers says."""
    version = "consent_version" if prefix == "consent" else f"{prefix}_version"
    return f"({version} >= ? AND ({prefix}_team = 1 OR ? = 0))"


class ClientRepository:
    """Reads and writes the clients table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self,
        *,
        telegram_user_id: int,
        alias: str,
        specialist_id: int,
        language: str,
        timezone: str,
        consent_version: Terms | int,
        now: datetime,
    ) -> Client:
        """Create an active client who has just consented."""
        terms = consent_version if isinstance(consent_version, Terms) else Terms(consent_version)
        await self._db.write(
            "INSERT INTO clients (telegram_user_id, chat_id, alias, specialist_id, status,"
            " language, timezone, consent_version, consent_team, terms_shown_version,"
            " terms_shown_team, consented_at, created_at)"
            " VALUES (?, ?, ?, ?, 'active', ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                telegram_user_id,
                telegram_user_id,
                alias,
                specialist_id,
                language,
                timezone,
                terms.version,
                int(terms.team),
                terms.version,
                int(terms.team),
                to_db(now),
                to_db(now),
            ),
        )
        found = await self.by_user(telegram_user_id)
        assert found is not None
        return found

    async def by_user(self, telegram_user_id: int) -> Client | None:
        """The client with this Telegram user id."""
        row = await self._db.fetch_one(
            f"SELECT {CLIENT_COLUMNS} FROM clients WHERE telegram_user_id = ?", (telegram_user_id,)
        )
        return None if row is None else client_from_row(row)

    async def by_id(self, client_id: int) -> Client | None:
        """The client with this row id."""
        row = await self._db.fetch_one(
            f"SELECT {CLIENT_COLUMNS} FROM clients WHERE id = ?", (client_id,)
        )
        return None if row is None else client_from_row(row)

    async def alias_taken(self, specialist_id: int, alias: str) -> bool:
        """True if the specialist already has a client by this alias (any case, any script)."""
        return (
            await self._db.fetch_one(
                "SELECT 1 FROM clients WHERE specialist_id = ? AND casefold(alias) = ?",
                (specialist_id, alias.casefold()),
            )
            is not None
        )

    async def of_specialist(self, specialist_id: int) -> list[Client]:
        """The specialist's clients, by alias."""
        rows = await self._db.fetch_all(
            f"SELECT {CLIENT_COLUMNS} FROM clients WHERE specialist_id = ?"
            " ORDER BY casefold(alias)",
            (specialist_id,),
        )
        return [client_from_row(row) for row in rows]

    async def claim_safety_reply(self, client_id: int, now: datetime, every: timedelta) -> bool:
        """True (and noted) if the client has not had the safety resources within `every`."""
        claimed = (
            await self._db.write(
                "UPDATE clients SET last_safety_reply_at = ? WHERE id = ?"
                " AND (last_safety_reply_at IS NULL OR last_safety_reply_at <= ?)",
                (to_db(now), client_id, to_db(now - every)),
            )
            == 1
        )
        return claimed

    async def claim_kept_note(self, client_id: int, now: datetime, every: timedelta) -> bool:
        """True (and noted) if the client has not been told within `every` that their
        specialist cannot receive messages and theirs are kept (m012)."""
        claimed = await self._db.write(
            "UPDATE clients SET kept_note_at = ? WHERE id = ?"
            " AND (kept_note_at IS NULL OR kept_note_at <= ?)",
            (to_db(now), client_id, to_db(now - every)),
        )
        return claimed == 1

    async def note_terms_shown(self, client_id: int, terms: Terms) -> bool:
        """Record that the client was shown these terms; False if they had been (these or
        terms that cover them: Terms.covers)."""
        version, team = terms.version, int(terms.team)
        changed = await self._db.write(
            "UPDATE clients SET terms_shown_version = ?, terms_shown_team = ? WHERE id = ?"
            f" AND NOT {_covers('terms_shown')}",
            (version, team, client_id, version, team),
        )
        return changed == 1

    async def accept_terms(self, client_id: int, terms: Terms, now: datetime) -> bool:
        """Record that the client accepted these terms; False if they had (or terms that
        cover them). What was accepted counts as shown."""
        version, team = terms.version, int(terms.team)
        shown = _covers("terms_shown")
        changed = await self._db.write(
            "UPDATE clients SET consent_version = ?, consent_team = ?, consented_at = ?,"
            f" terms_shown_version = CASE WHEN {shown} THEN terms_shown_version ELSE ? END,"
            f" terms_shown_team = CASE WHEN {shown} THEN terms_shown_team ELSE ? END"
            f" WHERE id = ? AND NOT {_covers('consent')}",
            (
                *(version, team, to_db(now)),
                *(version, team, version),
                *(version, team, team),
                *(client_id, version, team),
            ),
        )
        return changed == 1

    async def erase(self, client: Client) -> list[int]:
        """Delete every row about the client (check-ins and routing go by cascade); return
        the ids of the outbox items deleted (the sender may hold some of them already)."""
        conn = self._db.conn
        gone = await self._db.fetch_all(
            "DELETE FROM outbox WHERE chat_id = ? RETURNING id", (client.chat_id,)
        )
        gone += await self._db.fetch_all(
            "DELETE FROM outbox WHERE relay_link_id IN"
            " (SELECT id FROM relay_links WHERE client_id = ?) RETURNING id",
            (client.id,),
        )
        await conn.execute("DELETE FROM inbox WHERE user_id = ?", (client.telegram_user_id,))
        await conn.execute("DELETE FROM relay_threads WHERE chat_id = ?", (client.chat_id,))
        await conn.execute("DELETE FROM clients WHERE id = ?", (client.id,))
        return [row[0] for row in gone]

    async def block(self, client_id: int) -> bool:
        """Mark the client blocked, remembering their status; False if they were already."""
        changed = (
            await self._db.write(
                "UPDATE clients SET status_before_block = status, status = 'blocked'"
                " WHERE id = ? AND status != 'blocked'",
                (client_id,),
            )
            == 1
        )
        if changed:
            await self._db.write(
                "UPDATE client_ticks SET next_due_at = NULL WHERE client_id = ?", (client_id,)
            )
        return changed

    async def unblock(self, client_id: int) -> ClientStatus:
        """Restore the status the client had before blocking the bot, and return it."""
        row = await self._db.fetch_one(
            "SELECT status_before_block FROM clients WHERE id = ?", (client_id,)
        )
        restored = ClientStatus(row[0]) if row and row[0] else ClientStatus.ACTIVE
        await self._db.write(
            "UPDATE clients SET status = ?, status_before_block = NULL WHERE id = ?",
            (restored.value, client_id),
        )
        return restored

    async def set_status(self, client_id: int, status: ClientStatus) -> None:
        """Change a client's status."""
        await self._db.write(
            "UPDATE clients SET status = ? WHERE id = ?", (status.value, client_id)
        )

    def statuses_step(self, changes: list[tuple[int, ClientStatus]]) -> Step:
        """Change many clients' status (run with other writes: Database.write_steps)."""
        return (
            "UPDATE clients SET status = ? WHERE id = ?",
            [(status.value, client_id) for client_id, status in changes],
        )

    async def set_language(self, client_id: int, language: str) -> None:
        """Change the language the bot writes to a client in."""
        await self._db.write("UPDATE clients SET language = ? WHERE id = ?", (language, client_id))

    async def with_alias(self, alias: str, specialist_id: int | None = None) -> list[Client]:
        """Clients by this alias (any case, any script): one specialist's, or everyone's."""
        sql = f"SELECT {CLIENT_COLUMNS} FROM clients WHERE casefold(alias) = ?"
        params: tuple[object, ...] = (alias.casefold(),)
        if specialist_id is not None:
            sql += " AND specialist_id = ?"
            params = (alias.casefold(), specialist_id)
        rows = await self._db.fetch_all(f"{sql} ORDER BY id", params)
        return [client_from_row(row) for row in rows]

    async def aliases(self, specialist_id: int | None = None) -> list[str]:
        """Every alias in use: one specialist's, or everyone's."""
        sql = "SELECT DISTINCT alias FROM clients"
        params: tuple[object, ...] = ()
        if specialist_id is not None:
            sql, params = f"{sql} WHERE specialist_id = ?", (specialist_id,)
        rows = await self._db.fetch_all(sql, params)
        return [row[0] for row in rows]

    async def move(self, client_id: int, specialist_id: int, alias: str) -> None:
        """The client now talks with another specialist, who knows them by `alias`."""
        await self._db.write(
            "UPDATE clients SET specialist_id = ?, alias = ?, away_note_on = NULL WHERE id = ?",
            (specialist_id, alias, client_id),
        )

    async def mark_flagged(self, client_id: int, now: datetime, level: Level = "urgent") -> None:
        """The client's message was marked possibly urgent, or (concern) as may need attention."""
        column = "last_flagged_at" if level == "urgent" else "last_concern_at"
        await self._db.write(
            f"UPDATE clients SET {column} = ? WHERE id = ?", (to_db(now), client_id)
        )

    async def claim_away_note(self, client_id: int, today: date) -> bool:
        """True (and noted) if the client has not had the away note on this local day."""
        changed = await self._db.write(
            "UPDATE clients SET away_note_on = ? WHERE id = ?"
            " AND (away_note_on IS NULL OR away_note_on != ?)",
            (today.isoformat(), client_id, today.isoformat()),
        )
        return changed == 1

    async def free_alias(self, specialist_id: int, alias: str) -> str:
        """The alias, numbered ("Alex (2)") if the specialist already has a client by it."""
        candidate, number = alias, 2
        while await self.alias_taken(specialist_id, candidate):
            candidate, number = f"{alias} ({number})", number + 1
        return candidate
