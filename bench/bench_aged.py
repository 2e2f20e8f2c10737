"""A year in: the whole tick on a database with 180 days of history, and the daily purge.

Each case copies an aged database (bench/aged.py: the clients of bench/population.py
and 181 days of check-ins, sent messages, relay links and update ids; RETENTION_DAYS is
180, so the first purge has a day to delete, as in steady state), opens the bot's
services on it (no sender: nothing is sent) and runs the bot's own tick
(`bot.scheduling.tick`: check-ins, away times, summaries, retention) every 15 s of a
ManualClock through the hour before the storm minute: 240 ticks, the daily purge under
way in most of them. Every hold of the database lock and every purge statement is timed.
Then the purge is run to its end, and the file is watched through more days of history
and purges (five; PORCHLIGHT_BENCH_MORE_DAYS): freed pages are used again, so the file
stays about the size it was. As the bot does, the log is copied aside (LogCopier) and
the purge's steps are `retention_step`.

Sizes: 10,000 and 100,000 clients with 181 days of history; 1,000,000 clients without
history (181 days would take hours to generate here), so its purge has nothing to do
and its figures are the tick's alone.
"""

from __future__ import annotations

import gc
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path

from bench import aged
from bench.harness import Figure, StallMonitor, at_most, info, median, percentile
from bench.population import Population
from bot.config import load_settings
from bot.domain.clock import ManualClock
from bot.scheduling import retention_step, tick
from bot.services.container import Services
from bot.services.relay import kept_for
from bot.services.retention import Purge
from bot.storage import retention
from bot.storage.db import Database

TITLE = "A year in (aged database)"
TOKEN = "123456:BENCH-TOKEN-not-a-real-one-0123"
TICK = timedelta(seconds=15)
SIZES = {"10k": (10_000, aged.HISTORY_DAYS), "100k": (100_000, aged.HISTORY_DAYS)}
MILLION_DAYS = 0  # 181 days at 1M would take hours to generate here
if os.environ.get("PORCHLIGHT_BENCH_MILLION"):
    SIZES["1M"] = (1_000_000, MILLION_DAYS)
TICK_P99_MS = 15
TICK_P50_MS = 5
STATEMENT_MS = 10
MORE_DAYS = int(os.environ.get("PORCHLIGHT_BENCH_MORE_DAYS", "5"))


def prepare(workdir: Path, quick: bool) -> None:
    """Generate (or find in the cache) the aged database of every size."""
    for clients, days in _sizes(quick).values():
        aged.aged_database(clients, days)


def _sizes(quick: bool) -> dict[str, tuple[int, int]]:
    return {"10k": SIZES["10k"]} if quick else SIZES


class Watch:
    """Times every hold of the database lock and every purge statement: wall time, and the
    CPU time the event loop's and the database's threads spent meanwhile (what the hold
    costs without the wait for a CPU that a loaded machine adds to wall time)."""

    def __init__(self) -> None:
        self.holds: list[float] = []
        self.statements: list[float] = []
        self.hold_cpu: list[float] = []
        self.statement_cpu: list[float] = []
        self.deleted = 0
        self._db_clock: int | None = None

    def watch_thread_of(self, db: Database) -> None:
        """From now on, count the CPU time of db's thread too."""
        ident = db._connection._thread.ident  # aiosqlite's worker thread
        assert ident is not None
        self._db_clock = time.pthread_getcpuclockid(ident)

    def forget_thread(self) -> None:
        """The database's thread has ended (its clock can no longer be read)."""
        self._db_clock = None

    def cpu(self) -> float:
        """CPU seconds of this (the loop's) thread and the database's so far."""
        own = time.thread_time()
        return own if self._db_clock is None else own + time.clock_gettime(self._db_clock)

    def install(self) -> None:
        """Wrap Database._held and RetentionRepository.delete_before (this process only)."""
        held = Database._held
        delete_before = retention.RetentionRepository.delete_before
        watch = self

        @asynccontextmanager
        async def timed_held(db: Database, background: bool) -> AsyncIterator[None]:
            async with held(db, background):
                before, cpu = time.perf_counter(), watch.cpu()
                try:
                    yield
                finally:
                    watch.holds.append(time.perf_counter() - before)
                    watch.hold_cpu.append(watch.cpu() - cpu)

        async def timed_delete(
            repo: retention.RetentionRepository,
            table: retention.Kept,
            moment: datetime,
            limit: int,
        ) -> int:
            before, cpu = time.perf_counter(), watch.cpu()
            gone = await delete_before(repo, table, moment, limit)
            watch.statements.append(time.perf_counter() - before)
            watch.statement_cpu.append(watch.cpu() - cpu)
            watch.deleted += gone
            return gone

        Database._held = timed_held  # type: ignore[method-assign,assignment]
        retention.RetentionRepository.delete_before = timed_delete  # type: ignore[method-assign,assignment]


