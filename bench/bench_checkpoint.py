"""What the tick's checkpoint costs (bot/storage/checkpoint.py).

The tick empties the write-ahead log (a TRUNCATE checkpoint) so that the texts of sent
messages are gone from the database's files. It holds the one connection while it runs,
so a relay that arrives meanwhile waits for it: its duration is that wait. Measured
after a tick's worth of the heaviest sending Telegram allows (CHECKIN_TICK_SECONDS = 15 at
30 messages a second: 450 texts queued, marked sending and sent, each a separate write as
the sender makes them), on a database that already holds a day of such traffic, and
after a tick in which nothing was written.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench.harness import Figure, at_most, info
from bot.storage.checkpoint import checkpoint
from bot.storage.db import Database
from bot.storage.outbox import OutboxRepository, Priority

TITLE = "Checkpoint at the tick (sent texts leave the files)"
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
PER_TICK = 450  # 15 s at Telegram's 30 messages a second
TEXT = "What has been on your mind lately? There's no need to reply. " * 4


def prepare(workdir: Path, quick: bool) -> None:
    """Nothing shared: the case builds its own database."""


async def _send(db: Database, outbox: OutboxRepository, count: int) -> None:
    """Queue, mark sending and mark sent `count` texts, one write each, as the sender does."""
    for n in range(count):
        async with db.autocommit():
            item = await outbox.add(
                chat_id=10_000 + n % 3000,
                method="send_message",
                payload={"chat_id": 10_000 + n, "text": TEXT},
                priority=Priority.SCHEDULED,
                now=NOW,
            )
            assert item is not None
            await outbox.mark_sending(item.id)
            await outbox.mark_sent(item, n, NOW)


def _kib(path: Path) -> float:
    return path.stat().st_size / 1024


async def _timed_checkpoint(db: Database) -> float:
    started = time.perf_counter()
    assert await checkpoint(db)
    return (time.perf_counter() - started) * 1000


async def tick(workdir: Path, quick: bool) -> list[Figure]:
    """A checkpoint after a busy tick, after an idle one, and the log's size before."""
    path = workdir / "checkpoint.sqlite3"
    db = await Database.open(path)
    outbox = OutboxRepository(db)
    try:
        await _send(db, outbox, 2000 if quick else 20_000)  # history already in the file
        await _timed_checkpoint(db)
        busy: list[float] = []
        wal_kib: list[float] = []
        for _ in range(3 if quick else 10):
            await _send(db, outbox, PER_TICK)
            wal_kib.append(_kib(Path(f"{path}-wal")))
            busy.append(await _timed_checkpoint(db))
        idle = [await _timed_checkpoint(db) for _ in range(10)]
    finally:
        await db.close()
    return [
        info("write-ahead log after a busy tick", max(wal_kib), "KiB"),
        at_most("checkpoint after a busy tick (worst)", max(busy), "ms", 50),
        info("checkpoint after a busy tick (median)", sorted(busy)[len(busy) // 2], "ms"),
        at_most("checkpoint after an idle tick (worst)", max(idle), "ms", 5),
    ]


CASES: dict[str, Callable[[Path, bool], Awaitable[list[Figure]]]] = {"tick": tick}


def combine(results: Mapping[str, Sequence[Figure]]) -> list[Figure]:
    """Nothing to compare."""
    return []
