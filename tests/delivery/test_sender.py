"""The sender's order in one chat, with an offline double of the Bot (no HTTP)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from telegram import Bot, MessageId

from bot.delivery.limiter import RateLimiter
from bot.delivery.outbox import Outbox
from bot.delivery.sender import PER_CHAT_IN_FLIGHT, Sender
from bot.domain.clock import ManualClock
from bot.storage.db import Database
from bot.storage.outbox import OutboxRepository, Priority
from bot.storage.relay import RelayRepository

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
SAM, RIA = 1001, 1002


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


class ChatBot:
    """Stands in for telegram.Bot: notes (chat, text) of each text sent, in order; the
    first send waits for `gate` (so a test can queue something while it is under way)."""

    def __init__(self, *, gated: bool = False) -> None:
        self.sent: list[tuple[int, str]] = []
        self.gate = asyncio.Event()
        self.first_under_way = asyncio.Event()
        if not gated:
            self.gate.set()

    async def send_message(self, *, chat_id: int, text: str, **_: Any) -> MessageId:
        self.first_under_way.set()
        await self.gate.wait()
        self.sent.append((chat_id, text))
        return MessageId(len(self.sent))


async def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = asyncio.get_running_loop().time() + 10
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, what
        await asyncio.sleep(0.01)


def _sender(db: Database, bot: ChatBot, **kwargs: Any) -> tuple[Sender, Outbox]:
    clock = ManualClock(NOW)
    repo = OutboxRepository(db)
    sender = Sender(db, repo, cast(Bot, bot), RateLimiter(1000, 0), clock, **kwargs)
    outbox = Outbox(db, repo, RelayRepository(db), clock)
    outbox.connect(sender.wake, sender.offer)
    return sender, outbox


async def test_one_chats_backlog_does_not_hold_up_another_chats_message(db: Database) -> None:
    # A hundred messages wait for Sam's chat (more than the people's allowance in flight),
    # then one for Ria's: hers goes in the first turn, not after Sam's backlog.
    bot = ChatBot()
    sender, _ = _sender(db, bot, max_in_flight=20)
    repo = OutboxRepository(db)
    queued = [(SAM, f"flood {n}") for n in range(100)] + [(RIA, "other")]
    async with db.transaction():
        for chat, text in queued:  # in the outbox only: the sender finds them at its start
            payload = {"chat_id": chat, "text": text}
            await repo.add(
                chat_id=chat,
                method="send_message",
                payload=payload,
                priority=Priority.PERSON,
                now=NOW,
            )
    await sender.start()
    try:
        await _until(lambda: len(bot.sent) == 101, "every message sent")
    finally:
        await sender.stop()
    assert bot.sent.index((RIA, "other")) <= PER_CHAT_IN_FLIGHT
    assert [text for chat, text in bot.sent if chat == SAM] == [f"flood {n}" for n in range(100)]


async def test_a_possibly_urgent_message_goes_next_in_its_chat(db: Database) -> None:
    # Forty ordinary messages queued for Sam, the first under way; possibly urgent words
    # queued now go right after it, ahead of the other 39, which keep their order.
    bot = ChatBot(gated=True)
    sender, outbox = _sender(db, bot)
    async with db.transaction():
        for n in range(40):
            await outbox.text(SAM, f"ordinary {n}")
    await sender.start()
    try:
        await asyncio.wait_for(bot.first_under_way.wait(), 10)
        async with db.transaction():
            await outbox.text(SAM, "urgent", priority=Priority.URGENT)
        bot.gate.set()
        await _until(lambda: len(bot.sent) == 41, "every message sent")
    finally:
        await sender.stop()
    texts = [text for _, text in bot.sent]
    assert texts[:2] == ["ordinary 0", "urgent"]
    assert texts[2:] == [f"ordinary {n}" for n in range(1, 40)]
