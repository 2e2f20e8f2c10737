"""Prometheus metrics: counts and timings only, never content, never ids.

With METRICS_PORT set, `run` serves them on METRICS_LISTEN:METRICS_PORT (127.0.0.1 by
default) at /metrics. Each event is counted by one call at the point where it happens;
the functions below are that call. Without METRICS_PORT nothing is served, and counting
costs a few hundred nanoseconds an event.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping

from prometheus_client import Counter, Gauge, Histogram, start_http_server

RELAYED = Counter(
    "porchlight_messages_relayed_total",
    "Messages relayed, by direction (to_specialist, to_client)",
    ["direction"],
)
CHECKINS_SENT = Counter("porchlight_checkins_sent_total", "Check-ins queued by the tick")
CHECKINS_ANSWERED = Counter(
    "porchlight_checkins_answered_total", "Check-ins answered, by a tap or a message"
)
OUTBOX_DEPTH = Gauge(
    "porchlight_outbox_depth", "Messages waiting to be sent, by priority", ["priority"]
)
OLDEST_WAITING = Gauge(
    "porchlight_outbox_oldest_waiting_seconds",
    "Age of the oldest message waiting to be sent now (0 when none)",
)
RATE_LIMITED = Counter("porchlight_telegram_429_total", "429 Too Many Requests from the Bot API")
RETRIES = Counter("porchlight_send_retries_total", "Sends put off to retry after an error")
DEAD = Counter("porchlight_dead_messages_total", "Messages given up on (never sent)")
ESCALATIONS = Counter(
    "porchlight_escalations_total", "Urgent messages escalated to supervisors, unanswered"
)
FLAGS = Counter("porchlight_safety_flags_total", "Client messages the safety screen flagged")
TICK_SECONDS = Histogram(
    "porchlight_tick_duration_seconds",
    "How long one tick took",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
LOOP_LAG = Gauge(
    "porchlight_event_loop_lag_seconds", "How late the event loop last woke a 1 s sleep"
)

LAG_EVERY_SECONDS = 1.0


def relayed(direction: str, *, flagged: bool = False) -> None:
    """A message copied to the specialist ("to_specialist") or the client ("to_client")."""
    RELAYED.labels(direction).inc()
    if flagged:
        FLAGS.inc()


def checkins_sent(count: int) -> None:
    """The tick queued this many check-ins."""
    CHECKINS_SENT.inc(count)


def checkin_answered() -> None:
    """A client answered a check-in."""
    CHECKINS_ANSWERED.inc()


def rate_limited() -> None:
    """The Bot API answered 429."""
    RATE_LIMITED.inc()


def retried() -> None:
    """A send failed and waits to be tried again."""
    RETRIES.inc()


def dead() -> None:
    """A message was given up on."""
    DEAD.inc()


def escalated() -> None:
    """An urgent message went to the supervisors."""
    ESCALATIONS.inc()


def tick_took(seconds: float) -> None:
    """One tick's duration."""
    TICK_SECONDS.observe(seconds)


def outbox_waiting(depths: Mapping[str, int], oldest_seconds: float) -> None:
    """What waits in the outbox now, per priority, and how long the oldest has waited."""
    for priority, depth in depths.items():
        OUTBOX_DEPTH.labels(priority).set(depth)
    OLDEST_WAITING.set(oldest_seconds)


def serve(listen: str, port: int) -> None:
    """Serve /metrics on a thread of its own (prometheus-client's server)."""
    start_http_server(port, addr=listen)


async def watch_loop_lag() -> None:
    """Measure, every second, how much later than asked the loop woke us (until cancelled)."""
    loop = asyncio.get_running_loop()
    with contextlib.suppress(asyncio.CancelledError):
        while True:
            asked = loop.time()
            await asyncio.sleep(LAG_EVERY_SECONDS)
            LOOP_LAG.set(max(0.0, loop.time() - asked - LAG_EVERY_SECONDS))
