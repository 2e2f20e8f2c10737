"""Escalations, the copies supervisors received, who is on call, and who is waiting.

Ids and times only: never what anyone wrote.
"""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import aiosqlite

from bot.domain.escalation import Escalation, Supervisor
from bot.domain.models import Client
from bot.storage.clients import CLIENT_COLUMNS, client_from_row
from bot.storage.db import (
    Database,
    connect_existing,
    fault_text,
    from_db,
    maybe_from_db,
    to_db,
    unusable,
)

_COLUMNS = (
    "id, client_id, specialist_id, category, source_chat_id, source_message_id, flagged_at,"
    " due_at, escalated_at, answered_at, answered_by"
)


def _escalation(row: aiosqlite.Row) -> Escalation:
    return Escalation(
        id=row["id"],
        client_id=row["client_id"],
        specialist_id=row["specialist_id"],
        category=row["category"],
        source_chat_id=row["source_chat_id"],
        source_message_id=row["source_message_id"],
        flagged_at=from_db(row["flagged_at"]),
        due_at=maybe_from_db(row["due_at"]),
        escalated_at=maybe_from_db(row["escalated_at"]),
        answered_at=maybe_from_db(row["answered_at"]),
        answered_by=row["answered_by"],
    )


class EscalationRepository:
    """Reads and writes escalations, escalation_copies, on-call and waiting marks."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self,
        *,
        client_id: int,
        specialist_id: int,
        category: str,
        source: tuple[int, int],
        flagged_at: datetime,
        due_at: datetime,
    ) -> Escalation:
        """Start the clock on a message screened urgent."""
        escalation_id = await self._db.insert(
            "INSERT INTO escalations (client_id, specialist_id, category, source_chat_id,"
            " source_message_id, flagged_at, due_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                client_id,
                specialist_id,
                category,
                source[0],
                source[1],
                to_db(flagged_at),
                to_db(due_at),
            ),
        )
        assert escalation_id is not None
        found = await self.by_id(escalation_id)
        assert found is not None
        return found

    async def by_id(self, escalation_id: int) -> Escalation | None:
        """One escalation."""
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM escalations WHERE id = ?", (escalation_id,)
        )
        return None if row is None else _escalation(row)

    async def due(self, now: datetime, limit: int) -> list[Escalation]:
        """Escalations whose time has come, earliest first (the due_at index answers)."""
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM escalations WHERE due_at IS NOT NULL AND due_at <= ?"
            " ORDER BY due_at LIMIT ?",
            (to_db(now), limit),
        )
        return [_escalation(row) for row in rows]

    async def bring_forward(self, step: timedelta, now: datetime) -> int:
        """The clock went back by `step`: each deadline still ahead moves back by the step
        (not before now), so that it comes as long after the message as it was meant to."""
        return await self._db.bring_forward("escalations", "due_at", step, now)

    async def keep_within(self, latest: datetime) -> int:
        """No deadline lies after `latest`: one that does was written before the clock went
        back (every deadline is at most a window after its message)."""
        stamp = to_db(latest)
        return await self._db.write(
            "UPDATE escalations SET due_at = ? WHERE due_at > ?", (stamp, stamp)
        )

    async def mark_escalated(self, escalation_id: int, now: datetime) -> bool:
        """Claim an escalation for sending; False if it went or was answered meanwhile."""
        changed = await self._db.write(
            "UPDATE escalations SET due_at = NULL, escalated_at = ?"
            " WHERE id = ? AND due_at IS NOT NULL AND answered_at IS NULL",
            (to_db(now), escalation_id),
        )
        return changed == 1

    async def unreached(self, limit: int) -> list[Escalation]:
        """Escalations sent and still unanswered whose every copy Telegram refused (an admin
        who never opened the bot, say), and the specialist not told yet."""
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM escalations e WHERE answered_at IS NULL"
            " AND escalated_at IS NOT NULL AND unreached_at IS NULL"
            " AND EXISTS (SELECT 1 FROM escalation_copies k WHERE k.escalation_id = e.id)"
            " AND NOT EXISTS (SELECT 1 FROM escalation_copies k WHERE k.escalation_id = e.id"
            "   AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.relay_link_id = k.relay_link_id"
            "     AND o.status = 'dead'))"
            " ORDER BY id LIMIT ?",
            (limit,),
        )
        return [_escalation(row) for row in rows]

    async def mark_unreached(self, escalation_id: int, now: datetime) -> bool:
        """Claim telling the specialist that nobody got the copies; False if told already."""
        changed = await self._db.write(
            "UPDATE escalations SET unreached_at = ? WHERE id = ? AND unreached_at IS NULL",
            (to_db(now), escalation_id),
        )
        return changed == 1

    async def open_for(self, client_id: int) -> list[Escalation]:
        """The client's escalations nobody has answered yet, oldest first."""
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM escalations WHERE client_id = ? AND answered_at IS NULL"
            " ORDER BY id",
            (client_id,),
        )
        return [_escalation(row) for row in rows]

    async def mark_answered(self, escalation_id: int, user_id: int, now: datetime) -> bool:
        """The first answer closes the escalation; False if someone answered first."""
        changed = await self._db.write(
            "UPDATE escalations SET due_at = NULL, answered_at = ?, answered_by = ?"
            " WHERE id = ? AND answered_at IS NULL",
            (to_db(now), user_id, escalation_id),
        )
        return changed == 1

    async def add_copy(self, relay_link_id: int, escalation_id: int, chat_id: int) -> None:
        """A copy (or its header) went to a supervisor's chat."""
        await self._db.write(
            "INSERT INTO escalation_copies (relay_link_id, escalation_id, chat_id)"
            " VALUES (?, ?, ?)",
            (relay_link_id, escalation_id, chat_id),
        )

    async def of_copy(self, relay_link_id: int) -> Escalation | None:
        """The escalation a supervisor's copy belongs to, if it is one."""
        row = await self._db.fetch_one(
            f"SELECT {', '.join('e.' + c.strip() for c in _COLUMNS.split(','))}"
            " FROM escalation_copies k JOIN escalations e ON e.id = k.escalation_id"
            " WHERE k.relay_link_id = ?",
            (relay_link_id,),
        )
        return None if row is None else _escalation(row)

    async def copy_chats(self, escalation_id: int) -> list[int]:
        """Every chat that received a copy of the escalation."""
        rows = await self._db.fetch_all(
            "SELECT DISTINCT chat_id FROM escalation_copies WHERE escalation_id = ?"
            " ORDER BY chat_id",
            (escalation_id,),
        )
        return [row[0] for row in rows]

    async def set_on_call(self, specialist_id: int, on: bool) -> bool:
        """Turn a specialist's on-call on or off; False if it already was so."""
        changed = await self._db.write(
            "UPDATE specialists SET on_call = ? WHERE id = ? AND on_call != ?",
            (int(on), specialist_id, int(on)),
        )
        return changed == 1

    async def on_call(self) -> list[tuple[Supervisor, str]]:
        """Active specialists on call, with their display names, by name."""
        rows = await self._db.fetch_all(
            "SELECT telegram_user_id, chat_id, display_name FROM specialists"
            " WHERE on_call = 1 AND active = 1 ORDER BY casefold(display_name)",
        )
        return [(Supervisor(row[0], row[1]), row[2]) for row in rows]

    async def mark_waiting(self, client_id: int, now: datetime) -> None:
        """The client wrote or asked to talk: waiting from now, unless already waiting."""
        await self._db.write(
            "UPDATE clients SET waiting_since = ?, waiting_reminded = 0"
            " WHERE id = ? AND waiting_since IS NULL",
            (to_db(now), client_id),
        )

    async def clear_waiting(self, client_id: int) -> None:
        """Someone answered the client: nobody is waiting."""
        await self._db.write(
            "UPDATE clients SET waiting_since = NULL, waiting_reminded = 0"
            " WHERE id = ? AND waiting_since IS NOT NULL",
            (client_id,),
        )

    async def waiting_since_before(
        self, moment: datetime, limit: int
    ) -> list[tuple[Client, datetime]]:
        """Clients waiting since before the moment and not reminded about yet (the partial
        index answers), longest waiting first."""
        rows = await self._db.fetch_all(
            f"SELECT {CLIENT_COLUMNS}, waiting_since FROM clients WHERE waiting_since IS NOT NULL"
            " AND waiting_reminded = 0 AND waiting_since <= ? ORDER BY waiting_since LIMIT ?",
            (to_db(moment), limit),
        )
        return [(client_from_row(row), from_db(row["waiting_since"])) for row in rows]

    async def mark_reminded(self, client_id: int) -> None:
        """The one reminder for this silence has gone."""
        await self._db.write("UPDATE clients SET waiting_reminded = 1 WHERE id = ?", (client_id,))


def anyone_on_call(database: Path) -> bool:
    """Whether an active specialist is on call, read from another process without changing
    anything (`check`): opening it as the bot does would migrate a database an older bot
    still runs on. One older than on-call (or empty) has nobody on call. A StorageError if
    it cannot be read."""
    try:
        with contextlib.closing(connect_existing(database)) as connection:
            row = connection.execute(
                "SELECT 1 FROM specialists WHERE on_call = 1 AND active = 1 LIMIT 1"
            ).fetchone()
    except sqlite3.OperationalError as error:
        if str(error).startswith(("no such table", "no such column")):
            return False
        raise unusable(database, fault_text(error)) from None
    except sqlite3.Error as error:
        raise unusable(database, fault_text(error)) from None
    return row is not None
