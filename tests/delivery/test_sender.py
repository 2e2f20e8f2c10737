"""The sender's order in one chat, with an offline double of the Bot (no HTTP)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any, cast

from telegram import Bot, MessageId

from bot.delivery.limiter import RateLimiter
from bot.delivery.outbox import Outbox
from bot.delivery.sender import Sender
from bot.domain.clock import ManualClock
from bot.storage.db import Database
from bot.storage.outbox import OutboxRepository, Priority
from bot.storage.relay import RelayRepository

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
SAM = 1001


class RecordingBot:
    """Stands in for telegram.Bot: notes each text sent, in order."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    async def send_message(self, *, chat_id: int, text: str, **_: Any) -> MessageId:
        self.texts.append(text)
        return MessageId(len(self.texts))


async def test_a_message_queued_behind_one_left_in_the_outbox_is_not_sent_first(
    db: Database,
) -> None:
    # "first" waits in the outbox (a retry come due, say) and the sender has not looked yet;
    # "second", for the same chat, is offered to the sender the moment it is committed.
    clock = ManualClock(NOW)
    repo = OutboxRepository(db)
    bot = RecordingBot()
    sender = Sender(db, repo, cast(Bot, bot), RateLimiter(1000, 0), clock)
    outbox = Outbox(db, repo, RelayRepository(db), clock)
    outbox.connect(sender.wake, sender.offer)
    async with db.transaction():
        await repo.add(
            chat_id=SAM,
            method="send_message",
            payload={"chat_id": SAM, "text": "first"},
            priority=Priority.PERSON,
            now=NOW,
        )
        await outbox.text(SAM, "second")
    await sender.start()  # the dispatcher's first look
    try:
        deadline = asyncio.get_running_loop().time() + 5
        while len(bot.texts) < 2:
            assert asyncio.get_running_loop().time() < deadline, bot.texts
            await asyncio.sleep(0.01)  # polling, as the harness's settle() does
    finally:
        await sender.stop()
    assert bot.texts == ["first", "second"]
