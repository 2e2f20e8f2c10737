"""Prometheus metrics: counts and timings only, never content, never ids.

With METRICS_PORT set, `run` serves them on METRICS_LISTEN:METRICS_PORT (127.0.0.1 by
default) at /metrics. Each event is counted by one call at the point where it happens;
the functions below are that call. Without METRICS_PORT nothing is served, prometheus-client
is not even imported, and counting costs one comparison an event.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping


class _Live:
    """The metrics themselves, made when they are first served: without METRICS_PORT,
    prometheus-client is never imported (about a tenth of a second of every start-up)."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        self.relayed = Counter(
            "porchlight_messages_relayed_total",
            "Messages relayed, by direction (to_specialist, to_client)",
            ["direction"],
        )
        self.checkins_sent = Counter(
            "porchlight_checkins_sent_total", "Check-ins queued by the tick"
        )
        self.checkins_answered = Counter(
            "porchlight_checkins_answered_total", "Check-ins answered, by a tap or a message"
        )
        self.outbox_depth = Gauge(
            "porchlight_outbox_depth", "Messages waiting to be sent, by priority", ["priority"]
        )
        self.oldest_waiting = Gauge(
            "porchlight_outbox_oldest_waiting_seconds",
            "Age of the oldest message waiting to be sent now (0 when none)",
        )
        self.rate_limited = Counter(
            "porchlight_telegram_429_total", "429 Too Many Requests from the Bot API"
        )
        self.retries = Counter(
            "porchlight_send_retries_total", "Sends put off to retry after an error"
        )
        self.dead = Counter("porchlight_dead_messages_total", "Messages given up on (never sent)")
        self.escalations = Counter(
            "porchlight_escalations_total", "Urgent messages escalated to supervisors, unanswered"
        )
        self.flags = Counter(
            "porchlight_safety_flags_total", "Client messages the safety screen flagged"
        )
        self.tick_seconds = Histogram(
            "porchlight_tick_duration_seconds",
            "How long one tick took",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.loop_lag = Gauge(
            "porchlight_event_loop_lag_seconds", "How late the event loop last woke a 1 s sleep"
        )


_live: _Live | None = None  # None until served: then counting is a no-op


LAG_EVERY_SECONDS = 1.0


def relayed(direction: str, *, flagged: bool = False) -> None:
    """A message copied to the specialist ("to_specialist") or the client ("to_client")."""
    if _live is not None:
        _live.relayed.labels(direction).inc()
        if flagged:
            _live.flags.inc()


def checkins_sent(count: int) -> None:
    """The tick queued this many check-ins."""
    if _live is not None:
        _live.checkins_sent.inc(count)


def checkin_answered() -> None:
    """A client answered a check-in."""
    if _live is not None:
        _live.checkins_answered.inc()


def rate_limited() -> None:
    """The Bot API answered 429."""
    if _live is not None:
        _live.rate_limited.inc()


def retried() -> None:
    """A send failed and waits to be tried again."""
    if _live is not None:
        _live.retries.inc()


def dead() -> None:
    """A message was given up on."""
    if _live is not None:
        _live.dead.inc()


def escalated() -> None:
    """An urgent message went to the supervisors."""
    if _live is not None:
        _live.escalations.inc()


def tick_took(seconds: float) -> None:
    """One tick's duration."""
    if _live is not None:
        _live.tick_seconds.observe(seconds)


def outbox_waiting(depths: Mapping[str, int], oldest_seconds: float) -> None:
    """What waits in the outbox now, per priority, and how long the oldest has waited."""
    if _live is not None:
        for priority, depth in depths.items():
            _live.outbox_depth.labels(priority).set(depth)
        _live.oldest_waiting.set(oldest_seconds)


def serve(listen: str, port: int) -> None:
    """Serve /metrics on a thread of its own (prometheus-client's server)."""
    global _live
    from prometheus_client import start_http_server

    if _live is None:
        _live = _Live()
    start_http_server(port, addr=listen)


async def watch_loop_lag() -> None:
    """Measure, every second, how much later than asked the loop woke us (until cancelled)."""
    loop = asyncio.get_running_loop()
    with contextlib.suppress(asyncio.CancelledError):
        while True:
            asked = loop.time()
            await asyncio.sleep(LAG_EVERY_SECONDS)
            if _live is not None:
                _live.loop_lag.set(max(0.0, loop.time() - asked - LAG_EVERY_SECONDS))
