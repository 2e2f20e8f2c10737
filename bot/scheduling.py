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
    """The repeating job: one tick."""
    await tick(services(context))


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
