"""The programme report over a year of a large programme: 10,000 clients, 52 weeks.

``prepare`` seeds a database with the made-up programme of bot.report.sample (joins,
check-ins and their answers, messages each way with answer times, flags, escalations,
changes of pace, blocks and erasures): about 3 million content-free events. ``year``
writes the report of all 52 weeks (HTML with its seven charts, and the CSV files), as
`python -m bot report --from ... --csv ...` does, and ``default`` the last 12 weeks (what
/report sends). Each is timed end to end: the reads, the tables, the charts, the files.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.harness import Figure, at_most, info, peak_memory_mb
from bot.config import CONFIG_DIR
from bot.delivery.outbox import Outbox
from bot.domain.clock import ManualClock
from bot.domain.texts import Texts
from bot.report.sample import seed_programme
from bot.services.report import Reports
from bot.storage.db import Database
from bot.storage.outbox import OutboxRepository
from bot.storage.relay import RelayRepository

TITLE = "Programme report"
DATABASE = "report.sqlite3"
END = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
WEEKS = 52
LIMIT_SECONDS = 10.0


def _clients(quick: bool) -> int:
    return 1_000 if quick else 10_000


def prepare(workdir: Path, quick: bool) -> None:
    """Seed a year of the made-up programme."""

    async def seed() -> None:
        db = await Database.open(workdir / DATABASE)
        try:
            await seed_programme(db, clients=_clients(quick), weeks=WEEKS, end=END)
        finally:
            await db.close()

    asyncio.run(seed())


async def _timed(workdir: Path, quick: bool, weeks: int | None) -> list[Figure]:
    db = await Database.open(workdir / DATABASE)
    try:
        [(events,)] = [tuple(row) for row in await _count(db)]
        clock = ManualClock(END)
        outbox = Outbox(db, OutboxRepository(db), RelayRepository(db), clock)
        texts = Texts.load(CONFIG_DIR / "messages")
        reports = Reports(
            db, outbox, texts, clock, timezone="Europe/London", admin_ids=frozenset()
        )
        first = (END - timedelta(weeks=weeks)).date() if weeks else None
        started = time.perf_counter()
        written = await reports.write(workdir / "report.html", workdir / "csv", first)
        seconds = time.perf_counter() - started
    finally:
        await db.close()
    label = f"{_clients(quick):,} clients, {weeks or 12} weeks"
    return [
        info("events in the database", float(events), "rows"),
        at_most(f"report written ({label})", seconds, "s", LIMIT_SECONDS),
        info("HTML page", written[0].stat().st_size / 1024, "KB"),
        info("peak memory", peak_memory_mb(), "MB"),
    ]


async def _count(db: Database) -> list[object]:
    async with db.transaction():
        return list(await db.fetch_all("SELECT count(*) FROM events"))


async def year(workdir: Path, quick: bool) -> list[Figure]:
    """python -m bot report --from <a year ago> --csv DIR."""
    return await _timed(workdir, quick, WEEKS)


async def default(workdir: Path, quick: bool) -> list[Figure]:
    """The last 12 weeks (what /report sends)."""
    return await _timed(workdir, quick, None)


CASES: dict[str, Callable[[Path, bool], Awaitable[list[Figure]]]] = {
    "year": year,
    "default": default,
}


def combine(results: Mapping[str, Sequence[Figure]]) -> list[Figure]:
    """Nothing to compare."""
    return []