def _file_size(path: Path) -> int:
    wal = Path(f"{path}-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


async def run_size(workdir: Path, label: str, clients: int, days: int) -> list[Figure]:
    """The ticks of one size, the purge to its end, and the file through more days."""
    path = aged.copy_of(clients, workdir / f"aged-{label}.sqlite3", days)
    population = aged.population_of(clients)
    size_before = _file_size(path)
    settings = load_settings(
        _env_file=None,
        telegram_bot_token=TOKEN,
        database_path=path,
        retention_days=aged.RETENTION_DAYS,
    )
    watch = Watch()
    watch.install()
    clock = ManualClock(population.start)
    services = await Services.open(settings, clock)
    await services.start()  # no bot, so no sender: the log copier only, as the bot has
    watch.watch_thread_of(services.db)
    gc.freeze()  # as bot/app.py does at the end of start-up

    ticks: list[float] = []
    tick_cpu: list[float] = []
    tick_holds: list[float] = []
    tick_hold_cpu: list[float] = []
    worst_stall = 0.0
    steps = 0
    moment = population.start
    purge = services.relay.purge
    while moment < population.storm_at - timedelta(seconds=1):
        clock.set(moment)
        holds = len(watch.holds)
        async with StallMonitor() as monitor:
            before, cpu = time.perf_counter(), watch.cpu()
            await tick(services)
            ticks.append(time.perf_counter() - before)
            tick_cpu.append(watch.cpu() - cpu)
        worst_stall = max(worst_stall, monitor.worst_ms)
        tick_holds += watch.holds[holds:]
        tick_hold_cpu += watch.hold_cpu[holds:]
        # The retention job's steps until the next tick, one a second.
        for second in range(int(TICK.total_seconds())):
            clock.set(moment + timedelta(seconds=second))
            if purge.under_way or steps == 0:
                await retention_step(services)
                steps += 1
        moment += TICK
    steps_in_the_hour = steps
    # The rest of the day's purge, as further steps would do it.
    while purge.under_way:
        await retention_step(services)
        steps += 1
    deleted = watch.deleted
    statements = list(watch.statements)
    statement_cpu = list(watch.statement_cpu)
    await services.close()
    watch.forget_thread()
    size_purged = _file_size(path)
    sizes_after, free_after = await _more_days(path, population, clock.now())
    per_day = size_before / clients / max(days, 1)

    ms = 1000.0
    return [
        info("days of history", days, "days"),
        info("ticks (every 15 s for an hour)", len(ticks), "ticks"),
        at_most("tick, median", median(ticks) * ms, "ms", TICK_P50_MS),
        at_most("tick, p99", percentile(ticks, 0.99) * ms, "ms", TICK_P99_MS),
        info("tick, worst", max(ticks) * ms, "ms"),
        info("tick CPU (loop and database threads), median", median(tick_cpu) * ms, "ms"),
        info("tick CPU, p99", percentile(tick_cpu, 0.99) * ms, "ms"),
        info("tick CPU, worst", max(tick_cpu) * ms, "ms"),
        info("purge steps during the hour (one a second)", steps_in_the_hour, "steps"),
        info("ticks, worst stall", worst_stall, "ms"),
        at_most(
            "ticks, longest hold of the database lock",
            max(tick_holds) * ms,
            "ms",
            STATEMENT_MS,
        ),
        info(
            f"ticks, holds of the lock over {STATEMENT_MS} ms",
            sum(1 for hold in tick_holds if hold * ms > STATEMENT_MS),
            f"of {len(tick_holds)}",
        ),
        info("ticks, longest hold's CPU", max(tick_hold_cpu) * ms, "ms"),
        info(
            f"ticks, holds whose CPU is over {STATEMENT_MS} ms",
            sum(1 for hold in tick_hold_cpu if hold * ms > STATEMENT_MS),
            f"of {len(tick_hold_cpu)}",
        ),
        info("purge: rows deleted (a day of history)", deleted, "rows"),
        info("purge: statements", len(statements), "statements"),
        info(
            "purge: statement, median",
            median(statements) * ms if statements else 0,
            "ms",
        ),
        at_most(
            "purge: longest statement",
            max(statements, default=0) * ms,
            "ms",
            STATEMENT_MS,
        ),
        info(
            "purge: steps a day's purge takes (one a second)",
            steps,
            "steps",
        ),
        info(
            f"purge: statements over {STATEMENT_MS} ms",
            sum(1 for statement in statements if statement * ms > STATEMENT_MS),
            f"of {len(statements)}",
        ),
        info("purge: statement CPU, median", median(statement_cpu) * ms, "ms"),
        info("purge: statement CPU, p99", percentile(statement_cpu, 0.99) * ms, "ms"),
        info("purge: statement CPU, worst", max(statement_cpu, default=0) * ms, "ms"),
        info(
            f"purge: statements whose CPU is over {STATEMENT_MS} ms",
            sum(1 for cpu in statement_cpu if cpu * ms > STATEMENT_MS),
            f"of {len(statement_cpu)}",
        ),
        info("file size", size_before / 1e6, "MB"),
        info("bytes per client per day of history", per_day, "B"),
        info("file after the purge", size_purged / 1e6, "MB"),
        *[
            info(f"file after {n} more day(s) of history and purge", size / 1e6, "MB")
            for n, size in enumerate(sizes_after, start=1)
        ],
        *[
            info(f"free pages after {n} more day(s) and purge", pages, "pages")
            for n, pages in enumerate(free_after, start=1)
        ],
    ]


async def _more_days(
    path: Path, population: Population, now: datetime
) -> tuple[list[int], list[int]]:
    """Add a day of history and purge, MORE_DAYS times; the file's size after each, and
    its free pages (what the next day's rows can use again)."""
    sizes: list[int] = []
    free: list[int] = []
    clock = ManualClock(now)
    for _ in range(MORE_DAYS):
        connection = sqlite3.connect(path, isolation_level=None)
        try:
            aged.add_day(connection, population, clock.now())
        finally:
            connection.close()
        clock.advance(timedelta(days=1))
        db = await Database.open(path)
        purge = Purge(db, clock)
        ages = kept_for(timedelta(days=aged.RETENTION_DAYS))
        await purge.run(ages)
        while purge.under_way:
            await purge.run(ages)
        await db.close()
        sizes.append(_file_size(path))
        connection = sqlite3.connect(path)
        try:
            free.append(connection.execute("PRAGMA freelist_count").fetchone()[0])
        finally:
            connection.close()
    return sizes, free


def _case(label: str) -> Callable[[Path, bool], Awaitable[list[Figure]]]:
    async def case(workdir: Path, quick: bool) -> list[Figure]:
        clients, days = SIZES[label]
        return await run_size(workdir, label, clients, days)

    return case


CASES: dict[str, Callable[[Path, bool], Awaitable[list[Figure]]]] = {
    label: _case(label) for label in SIZES
}


def combine(results: Mapping[str, Sequence[Figure]]) -> list[Figure]:
    """Nothing to combine: each size stands on its own."""
    return []
