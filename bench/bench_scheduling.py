"""Check-in scheduling for 100,000 clients: our tick over next_due_at against a job per client.

``ours`` opens the populated database, builds the CheckIns engine and ticks once (start-up),
ticks through ordinary minutes, then through the storm minute where 20,000 are due, with a
stall monitor beside every tick. The clock is a ManualClock, so minutes pass at once.
``claim`` only reads the storm's clients into objects: the floor under any storm tick.

``naive`` is the design the issue rejects: on start-up it reads every client and gives each
one a job in PTB's JobQueue (run_daily for an exact daily or weekday time, run_once at the
next due moment otherwise), the way PTB's timerbot example does. APScheduler reads the wall
clock, so the case moves APScheduler's idea of "now" instead: a constant offset from the real
clock, set to the benchmark's start for scheduling and to just before the storm for the
storm. Its job callback does nothing but count, so the naive storm figures are a lower bound.

Both processes build a PTB Application first, as the bot does, so that peak memory compares
two whole bots and "added" compares the designs alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import shutil
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from datetime import datetime, timedelta
from datetime import time as clock_time
from functools import cache
from pathlib import Path
from typing import Any

import apscheduler.executors.base  # type: ignore[import-untyped]
import apscheduler.schedulers.base  # type: ignore[import-untyped]
from apscheduler.events import (  # type: ignore[import-untyped]
    EVENT_JOB_MISSED,
    JobExecutionEvent,
)
from telegram.ext import Application, ApplicationBuilder, ContextTypes, JobQueue

from bench.harness import (
    Figure,
    StallMonitor,
    at_most,
    current_memory_mb,
    exactly,
    info,
    median,
    peak_memory_mb,
)
from bench.population import Population, populate
from bot.config import CONFIG_DIR
from bot.delivery.outbox import Outbox
from bot.domain.clock import ManualClock
from bot.domain.rhythm import Cadence, zone
from bot.domain.texts import Texts
from bot.services.base import ScheduleContext
from bot.services.checkins import CheckIns, TickReport
from bot.storage.checkpoint import LogCopier
from bot.storage.clients import ClientRepository
from bot.storage.db import Database, from_db, to_db
from bot.storage.outbox import OutboxRepository
from bot.storage.relay import RelayRepository
from bot.storage.schedules import CLIENTS_WITH_TICKS, ScheduleRepository

TITLE = "Check-in scheduling"
PRISTINE = "population.sqlite3"
# A token of the right shape: the bot is never initialised, so nothing is sent.
FAKE_TOKEN = "123456:" + "A" * 35

ORDINARY_TICK_MS = 10
STORM_SECONDS = 1
STALL_MS = 20
STARTUP_SECONDS = 2
PEAK_MB = 100
NAIVE_STORM_DEADLINE = 60.0
ROUND_TRIPS = 200


def prepare(workdir: Path, quick: bool) -> None:
    """Write the populated database that both cases copy."""
    populate(workdir / PRISTINE, Population.sized(quick))


def _private_copy(workdir: Path, name: str) -> Path:
    """A copy of the populated database for one case (ours writes to it)."""
    path = workdir / f"{name}.sqlite3"
    for stale in (Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)
    shutil.copyfile(workdir / PRISTINE, path)
    return path


def _application() -> Application[Any, Any, Any, Any, Any, JobQueue[Any]]:
    """The PTB Application a bot process carries, never initialised (no network)."""
    return ApplicationBuilder().token(FAKE_TOKEN).build()


def _handled(report: TickReport) -> int:
    return report.checkins + report.offers + report.skipped + report.resumed + report.cleared


# ---------------------------------------------------------------------------------- ours


async def ours(workdir: Path, quick: bool) -> list[Figure]:
    """Start-up, ordinary ticks and the storm tick of the CheckIns engine."""
    population = Population.sized(quick)
    path = _private_copy(workdir, "ours")
    application = _application()
    baseline = current_memory_mb()
    clock = ManualClock(population.start)

    started = time.perf_counter()
    db = await Database.open(path)
    # As the running bot: commits never copy the log themselves; a connection of its own
    # does, every second (bot.scheduling.retention_step), on its own thread.
    copier = LogCopier(path)
    await copier.start(db)
    copying = asyncio.create_task(_copy_every_second(copier))
    db_clock = time.pthread_getcpuclockid(_thread_id(db))
    checkins = CheckIns(
        ScheduleContext(
            db,
            ClientRepository(db),
            ScheduleRepository(db),
            Outbox(db, OutboxRepository(db), RelayRepository(db), clock),
            Texts.load(CONFIG_DIR / "messages"),
            clock,
        ),
        patience_after=3,
        staff_timezone="UTC",
    )
    await checkins.tick()
    startup = time.perf_counter() - started
    gc.freeze()  # as bot/app.py does at the end of start-up

    tick_seconds: list[float] = []
    ordinary_stall = 0.0
    ordinary_handled: list[int] = []
    for minute in population.ordinary_minutes():
        clock.set(minute)
        async with StallMonitor() as monitor:
            before = time.perf_counter()
            report = await checkins.tick()
            tick_seconds.append(time.perf_counter() - before)
        ordinary_stall = max(ordinary_stall, monitor.worst_ms)
        ordinary_handled.append(_handled(report))

    clock.set(population.storm_at)
    async with StallMonitor() as storm_monitor:
        before, cpu_before = time.perf_counter(), time.thread_time()
        db_cpu_before = time.clock_gettime(db_clock)
        storm = await checkins.tick()
        storm_seconds = time.perf_counter() - before
        storm_cpu = time.thread_time() - cpu_before
        storm_db_cpu = time.clock_gettime(db_clock) - db_cpu_before
    async with db.transaction() as conn:
        cursor = await conn.execute("SELECT count(*) FROM outbox")
        row = await cursor.fetchone()
        await cursor.close()
    queued = 0 if row is None else int(row[0])
    round_trip = await _round_trip_seconds(db)
    copying.cancel()
    await copier.close()
    await db.close()
    peak = peak_memory_mb()
    del application  # alive until here, so that peak memory counts it

    return [
        at_most("start-up (open, build, first tick)", startup, "s", STARTUP_SECONDS),
        info("clients due per ordinary minute (median)", median(ordinary_handled), "clients"),
        at_most("ordinary tick, median", median(tick_seconds) * 1000, "ms", ORDINARY_TICK_MS),
        info("ordinary tick, worst", max(tick_seconds) * 1000, "ms"),
        info("aiosqlite round trip (SELECT 1), median", round_trip * 1000, "ms"),
        info("ordinary ticks, worst stall", ordinary_stall, "ms"),
        exactly("storm: clients claimed", _handled(storm), "clients", population.storm),
        at_most("storm tick", storm_seconds, "s", STORM_SECONDS),
        info("storm tick, CPU of the event-loop thread", storm_cpu, "s"),
        info("storm tick, CPU of the database thread", storm_db_cpu, "s"),
        at_most("storm tick, worst stall", storm_monitor.worst_ms, "ms", STALL_MS),
        info("storm: check-ins / offers queued", storm.checkins + storm.offers, "messages"),
        info("outbox rows after the storm", queued, "rows"),
        info("memory after imports + Application", baseline, "MB"),
        at_most("peak memory", peak, "MB", PEAK_MB),
    ]


async def _copy_every_second(copier: LogCopier) -> None:
    with contextlib.suppress(asyncio.CancelledError):
        while True:
            await asyncio.sleep(1)
            await copier.copy()


def _thread_id(db: Database) -> int:
    """The database's worker thread (aiosqlite's), for its CPU clock."""
    ident = db._connection._thread.ident
    assert ident is not None
    return ident


async def _round_trip_seconds(db: Database) -> float:
    """What one await on the database costs here, however small the statement."""
    seconds: list[float] = []
    async with db.transaction() as conn:
        for _ in range(ROUND_TRIPS):
            before = time.perf_counter()
            await conn.execute_fetchall("SELECT 1")
            seconds.append(time.perf_counter() - before)
    return median(seconds)


async def claim(workdir: Path, quick: bool) -> list[Figure]:
    """The storm's clients read in one go, nothing decided or written (a lower bound)."""
    population = Population.sized(quick)
    db = await Database.open(_private_copy(workdir, "claim"))
    async with db.transaction():
        before = time.perf_counter()
        due = await ScheduleRepository(db).due(population.storm_at, population.storm)
        seconds = time.perf_counter() - before
    await db.close()
    return [
        exactly("storm: clients read", len(due), "clients", population.storm),
        info("storm: claim alone (select, rows to objects)", seconds, "s"),
    ]


