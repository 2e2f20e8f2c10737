"""The audit log: who did what to whom, and when (ids and event names, never content)."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from bot.domain.models import Actor, ActorRole, AuditEntry
from bot.storage.db import Database, from_db, to_db

_COLUMNS = "id, at, actor_role, actor_id, action, client_id, specialist_id, detail"


def _entry(row: aiosqlite.Row) -> AuditEntry:
    return AuditEntry(
        id=row["id"],
        at=from_db(row["at"]),
        actor=Actor(ActorRole(row["actor_role"]), row["actor_id"]),
        action=row["action"],
        client_id=row["client_id"],
        specialist_id=row["specialist_id"],
        detail=row["detail"],
    )


class AuditRepository:
    """Appends to and reads the audit_log table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(
        self,
        actor: Actor,
        action: str,
        now: datetime,
        *,
        client_id: int | None = None,
        specialist_id: int | None = None,
        detail: str | None = None,
    ) -> None:
        """Add one entry, inside the transaction of the change it records."""
        await self._db.write(
            "INSERT INTO audit_log (at, actor_role, actor_id, action, client_id, specialist_id,"
            " detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                to_db(now),
                actor.role.value,
                actor.user_id,
                action,
                client_id,
                specialist_id,
                detail,
            ),
        )

    async def latest(self, count: int) -> list[AuditEntry]:
        """The newest entries, newest first."""
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM audit_log ORDER BY id DESC LIMIT ?", (count,)
        )
        return [_entry(row) for row in rows]

    async def about_client(self, client_id: int) -> list[AuditEntry]:
        """Every entry about one client, oldest first (what /mydata exports)."""
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM audit_log WHERE client_id = ? ORDER BY id", (client_id,)
        )
        return [_entry(row) for row in rows]

    async def forget_client(self, client_id: int) -> None:
        """The client erased their data: the entries stay, no longer saying whom they concern."""
        await self._db.write(
            "UPDATE audit_log SET client_id = NULL WHERE client_id = ?", (client_id,)
        )
