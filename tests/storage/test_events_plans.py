"""A person's answer writes how long the client waited onto the client's own waiting
messages, found through the client's index: not by reading every message every client
has sent so far (a year of a large programme holds millions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.storage import events
from bot.storage.db import Database

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


async def test_an_answer_finds_the_clients_waiting_messages_through_their_index(
    db: Database,
) -> None:
    async with db.transaction():
        for n in range(60):  # other clients' messages, some still waiting
            await events.record(
                db, events.CLIENT_MESSAGE, NOW - timedelta(hours=n), client_id=100 + n % 7
            )
        await events.record(db, events.CLIENT_MESSAGE, NOW - timedelta(minutes=10), client_id=5)
        await events.record(db, events.FLAGGED, NOW - timedelta(minutes=5), client_id=5)
    statements: list[str] = []
    raw = db._connection
    async with db.autocommit():
        await raw._execute(raw._conn.set_trace_callback, statements.append)
        await events.record(db, events.SPECIALIST_MESSAGE, NOW, client_id=5, specialist_id=1)
        await raw._execute(raw._conn.set_trace_callback, None)
        updates = [sql for sql in statements if sql.startswith("UPDATE events")]
        plans = [
            " | ".join(row["detail"] for row in await db.fetch_all(f"EXPLAIN QUERY PLAN {sql}"))
            for sql in updates
        ]
        waited = await db.fetch_all(
            "SELECT client_id, kind, round(value) FROM events WHERE value IS NOT NULL ORDER BY id"
        )
    assert [tuple(row) for row in waited] == [
        (5, events.CLIENT_MESSAGE, 600.0),
        (5, events.FLAGGED, 300.0),
    ]
    assert plans == ["SEARCH events USING INDEX events_client (client_id=? AND kind=?)"]
