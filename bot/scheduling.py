"""The tick: one repeating job in PTB's JobQueue (APScheduler 3) for every client.

Not a job per client: each job costs APScheduler memory and an O(n) insert, and a
burst of simultaneous jobs can be missed. The store is the truth (next_due_at per
client); this job only asks it, every CHECKIN_TICK_SECONDS, who is due. The same
tick ends away times whose date has passed and sends the daily summaries that are
due, also asked of the store.
"""

from __future__ import annotations

from bot.handlers.context import Context, PorchlightApp, services
from bot.logs import EventLog
from bot.services.container import Services
from bot.storage.db import fault_text, is_storage_fault

log = EventLog(__name__)


async def tick(found: Services) -> None:
    """One tick: messages whose handling failed, check-ins and ended pauses, ended away
    times, daily summaries; tidy up."""
    await found.relay.retry_waiting()
    await found.checkins.tick()
    await found.away.end_passed()
    await found.digests.tick()
    await found.relay.tidy(found.retention)


async def job_checkin_tick(context: Context) -> None:
    """The repeating job: one tick. A failing database is one line per tick, not a
    traceback; the storage watch (bot.watch) stops the bot if it keeps failing."""
    try:
        await tick(services(context))
    except Exception as error:
        if not is_storage_fault(error):
            raise
        log.warning("tick.failed", error=fault_text(error))


def start_tick(application: PorchlightApp, seconds: float) -> None:
    """Run the tick now and then every `seconds`; a slow tick is never run twice at once."""
    assert application.job_queue is not None
    application.job_queue.run_repeating(
        job_checkin_tick,
        interval=seconds,
        first=0,
        name="checkin-tick",
        job_kwargs={"max_instances": 1, "coalesce": True},
    )
    log.info("tick.started", every_seconds=seconds)
