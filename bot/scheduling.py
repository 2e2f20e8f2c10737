"""The tick: one repeating job in PTB's JobQueue (APScheduler 3) for every client.

Not a job per client: each job costs APScheduler memory and an O(n) insert, and a
burst of simultaneous jobs can be missed. The store is the truth (next_due_at per
client); this job only asks it, every CHECKIN_TICK_SECONDS, who is due. The same
tick ends away times whose date has passed, sends the daily summaries that are due,
and sends escalations and reminders that are due, also asked of the store. Last, it
checkpoints the database, so that the texts of messages sent since are gone from its
files too. A second job, every second, deletes what is past retention, a small batch at
a time, once a day, and copies the write-ahead log into the file outside the database
lock (bot.storage.checkpoint).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from bot import metrics
from bot.handlers.context import Context, PorchlightApp, services
from bot.health import Watch
from bot.logs import EventLog
from bot.services.container import Services
from bot.storage.checkpoint import checkpoint
from bot.storage.db import fault_text, is_storage_fault

log = EventLog(__name__)

# A tick (and each slice of a drain) starts no new batch of check-ins after this long: the
# first tick after a restart with 20,000 overdue ends within it instead of after all of them.
SLICE_SECONDS = 0.25
RETENTION_STEP_SECONDS = 1.0  # a day's purge at 100,000 clients: about 5,200 steps
# How often the repeating jobs' plans are held against the wall clock (keep_on_time).
CLOCK_WATCH_SECONDS = 1.0


async def tick(found: Services, *, checkins: bool = True, seconds: float | None = None) -> bool:
    """One tick: messages whose handling failed, check-ins and ended pauses, ended away
    times, daily summaries, escalations and reminders, the weekly report; then empty the
    write-ahead log of what was cleared since (bot.storage.checkpoint).

    With `seconds`, the check-ins stop after that long (a storm after a restart) and the
    answer says whether clients are still due; `checkins=False` leaves them to the drain
    under way (job_checkin_drain)."""
    started = time.perf_counter()
    await found.relay.retry_waiting()
    more = False
    if checkins:
        report = await found.checkins.tick(seconds)
        metrics.checkins_sent(report.checkins)
        more = report.more
    await found.away.end_passed()
    await found.digests.tick()
    await found.escalations.tick()
    await found.report.tick()
    await checkpoint(found.db, found.log_copier)
    log.debug("tick.done", ms=round((time.perf_counter() - started) * 1000, 1))
    return more


async def job_checkin_tick(context: Context) -> None:
    """The repeating job: one tick, timed; then the heartbeat (see bot.health). A failing
    database is one line per tick, not a traceback; the storage watch (bot.watch) stops the
    bot if it keeps failing.

    A tick handles check-ins for at most SLICE_SECONDS: after a restart with thousands
    overdue, the first tick ends within the slice and the rest go on in the drain job, so
    that the other parts of the tick (an escalation that fell due) never wait behind the
    storm. While the drain runs, ticks leave the check-ins to it."""
    found = services(context)
    runtime = context.bot_data
    started = time.perf_counter()
    try:
        more = await tick(found, checkins=not runtime.draining, seconds=SLICE_SECONDS)
        took = time.perf_counter() - started
        metrics.tick_took(took)
        if not runtime.ticked.is_set():
            # After a start: the first check-ins that came due while the bot was down are
            # queued; the rest, if there are more, are being queued by the drain.
            log.info("tick.first_done", ms=round(took * 1000, 1), more=more)
        if more:
            _start_drain(context)
        if context.job is not None and isinstance(context.job.data, Watch):
            await context.job.data.after_tick(found, context.bot)
    except (Exception, asyncio.CancelledError) as error:
        _one_line_or_raise(context, "tick.failed", error)
    finally:
        runtime.ticked.set()


def _start_drain(context: Context) -> None:
    """Queue the rest of a storm in a job of its own, one at a time."""
    runtime = context.bot_data
    if runtime.draining or context.job_queue is None:
        return
    runtime.draining = True
    context.job_queue.run_once(
        job_checkin_drain, when=0, name="checkin-drain", job_kwargs={"misfire_grace_time": None}
    )


async def job_checkin_drain(context: Context) -> None:
    """The rest of a storm of due check-ins, a slice at a time, until nobody is due. Each
    batch is its own transaction, claimed and advanced together, so nobody is sent two and
    nobody is left out, whatever stops the drain: a failing database ends it with one line
    and the next tick starts it again; a stop ends it after the slice under way, and a
    kill within one; the rest stay due for the next start."""
    found = services(context)
    runtime = context.bot_data
    started = time.perf_counter()
    sent = 0
    try:
        while True:
            report = await found.checkins.tick(SLICE_SECONDS)
            metrics.checkins_sent(report.checkins)
            sent += report.checkins + report.offers
            if not report.more:
                break
            if not context.application.running:
                # A stop waits for running jobs: it waits one slice, not the whole storm.
                # Whoever is still due stays due for the next start.
                log.info("checkins.drain_stopped", sent=sent)
                return
        log.info("checkins.drained", sent=sent, ms=round((time.perf_counter() - started) * 1000))
    except (Exception, asyncio.CancelledError) as error:
        _one_line_or_raise(context, "drain.failed", error)
    finally:
        runtime.draining = False


async def job_retention(context: Context) -> None:
    """The other repeating job: the next small batch of the day's purge, if one is under way
    (bot.services.retention); apart from the tick, which it would otherwise lengthen. A
    failing database waits for the next step (the storage watch stops a bot it keeps
    failing), without a line a second."""
    found = services(context)
    try:
        await retention_step(found)
    except (Exception, asyncio.CancelledError) as error:
        _one_line_or_raise(context, None, error)


async def retention_step(found: Services) -> None:
    """The next batch of the purge under way, if any; then the write-ahead log is copied
    into the file outside the lock (bot.storage.checkpoint), whoever wrote to it."""
    await found.relay.tidy(found.retention)
    await found.log_copier.copy()


def _one_line_or_raise(
    context: Context, event: str | None, error: Exception | asyncio.CancelledError
) -> None:
    """A job's failing database (one `event` line, if named), or anything a job meets while
    the bot stops under it (the database closing beneath a call still waiting on a lock, or
    the JobQueue cancelling a job still running: APScheduler would log that as an error with
    a traceback), is at most one line; a bug, or a cancel while running, raises."""
    if is_storage_fault(error):
        if event is not None:
            log.warning(event, error=fault_text(error))
    elif not context.application.running:
        log.info(event or "job.stopped", error=type(error).__name__, stopping=True)
    else:
        raise error


def start_tick(application: PorchlightApp, seconds: float, watch: Watch | None = None) -> None:
    """Run the tick as soon as the JobQueue starts, then every `seconds`.

    `first=0` is not enough: APScheduler computes a job's first run when the scheduler
    starts, and a start date already past then means "one interval from now", so the
    clients who came due while the bot was down waited a whole interval after a restart.
    An explicit first run time is kept as it is. A late tick still runs (no misfire
    grace: a busy loop must not make it skip a turn), and never twice at once.
    """
    assert application.job_queue is not None
    application.job_queue.run_repeating(
        job_checkin_tick,
        interval=seconds,
        name="checkin-tick",
        data=watch,
        job_kwargs={
            "max_instances": 1,
            "coalesce": True,
            "misfire_grace_time": None,
            "next_run_time": datetime.now(UTC),
        },
    )
    application.job_queue.run_repeating(
        job_retention,
        interval=RETENTION_STEP_SECONDS,
        name="retention",
        job_kwargs={"max_instances": 1, "coalesce": True},
    )
    log.info("tick.started", every_seconds=seconds)


async def keep_on_time(application: PorchlightApp) -> None:
    """Every CLOCK_WATCH_SECONDS (the event loop's clock, which never goes back), bring the
    repeating jobs back to the wall clock if it went back (bring_forward)."""
    while True:
        await asyncio.sleep(CLOCK_WATCH_SECONDS)
        try:
            bring_forward(application)
        except Exception:
            # A fault of ours in one look must not leave the tick unwatched for good.
            log.exception("clock.watch_error")


def bring_forward(application: PorchlightApp) -> None:
    """A repeating job planned further ahead than its interval: the machine's clock went back
    (NTP stepping it, a hardware clock read as local time). The JobQueue's scheduler plans by
    the wall clock, so the tick would wait for the hour to come round again, an hour for an
    hour: check-ins, escalations and reminders waiting in a live process whose heartbeat is
    ahead of the clock, so `health` passes. The job runs now instead, and its interval counts
    from the clock as it is."""
    if application.job_queue is None:
        return
    now = datetime.now(UTC)
    for job in application.job_queue.jobs():
        # A repeating job's trigger has its interval; a job run once (the drain) has none.
        planned, interval = job.job.next_run_time, getattr(job.job.trigger, "interval", None)
        if not isinstance(interval, timedelta) or planned is None:
            continue
        ahead = planned - now - interval
        if ahead > timedelta(seconds=CLOCK_WATCH_SECONDS):
            log.warning("clock.went_back", job=job.name, seconds=round(ahead.total_seconds()))
            job.job.modify(next_run_time=now)
