"""Our own rate limiter: a smooth overall pace, a hard one-second cap, and a gap per chat.

PTB's AIORateLimiter spaces nothing per chat and pauses every chat on any 429.
Telegram allows about 30 messages a second overall and about one a second in one
chat. Here every message waits for its chat's gap (one second by default); then
scheduled traffic (check-ins) is paced smoothly at `per_second`, while a message a
person is waiting for (a relay, an answer) may go at once as long as fewer than
`window_cap` messages left in the past second. So a relay never waits behind a
storm of check-ins, and no second ever carries more than `window_cap`.

A chat may have a gap of its own (`chat_gaps`): the team inbox's group, which Telegram
allows about 20 messages a minute, waits three seconds between two; only that chat waits.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping

WINDOW = 1.0
# Requests do not arrive exactly as they leave: a little room keeps a burst that
# bunches on the way from looking like too many in one second, or two in one chat.
MARGIN = 0.01
# A message waiting for its turn looks this often whether the sender stops.
NAP = 0.25


class Stopped(Exception):
    """The sender stopped while a message waited for its turn; nothing was counted."""


def _never() -> bool:
    return False


class RateLimiter:
    """Hands out sending moments; call acquire() right before each request."""

    def __init__(
        self,
        per_second: float,
        per_chat_interval: float,
        *,
        window_cap: int | None = None,
        chat_gaps: Mapping[int, float] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._chat_gap = per_chat_interval
        self._chat_gaps = dict(chat_gaps or {})
        self._cap = window_cap if window_cap is not None else math.floor(per_second) + 1
        # Scheduled traffic may fill cap - 1 places of any window of WINDOW + MARGIN: a pace
        # any faster would run into the window, and every message already past its slot
        # would then watch the window for its turn, all of them after each send.
        self._gap = max(1.0 / per_second, (WINDOW + MARGIN) / max(1, self._cap - 1))
        self._monotonic = monotonic
        self._sleep = sleep
        # Scheduled slots are reserved ahead of time on a track that urgent messages move
        # back by one gap each: a slot's moment is its place on the track plus the shift.
        self._next_slot = 0.0
        self._shift = 0.0
        self._chat_ready: dict[int, float] = {}
        self._sent: deque[float] = deque()
        self._paused_until = 0.0

    def pause_all(self, seconds: float) -> None:
        """Telegram asked the whole bot to wait (a 429 not tied to one chat)."""
        self._paused_until = max(self._paused_until, self._monotonic() + seconds)

    def pause_chat(self, chat_id: int, seconds: float) -> None:
        """Telegram asked us to leave one chat alone for a while."""
        until = self._monotonic() + seconds
        self._chat_ready[chat_id] = max(self._chat_ready.get(chat_id, 0.0), until)

    async def acquire(
        self, chat_id: int, *, urgent: bool = False, stopping: Callable[[], bool] = _never
    ) -> None:
        """Wait until a message may go to chat_id, and count it as sent.

        Call it in the task that sends, right before the request: the moment counted is
        then the moment the request leaves. While it waits it looks at `stopping` at
        least every NAP seconds, and raises Stopped (counting nothing) once it is true.
        """
        await self._until(
            lambda: max(self._chat_ready.get(chat_id, 0.0), self._paused_until), stopping
        )
        if not urgent:
            # Reserve a smooth slot; reserving before sleeping keeps the order fair.
            slot = max(self._monotonic() - self._shift, self._next_slot)
            self._next_slot = slot + self._gap
            await self._until(lambda: slot + self._shift, stopping)
        # Scheduled traffic leaves the last place in every second to a person waiting
        # (when there is more than one place).
        limit = self._cap if urgent else max(1, self._cap - 1)
        await self._until(lambda: self._window_free_at(limit), stopping)
        now = self._monotonic()
        if urgent:
            # An urgent message uses up a smooth slot too, so the average pace holds: the
            # slots reserved, if any, move back one gap (else the next one is a gap away).
            if self._next_slot + self._shift > now:
                self._shift += self._gap
            else:
                self._next_slot = now - self._shift + self._gap
        self._sent.append(now)
        gap = self._chat_gaps.get(chat_id, self._chat_gap)
        self._chat_ready[chat_id] = now + gap + (MARGIN if gap else 0.0)
        if len(self._chat_ready) > 10_000:
            self._chat_ready = {c: at for c, at in self._chat_ready.items() if at > now}

    def _window_free_at(self, limit: int) -> float:
        """When the past second will hold fewer than `limit` messages."""
        now = self._monotonic()
        while self._sent and self._sent[0] <= now - WINDOW - MARGIN:
            self._sent.popleft()
        if len(self._sent) < limit:
            return now
        return self._sent[len(self._sent) - limit] + WINDOW + MARGIN

    async def _until(self, moment: Callable[[], float], stopping: Callable[[], bool]) -> None:
        """Sleep until moment() has passed, re-reading it after each nap; Stopped if
        `stopping` turns true while there is still time to wait."""
        while (wait := moment() - self._monotonic()) > 0:
            if stopping():
                raise Stopped
            await self._sleep(min(wait, NAP))
