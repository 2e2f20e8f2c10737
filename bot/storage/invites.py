"""Invites: stored by the hash of their code, deleted when used."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from bot.domain.models import Invite
from bot.storage.db import Database, from_db, to_db

_COLUMNS = "id, specialist_id, alias, created_at, expires_at"


def _invite(row: aiosqlite.Row) -> Invite:
    return Invite(
        id=row["id"],
        specialist_id=row["specialist_id"],
        alias=row["alias"],
        created_at=from_db(row["created_at"]),
        expires_at=from_db(row["expires_at"]),
    )


class InviteRepository:
    """Reads and writes the invites table."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self, code_hash: bytes, specialist_id: int, alias: str, now: datetime, expires: datetime
    ) -> Invite:
        """Store a new invite."""
        invite_id = await self._db.insert(
            "INSERT INTO invites (code_hash, specialist_id, alias, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (code_hash, specialist_id, alias, to_db(now), to_db(expires)),
        )
        return Invite(invite_id or 0, specialist_id, alias, now, expires)

    async def by_hash(self, code_hash: bytes) -> Invite | None:
        """The invite whose code hashes to this."""
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM invites WHERE code_hash = ?", (code_hash,)
        )
        return None if row is None else _invite(row)

    async def open_alias_taken(self, specialist_id: int, alias: str, now: datetime) -> bool:
        """True if an unexpired invite of the specialist already carries the alias."""
        return (
            await self._db.fetch_one(
                "SELECT 1 FROM invites WHERE specialist_id = ? AND casefold(alias) = ?"
                " AND expires_at > ?",
                (specialist_id, alias.casefold(), to_db(now)),
            )
            is not None
        )

    async def use(self, invite_id: int) -> bool:
        """Use the invite up: it is deleted (its alias now lives on the client row, which
        /forget erases wherever a transfer has taken it); False if a race used it first."""
        changed = await self._db.write("DELETE FROM invites WHERE id = ?", (invite_id,))
        return changed == 1