# ---------------------------------------------------------------------------------- naive


class SchedulerTime:
    """APScheduler's "now": the real clock plus an offset that the benchmark moves."""

    offset = timedelta(0)

    class _Shifted(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            return datetime.now(tz) + SchedulerTime.offset

    @classmethod
    def install(cls) -> None:
        """Make APScheduler's scheduler and executor read this clock."""
        apscheduler.schedulers.base.datetime = cls._Shifted
        apscheduler.executors.base.datetime = cls._Shifted

    @classmethod
    def set(cls, moment: datetime) -> None:
        """From now on, APScheduler's clock reads `moment`, and runs on from there."""
        cls.offset = moment - datetime.now(moment.tzinfo)


@cache
def _zone(name: str) -> Any:
    # Cached here so that the naive figures show the design, not bot.domain.rhythm.zone.
    return zone(name)


_DAILY_LIKE = (Cadence.DAILY.value, Cadence.WEEKLY.value, Cadence.WEEKDAYS.value)
_ALL_DAYS = (0, 1, 2, 3, 4, 5, 6)


def _schedule_all(
    job_queue: JobQueue[Any],
    rows: Sequence[Any],
    callback: Callable[[ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]],
) -> dict[str, int]:
    """One job per client; returns APScheduler job id -> client id."""
    client_of: dict[str, int] = {}
    for client_id, chat_id, timezone, cadence, weekdays, at, next_due_at in rows:
        name = f"checkin:{client_id}"
        if at is not None and cadence in _DAILY_LIKE:
            hour, minute = (int(part) for part in at.split(":"))
            # PTB counts days from Sunday (0); the bot from Monday (0).
            days = (
                tuple(sorted((int(day) + 1) % 7 for day in weekdays.split(",")))
                if weekdays
                else _ALL_DAYS
            )
            job = job_queue.run_daily(
                callback,
                clock_time(hour, minute, tzinfo=_zone(timezone)),
                days=days,
                chat_id=chat_id,
                name=name,
                data=client_id,
            )
        else:
            job = job_queue.run_once(
                callback, from_db(next_due_at), chat_id=chat_id, name=name, data=client_id
            )
        client_of[job.job.id] = client_id
    return client_of


async def naive(workdir: Path, quick: bool) -> list[Figure]:
    """Start-up and memory of one PTB job per client, and how it meets the storm."""
    population = Population.sized(quick)
    path = _private_copy(workdir, "naive")
    logging.getLogger("apscheduler").setLevel(logging.CRITICAL)  # a warning per missed job
    SchedulerTime.install()
    SchedulerTime.set(population.start)
    application = _application()
    job_queue = application.job_queue
    assert job_queue is not None
    baseline = current_memory_mb()

    storm_ran: list[float] = []
    storm_missed: list[float] = []
    storm_ids: set[int] = set()
    storm_over = asyncio.Event()

    def storm_handled(moment: float, into: list[float]) -> None:
        into.append(moment)
        if len(storm_ran) + len(storm_missed) == len(storm_ids):
            storm_over.set()

    async def checkin_job(context: ContextTypes.DEFAULT_TYPE) -> None:
        """What a per-client job would do first: know who it is for."""
        assert context.job is not None
        if context.job.data in storm_ids:
            storm_handled(time.perf_counter(), storm_ran)

    async with StallMonitor() as startup_monitor:
        started = time.perf_counter()
        db = await Database.open(path)
        async with db.transaction() as conn:
            rows = await conn.execute_fetchall(
                "SELECT c.id, c.chat_id, c.timezone, c.cadence, c.weekdays, c.at, t.next_due_at"
                f" FROM {CLIENTS_WITH_TICKS}"
                " WHERE c.status = 'active' AND t.next_due_at IS NOT NULL"
            )
        read = time.perf_counter()
        client_of = _schedule_all(job_queue, list(rows), checkin_job)
        scheduled = time.perf_counter()
        await job_queue.start()
        startup = time.perf_counter() - started
    phases = (read - started, scheduled - read, started + startup - scheduled)
    storm_text = to_db(population.storm_at)
    storm_ids.update(row[0] for row in rows if row[6] == storm_text)
    del rows
    await db.close()

    def on_missed(event: JobExecutionEvent) -> None:
        if client_of.get(event.job_id) in storm_ids:
            storm_handled(time.perf_counter(), storm_missed)

    job_queue.scheduler.add_listener(on_missed, EVENT_JOB_MISSED)
    # Jump to just before the storm: what fell between the start and here is missed at once.
    lead = 0.5
    SchedulerTime.set(population.storm_at - timedelta(seconds=lead))
    storm_real = time.perf_counter() + lead
    job_queue.scheduler.wakeup()
    await asyncio.sleep(lead / 2)
    async with StallMonitor() as storm_monitor:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(storm_over.wait(), NAIVE_STORM_DEADLINE)
    storm_seconds = max(storm_ran + storm_missed, default=storm_real) - storm_real
    await job_queue.stop(wait=False)
    peak = peak_memory_mb()

    return [
        info("start-up (open, read, schedule, start)", startup, "s"),
        info("start-up: open and read the clients", phases[0], "s"),
        info("start-up: run_daily / run_once per client", phases[1], "s"),
        info("start-up: JobQueue.start() (jobs into the store)", phases[2], "s"),
        info("start-up, worst stall", startup_monitor.worst_ms, "ms"),
        exactly("jobs scheduled", len(client_of), "jobs", population.clients),
        info("storm: jobs run (empty callback)", len(storm_ran), "jobs"),
        info("storm: jobs missed (late > 1 s grace)", len(storm_missed), "jobs"),
        info("storm: last job run or missed after", storm_seconds, "s"),
        info("storm: worst stall", storm_monitor.worst_ms, "ms"),
        info("memory after imports + Application", baseline, "MB"),
        info("peak memory", peak, "MB"),
    ]


CASES: dict[str, Callable[[Path, bool], Awaitable[list[Figure]]]] = {
    "ours": ours,
    "claim": claim,
    "naive": naive,
}


def combine(results: Mapping[str, Sequence[Figure]]) -> list[Figure]:
    """How the naive design compares: naive / ours."""

    def value(case: str, prefix: str) -> float:
        return next(f.value for f in results[case] if f.name.startswith(prefix))

    def ratio(name: str, numerator: float, denominator: float) -> Figure:
        return info(name, numerator / denominator if denominator else float("inf"), "x")

    added_ours = value("ours", "peak memory") - value("ours", "memory after")
    added_naive = value("naive", "peak memory") - value("naive", "memory after")
    return [
        ratio("start-up, naive / ours", value("naive", "start-up ("), value("ours", "start-up (")),
        ratio("peak memory, naive / ours", value("naive", "peak"), value("ours", "peak")),
        info("memory added by the design, ours", added_ours, "MB"),
        info("memory added by the design, naive", added_naive, "MB"),
        ratio("memory added, naive / ours", added_naive, added_ours),
    ]
