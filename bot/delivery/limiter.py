"""Our own rate limiter: smooth overall pace plus a minimum gap per chat.

PTB's AIORateLimiter spaces nothing per chat and pauses every chat on any 429;
Telegram's limits are about 30 messages a second overall and one a second per chat.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class RateLimiter:
    """Hands out sending slots: one per 1/per_second overall, one per interval per chat."""

    def __init__(
        self,
        per_second: float,
        per_chat_interval: float,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._gap = 1.0 / per_second
        self._chat_gap = per_chat_interval
        self._monotonic = monotonic
        self._sleep = sleep
        self._next_slot = 0.0
        self._chat_ready: dict[int, float] = {}

    async def acquire(self, chat_id: int) -> None:
        """Wait until a message may go to chat_id, and claim that moment."""
        now = self._monotonic()
        ready = self._chat_ready.get(chat_id, 0.0)
        if ready > now:
            await self._sleep(ready - now)
        # Reserve the overall slot only once the chat is ready, so a slow chat never
        # holds back the others.
        now = self._monotonic()
        slot = max(now, self._next_slot)
        self._next_slot = slot + self._gap
        self._chat_ready[chat_id] = slot + self._chat_gap
        if slot > now:
            await self._sleep(slot - now)
        if len(self._chat_ready) > 10_000:
            self._forget_idle(now)

    def _forget_idle(self, now: float) -> None:
        self._chat_ready = {chat: at for chat, at in self._chat_ready.items() if at > now}
