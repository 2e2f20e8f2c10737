"""Conditional updates that say whether they took: a claim won, a flag that flipped."""

from __future__ import annotations

from collections.abc import Sequence

import aiosqlite


async def changed_one(conn: aiosqlite.Connection, sql: str, params: Sequence[object]) -> bool:
    """Run one UPDATE; True if it changed exactly one row."""
    cursor = await conn.execute(sql, params)
    changed = cursor.rowcount == 1
    await cursor.close()
    return changed
