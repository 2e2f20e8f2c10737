"""The one sender: drains the outbox under the rate limiter, in order per chat.

A message is marked `sending` before the request leaves. After a crash, items
left `sending` are sent again (at least once) unless they are marked at-most-once
(check-ins), which are dropped rather than risk a double.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import warnings
from collections import defaultdict
from datetime import timedelta
from typing import Any

from telegram import Bot, InlineKeyboardMarkup, Message, MessageId, ReplyParameters
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.delivery.limiter import RateLimiter
from bot.domain.clock import Clock
from bot.storage.db import Database
from bot.storage.outbox import OutboxItem, OutboxRepository
from bot.storage.relay import RelayRepository

log = logging.getLogger(__name__)

BATCH = 100
IDLE_WAIT_SECONDS = 5.0


def _markup(payload: dict[str, Any]) -> InlineKeyboardMarkup | None:
    data = payload.get("reply_markup")
    return InlineKeyboardMarkup.de_json(data, None) if data else None


def _retry_seconds(error: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class Sender:
    """Sends queued messages; the only code that calls the Bot API to send."""

    def __init__(
        self,
        db: Database,
        outbox: OutboxRepository,
        relay: RelayRepository,
        bot: Bot,
        limiter: RateLimiter,
        clock: Clock,
        *,
        give_up_after: timedelta = timedelta(hours=24),
    ) -> None:
        self._db = db
        self._outbox = outbox
        self._relay = relay
        self._bot = bot
        self._limiter = limiter
        self._clock = clock
        self._give_up_after = give_up_after
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Something new is queued."""
        self._wake.set()

    async def start(self) -> None:
        """Recover from an interrupted run, then start draining in the background."""
        async with self._db.transaction():
            retried, dropped = await self._outbox.recover_interrupted()
        if retried or dropped:
            log.warning("outbox.recovered retried=%d dropped=%d", retried, dropped)
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="outbox-sender")

    async def stop(self) -> None:
        """Finish what is in flight, then stop."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        while not self._stopping:
            try:
                sent = await self.send_due()
            except Exception:
                log.exception("outbox.loop_error")
                sent = 0
            if sent == 0 and not self._stopping:
                await self._idle()

    async def _idle(self) -> None:
        async with self._db.transaction():
            next_at = await self._outbox.next_not_before()
        timeout = IDLE_WAIT_SECONDS
        if next_at is not None:
            timeout = min(timeout, max(0.01, (next_at - self._clock.now()).total_seconds()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)
        self._wake.clear()

    async def send_due(self) -> int:
        """Send one batch of what is due now; return how many were attempted."""
        self._wake.clear()
        async with self._db.transaction():
            items = await self._outbox.due(self._clock.now(), BATCH)
        by_chat: dict[int, list[OutboxItem]] = defaultdict(list)
        for item in items:
            by_chat[item.chat_id].append(item)
        await asyncio.gather(*(self._send_chat(chat_items) for chat_items in by_chat.values()))
        return len(items)

    async def _send_chat(self, items: list[OutboxItem]) -> None:
        """Send one chat's items in order; stop at the first that has to wait."""
        for item in items:
            if not await self._send_one(item):
                return

    async def _send_one(self, item: OutboxItem) -> bool:
        await self._limiter.acquire(item.chat_id)
        async with self._db.transaction():
            await self._outbox.mark_sending(item.id)
        try:
            message_id = await self._call(item)
        except RetryAfter as error:
            seconds = _retry_seconds(error)
            log.warning("outbox.rate_limited chat=%d retry_after=%.0f", item.chat_id, seconds)
            until = self._clock.now() + timedelta(seconds=seconds)
            async with self._db.transaction():
                await self._outbox.retry_later(item.id, until, "RetryAfter")
                await self._outbox.pause_chat(item.chat_id, until)
            return False
        except Forbidden as error:
            await self._give_up(item, error)
            return True
        except BadRequest as error:
            await self._give_up(item, error)
            return True
        except (NetworkError, TelegramError) as error:
            return await self._retry(item, error)
        async with self._db.transaction():
            await self._outbox.mark_sent(item.id, message_id, self._clock.now())
            if item.relay_link_id is not None and message_id is not None:
                await self._relay.set_dest_message(item.relay_link_id, message_id)
        log.debug("outbox.sent item=%d chat=%d method=%s", item.id, item.chat_id, item.method)
        return True

    async def _retry(self, item: OutboxItem, error: TelegramError) -> bool:
        """Back off exponentially with jitter, up to give_up_after since the item was queued."""
        now = self._clock.now()
        if now - item.created_at > self._give_up_after:
            await self._give_up(item, error)
            return True
        delay = min(300.0, 2.0 ** (item.attempts + 1)) * random.uniform(0.5, 1.0)
        log.warning(
            "outbox.retry item=%d chat=%d error=%s in=%.1fs",
            item.id,
            item.chat_id,
            type(error).__name__,
            delay,
        )
        until = now + timedelta(seconds=delay)
        async with self._db.transaction():
            await self._outbox.retry_later(item.id, until, type(error).__name__)
            await self._outbox.pause_chat(item.chat_id, until)
        return False

    async def _give_up(self, item: OutboxItem, error: TelegramError) -> None:
        # Telegram's descriptions name the problem, never the message's content.
        reason = f"{type(error).__name__}: {error.message}"
        log.warning("outbox.dead item=%d chat=%d reason=%s", item.id, item.chat_id, reason)
        async with self._db.transaction():
            await self._outbox.mark_dead(item.id, reason)

    async def _call(self, item: OutboxItem) -> int | None:
        """Make the Bot API call for one item; return the id of the message it produced."""
        payload = item.payload
        if item.method == "send_message":
            sent: Message | MessageId | bool = await self._bot.send_message(
                chat_id=payload["chat_id"],
                text=payload["text"],
                reply_markup=_markup(payload),
            )
        elif item.method == "copy_message":
            reply_to = payload.get("reply_to")
            sent = await self._bot.copy_message(
                chat_id=payload["chat_id"],
                from_chat_id=payload["from_chat_id"],
                message_id=payload["message_id"],
                reply_parameters=(
                    ReplyParameters(reply_to, allow_sending_without_reply=True)
                    if reply_to
                    else None
                ),
            )
        elif item.method == "edit_message_text":
            sent = await self._bot.edit_message_text(
                chat_id=payload["chat_id"],
                message_id=payload["message_id"],
                text=payload["text"],
                reply_markup=_markup(payload),
            )
        elif item.method == "edit_message_reply_markup":
            sent = await self._bot.edit_message_reply_markup(
                chat_id=payload["chat_id"], message_id=payload["message_id"], reply_markup=None
            )
        else:
            raise BadRequest(f"unknown outbox method {item.method}")
        if isinstance(sent, Message | MessageId):
            return sent.message_id
        return None
