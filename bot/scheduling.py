"""The tick: one repeating job in PTB's JobQueue (APScheduler 3) for every client.

Not a job per client: each job costs APScheduler memory and an O(n) insert, and a
burst of simultaneous jobs can be missed. The store is the truth (next_due_at per
client); this job only asks it, every CHECKIN_TICK_SECONDS, who is due.
"""

from __future__ import annotations

from bot.handlers.context import Context, PorchlightApp, services
from bot.logs import EventLog

log = EventLog(__name__)


async def job_checkin_tick(context: Context) -> None:
    """Send the check-ins that are due (and resume pauses that have ended); tidy up."""
    found = services(context)
    await found.checkins.tick()
    await found.relay.tidy(found.retention)


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
