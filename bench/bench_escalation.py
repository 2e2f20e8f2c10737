"""What the escalation tick's questions cost at 100,000 clients: python -m bench.bench_escalation.

The tick asks two things every CHECKIN_TICK_SECONDS: which urgent messages are due for the
supervisors, and which clients have waited past REMIND_AFTER_HOURS without a reminder. Both
are answered by partial indexes (escalations_due, clients_waiting), so their cost should not
grow with the number of clients or of settled escalations. This prints the median time of
each question on a database of 100,000 clients, every one with a settled escalation and
half of them waiting (not yet long enough), against the same with no rows at all.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.storage.db import Database, to_db
from bot.storage.escalations import EscalationRepository

NOW = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
CLIENTS = 100_000
ROUNDS = 200


async def _fill(db: Database, clients: int) -> None:
    stamp = to_db(NOW - timedelta(days=2))
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO specialists (telegram_user_id, chat_id, display_name, created_at)"
            " VALUES (1001, 1001, 'Sam', ?)",
            (stamp,),
        )
        await conn.executemany(
            "INSERT INTO clients (id, telegram_user_id, chat_id, alias, specialist_id, status,"
            " language, timezone, consent_version, consented_at, created_at, waiting_since)"
            " VALUES (?, ?, ?, ?, 1, 'active', 'en', 'UTC', 2, ?, ?, ?)",
            [
                (
                    n,
                    10_000 + n,
                    10_000 + n,
                    f"c{n}",
                    stamp,
                    stamp,
                    to_db(NOW - timedelta(hours=1)) if n % 2 else None,
                )
                for n in range(1, clients + 1)
            ],
        )
        await conn.executemany(
            "INSERT INTO escalations (client_id, specialist_id, category, source_chat_id,"
            " source_message_id, flagged_at, escalated_at, answered_at, answered_by)"
            " VALUES (?, 1, 'suicide', ?, 1, ?, ?, ?, 1001)",
            [(n, 10_000 + n, stamp, stamp, stamp) for n in range(1, clients + 1)],
        )


async def _median_ms(db: Database) -> tuple[float, float]:
    repo = EscalationRepository(db)
    due, waiting = [], []
    for _ in range(ROUNDS):
        async with db.transaction():
            started = time.perf_counter()
            assert await repo.due(NOW, 100) == []
            middle = time.perf_counter()
            assert await repo.waiting_since_before(NOW - timedelta(hours=24), 100) == []
            ended = time.perf_counter()
        due.append((middle - started) * 1000)
        waiting.append((ended - middle) * 1000)
    return statistics.median(due), statistics.median(waiting)


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        for clients in (0, CLIENTS):
            db = await Database.open(Path(folder) / f"{clients}.sqlite3")
            try:
                await _fill(db, clients)
                due, waiting = await _median_ms(db)
            finally:
                await db.close()
            print(
                f"{clients:>7} clients: due escalations {due:.3f} ms,"
                f" clients to remind {waiting:.3f} ms (median of {ROUNDS})"
            )


if __name__ == "__main__":
    asyncio.run(main())
